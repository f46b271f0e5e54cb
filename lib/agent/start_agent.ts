import { IoLoop } from "../../ffi/io_loop.ts";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { TunDevice } from "../../ffi/tun_device.ts";
import { UdpTransport } from "../../ffi/udp_transport.ts";
import { RealClock, SecureRng } from "../clock/real_clock.ts";
import type { UpConfig } from "../config/up_config.ts";
import type { KeyPair } from "../crypto/x25519.ts";
import { OverlayNode } from "../overlay/overlay_node.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import type { Logger } from "../log.ts";
import { formatEndpoint } from "../transport/endpoint.ts";
import { ipv4ToNumber } from "../vnet/ipv4.ts";
import { StaticRouter } from "../vnet/static_router.ts";
import type { AgentStatus } from "./agent_status.ts";
import { agentStatus } from "./status_of.ts";
import { DATA_OVERHEAD_BYTES } from "../wire/data_message.ts";
import { VERSION } from "../version.ts";

/** What `startAgent` needs. */
export interface StartAgentOptions {
  config: UpConfig;
  identity: KeyPair;
  logger: Logger;
}

/** A running agent. */
export interface RunningAgent {
  /** A snapshot of the agent's state. */
  status(): AgentStatus;
  /** Removes the interface, closes the socket and stops the loop. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the agent has stopped (after `close()` or a fatal I/O error). */
  readonly closed: Promise<void>;
}

/** Room for the biggest IPv4/IPv6 + UDP headers around a data message. */
const DATAGRAM_SLACK_BYTES = 64;

/**
 * Starts the agent: binds the UDP socket, creates the TUN interface, and links to the configured
 * peers, all driven by one `IoLoop`. Throws a one-line `Error` when the socket or the interface
 * cannot be set up (nothing is left behind then).
 */
export function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const { config, identity, logger } = opts;
  const loop = new IoLoop();
  loop.onError = (err) => logger.error(`I/O loop: ${err instanceof Error ? err.message : err}`);
  const opened: { close(): void }[] = [];
  try {
    const transport = UdpTransport.bind(loop, config.listen, {
      slotBytes: config.mtu + DATA_OVERHEAD_BYTES + DATAGRAM_SLACK_BYTES,
    });
    opened.push(transport);
    const tun = TunDevice.open(loop, {
      name: config.tunName,
      mtu: config.mtu,
      address: config.address,
    });
    opened.push(tun);
    const clock = new RealClock();
    const aead = loadFastAead();
    const node = new OverlayNode({
      identity,
      psk: config.psk,
      transport,
      clock,
      rng: new SecureRng(),
      aead,
      x25519: loadFastX25519(),
      logger,
    });
    const links = node.links;
    if (config.address) {
      links.setVirtualIp({ ip: ipv4ToNumber(config.address.ip), prefix: config.address.prefix });
    }
    const router = new StaticRouter(tun, links);
    for (const peer of config.peers) node.connectFixed(peer.publicKey, peer.endpoint);
    node.start(config.bootstrap);
    const startedAt = clock.now();
    const address = config.address ? `${config.address.ip}/${config.address.prefix}` : null;
    const listening = formatEndpoint(transport.localEndpoint);
    logger.info(
      `ipop ${VERSION} up: key ${identity.publicKey.toBase64()}, tun ${tun.name} ` +
        `${address ?? "(no address)"}, listening on ${listening}, ` +
        `${config.peers.length} fixed peer(s), ${config.bootstrap.length} bootstrap(s), ` +
        `overlay address ${node.status().address}, aead ${aead.name}`,
    );

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        node.leave(); // tells the neighbours first
        transport.flush();
        tun.close();
        transport.close();
        await loop.stop();
      })();
      return closing;
    };
    const closed = loop.run();
    return Promise.resolve({
      status: () =>
        agentStatus({
          identity,
          uptimeMs: clock.now() - startedAt,
          now: clock.now(),
          transport,
          tun,
          address,
          node,
          router,
          aeadName: aead.name,
        }),
      close,
      closed,
    });
  } catch (err) {
    for (const r of opened.reverse()) r.close();
    void loop.stop();
    throw err;
  }
}
