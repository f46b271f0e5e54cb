# ipop in a container: a multi-stage build.
#
#   build:   node (Debian bookworm) runs `npm ci`, which installs the pinned Deno binary from the
#            npm registry, then `deno task compile`, which bundles main.ts into one executable.
#            Note: `deno compile` downloads its runtime base (denort) from dl.deno.land, so the
#            build needs internet access beyond npm. ipop's CI does not build this image.
#   runtime: debian:bookworm-slim with libsodium23 (the fast ChaCha20-Poly1305; without it ipop
#            falls back to node:crypto) and ca-certificates. No iproute2: ipop creates and
#            configures its TUN interface itself, by ioctl.
#
# Run (see docs/running.md):
#   docker build -t ipop .
#   docker run -d --name ipop --cap-add NET_ADMIN --device /dev/net/tun \
#     -v ipop-state:/var/lib/ipop -p 5800:5800/udp ipop \
#     up --state-dir /var/lib/ipop --bootstrap udp://198.18.0.1:5800

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN ./node_modules/deno/deno task compile && ./ipop --version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libsodium23 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/ipop /usr/local/bin/ipop
# The key lives here; a named volume takes this mode (0700) when Docker first creates it.
RUN install -d -m 0700 /var/lib/ipop
VOLUME ["/var/lib/ipop"]
EXPOSE 5800/udp
ENTRYPOINT ["/usr/local/bin/ipop"]
CMD ["up", "--state-dir", "/var/lib/ipop"]
