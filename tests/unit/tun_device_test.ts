/**
 * Kernel tests for `TunDevice`: they create real TUN interfaces (root only), check them with
 * `ip -j` (tests may run `ip`; the product never does) and push packets both ways.
 * Virtual addresses only: 100.64.250.0/24 and 100.64.251.0/24.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { IoLoop } from "../../ffi/io_loop.ts";
import { libc } from "../../ffi/libc.ts";
import { TunDevice, TunError } from "../../ffi/tun.ts";
import { TUN_HEADROOM, TUN_TAILROOM } from "../../lib/tun/tun.ts";

const CAN_RUN = Deno.uid() === 0 && tunExists();

/** A test that needs root and /dev/net/tun; ignored (and says so) otherwise. */
function rootTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({
    name: CAN_RUN ? name : `${name} (skipped: needs root and /dev/net/tun)`,
    ignore: !CAN_RUN,
    fn,
  });
}

function tunExists(): boolean {
  try {
    Deno.statSync("/dev/net/tun");
    return true;
  } catch {
    return false;
  }
}

/** A fresh interface name: "ipoptst" + 6 digits (13 bytes). */
function uniqueName(): string {
  return "ipoptst" + String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
}

async function ip(...args: string[]): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command("ip", { args, stdout: "piped", stderr: "null" }).output();
  return { code: res.code, out: new TextDecoder().decode(res.stdout) };
}

/** Waits (polling every few ms) until `pred()` holds; fails after `timeoutMs`. */
async function waitFor(what: string, pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = performance.now();
  while (!pred()) {
    if (performance.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The Internet checksum (RFC 1071) of `bytes`. */
function inetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const V4 = (s: string) => Uint8Array.from(s.split(".").map(Number));
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.toHex() === b.toHex();

/** An IPv4 ICMP echo request with correct IP and ICMP checksums. */
function icmpEcho(src: string, dst: string, id: number, seq: number, data: Uint8Array) {
  const p = new Uint8Array(20 + 8 + data.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(4, 0x4242); // identification
  v.setUint16(6, 0x4000); // DF
  p[8] = 64; // TTL
  p[9] = 1; // ICMP
  p.set(V4(src), 12);
  p.set(V4(dst), 16);
  v.setUint16(10, inetChecksum(p.subarray(0, 20)));
  p[20] = 8; // echo request
  v.setUint16(24, id);
  v.setUint16(26, seq);
  p.set(data, 28);
  v.setUint16(22, inetChecksum(p.subarray(20)));
  return p;
}

async function sendUdp(host: string, port: number, data: Uint8Array): Promise<void> {
  const sock = dgram.createSocket("udp4");
  try {
    await new Promise<void>((ok, fail) => sock.send(data, port, host, (e) => e ? fail(e) : ok()));
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
  }
}

rootTest("TunDevice.open sets address, prefix, MTU and UP as ip reports them", async () => {
  const name = uniqueName();
  const loop = new IoLoop();
  const dev = TunDevice.open(loop, {
    name,
    mtu: 1400,
    address: { ip: "100.64.250.1", prefix: 24 },
  });
  try {
    assert.equal(dev.name, name);
    const [info] = JSON.parse((await ip("-j", "addr", "show", "dev", name)).out);
    assert.equal(info.ifname, name);
    assert.equal(info.mtu, 1400);
    assert.ok(info.flags.includes("UP"), `flags ${info.flags}`);
    assert.equal(info.link_type, "none"); // layer 3 TUN, no Ethernet header
    const inet = info.addr_info.filter((a: { family: string }) => a.family === "inet");
    assert.deepEqual(
      inet.map((a: { local: string; prefixlen: number }) => [a.local, a.prefixlen]),
      [
        ["100.64.250.1", 24],
      ],
    );

    dev.setAddress("100.64.250.9", 28);
    const [after] = JSON.parse((await ip("-j", "addr", "show", "dev", name)).out);
    const inet2 = after.addr_info.filter((a: { family: string }) => a.family === "inet");
    assert.deepEqual(
      inet2.map((a: { local: string; prefixlen: number }) => [a.local, a.prefixlen]),
      [
        ["100.64.250.9", 28],
      ],
    );
  } finally {
    dev.close();
    await loop.stop();
  }
});

rootTest(
  "TunDevice reads a routed UDP datagram and the kernel's reply to a written ping",
  async () => {
    const name = uniqueName();
    const loop = new IoLoop();
    const dev = TunDevice.open(loop, {
      name,
      mtu: 1400,
      address: { ip: "100.64.250.1", prefix: 24 },
    });
    const running = loop.run();
    const seen: Uint8Array[] = [];
    let layoutOk = true;
    dev.onPacket((p) => {
      layoutOk &&= p.byteOffset === TUN_HEADROOM &&
        p.buffer.byteLength >= TUN_HEADROOM + p.length + TUN_TAILROOM;
      seen.push(p.slice());
    });
    try {
      // (a) host -> TUN: a UDP datagram routed to the TUN's subnet comes out of the device.
      const payload = new TextEncoder().encode("ipop-udp-probe");
      await sendUdp("100.64.250.2", 9999, payload);
      const isProbe = (p: Uint8Array) =>
        p[0] === 0x45 && p[9] === 17 && sameBytes(p.subarray(16, 20), V4("100.64.250.2")) &&
        new DataView(p.buffer, p.byteOffset).getUint16(22) === 9999 &&
        sameBytes(p.subarray(28), payload);
      await waitFor("the UDP datagram on the TUN", () => seen.some(isProbe));
      const udp = seen.find(isProbe)!;
      assert.ok(sameBytes(udp.subarray(12, 16), V4("100.64.250.1")), "source is the TUN address");
      assert.ok(layoutOk, "packets come with headroom and tailroom");

      // (b) TUN -> host: a ping from 100.64.250.2 is answered by the kernel through the device.
      const data = new TextEncoder().encode("ipop-ping");
      dev.write(icmpEcho("100.64.250.2", "100.64.250.1", 0x1234, 7, data));
      assert.equal(dev.stats.packetsWritten, 1);
      assert.equal(dev.stats.writeDrops, 0);
      const isReply = (p: Uint8Array) =>
        p[0] === 0x45 && p[9] === 1 && p[20] === 0 &&
        sameBytes(p.subarray(12, 16), V4("100.64.250.1")) &&
        sameBytes(p.subarray(16, 20), V4("100.64.250.2")) &&
        new DataView(p.buffer, p.byteOffset).getUint32(24) === 0x12340007;
      await waitFor("the echo reply on the TUN", () => seen.some(isReply));
      const reply = seen.find(isReply)!;
      assert.ok(sameBytes(reply.subarray(28), data), "reply echoes the data");
      assert.equal(inetChecksum(reply.subarray(0, 20)), 0, "IP checksum");
      assert.equal(inetChecksum(reply.subarray(20)), 0, "ICMP checksum");
      assert.ok(dev.stats.packetsRead >= 2);
      assert.ok(dev.stats.bytesRead >= udp.length + reply.length);
    } finally {
      dev.close();
      await loop.stop();
      await running;
    }
  },
);

rootTest("TunDevice.write counts packets the kernel refuses as drops, never throws", async () => {
  const loop = new IoLoop();
  const dev = TunDevice.open(loop, { name: uniqueName(), mtu: 1400 });
  try {
    dev.write(Uint8Array.from([0x00, 1, 2, 3])); // not IPv4/IPv6: EINVAL
    dev.write(new Uint8Array(0));
    assert.equal(dev.stats.writeDrops, 2);
    assert.equal(dev.stats.packetsWritten, 0);
  } finally {
    dev.close();
    await loop.stop();
  }
});

rootTest("TunDevice.open refuses a name another TUN device holds", async () => {
  const name = uniqueName();
  const loop = new IoLoop();
  const first = TunDevice.open(loop, { name, mtu: 1400 });
  try {
    assert.throws(
      () => TunDevice.open(loop, { name, mtu: 1400 }).close(),
      (e) => e instanceof TunError && e.message === `Interface name "${name}" is taken`,
    );
    assert.equal((await ip("link", "show", name)).code, 0, "the first device is still there");
  } finally {
    first.close();
    await loop.stop();
  }
});

rootTest("TunDevice.open refuses the name of a non-TUN interface (lo)", async () => {
  const loop = new IoLoop();
  try {
    let caught: unknown;
    try {
      TunDevice.open(loop, { name: "lo", mtu: 1400 }).close();
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof TunError, String(caught));
    assert.equal(caught.message, 'Interface name "lo" is taken');
    assert.ok(caught.code > 0, "the errno is kept");
    assert.ok(caught.cause instanceof Error);
    // lo itself is untouched
    const [lo] = JSON.parse((await ip("-j", "link", "show", "lo")).out);
    assert.equal(lo.link_type, "loopback");
  } finally {
    await loop.stop();
  }
});

Deno.test("TunDevice.open rejects bad names and MTUs before any syscall", async () => {
  const loop = new IoLoop();
  try {
    const cases: [Parameters<typeof TunDevice.open>[1], RegExp][] = [
      [{ name: "ipop-name-too-long", mtu: 1400 }, /is too long: 18 bytes, at most 15/],
      [{ name: "", mtu: 1400 }, /Interface name is empty/],
      [{ name: "a/b", mtu: 1400 }, /must not contain/],
      [{ name: "a b", mtu: 1400 }, /must not contain/],
      [{ name: "ipop%s", mtu: 1400 }, /'%' only as a single "%d"/],
      [{ name: "ipopx", mtu: 20 }, /MTU 20 is out of range 68..65535/],
      [{ name: "ipopx", mtu: 1400, address: { ip: "100.64.1", prefix: 24 } }, /not an IPv4/],
      [{ name: "ipopx", mtu: 1400, address: { ip: "100.64.0.1", prefix: 33 } }, /Prefix length/],
    ];
    for (const [opts, message] of cases) {
      assert.throws(
        () => TunDevice.open(loop, opts).close(),
        (e) => e instanceof TunError && message.test(e.message) && e.code === 0,
        JSON.stringify(opts),
      );
    }
  } finally {
    await loop.stop();
  }
});

rootTest("TunDevice.close removes the interface from the host and is idempotent", async () => {
  const name = uniqueName();
  const loop = new IoLoop();
  const dev = TunDevice.open(loop, { name, mtu: 1400 });
  try {
    assert.equal((await ip("link", "show", name)).code, 0);
  } finally {
    dev.close();
  }
  dev.close();
  dev.write(Uint8Array.from([0x45, 0, 0, 20])); // no-op after close
  assert.equal(dev.stats.writeDrops, 0);
  assert.throws(() => dev.setAddress("100.64.250.1", 24), TunError);
  await loop.stop();
  assert.notEqual((await ip("link", "show", name)).code, 0);
});

rootTest("TunDevice.open without a name lets the kernel pick ipopN", async () => {
  const loop = new IoLoop();
  const dev = TunDevice.open(loop, { mtu: 1280 });
  try {
    assert.match(dev.name, /^ipop\d+$/);
    const [info] = JSON.parse((await ip("-j", "link", "show", dev.name)).out);
    assert.equal(info.mtu, 1280);
  } finally {
    dev.close();
    await loop.stop();
  }
});

rootTest("TunDevice drains a queued burst of 100k datagrams (reports packets/s)", async () => {
  const COUNT = 100_000;
  const name = uniqueName();
  const loop = new IoLoop();
  const dev = TunDevice.open(loop, {
    name,
    mtu: 1400,
    address: { ip: "100.64.251.1", prefix: 24 },
  });
  const c = libc();
  const fd = c.socket(2, 2, 0); // AF_INET, SOCK_DGRAM
  assert.ok(fd >= 0);
  let running: Promise<void> | undefined;
  try {
    // Let the TUN queue hold the whole burst, so the drain rate is measured alone.
    assert.equal(
      (await ip("link", "set", "dev", name, "txqueuelen", String(COUNT + 1000))).code,
      0,
    );
    let count = 0;
    let doneAt = 0;
    dev.onPacket((p) => {
      if (p[9] === 17 && ++count === COUNT) doneAt = performance.now();
    });
    const to = new Uint8Array(16); // sockaddr_in 100.64.251.2:9999
    new DataView(to.buffer).setUint16(0, 2, true);
    new DataView(to.buffer).setUint16(2, 9999);
    to.set(V4("100.64.251.2"), 4);
    const msg = new Uint8Array(16);
    let sent = 0;
    const blastStart = performance.now();
    for (let i = 0; i < COUNT; i++) if (Number(c.sendto(fd, msg, 16n, 0, to, 16)) === 16) sent++;
    const blastMs = performance.now() - blastStart;

    const start = performance.now();
    running = loop.run();
    await waitFor("the burst", () => count >= sent, 30_000);
    const ms = doneAt > 0 ? doneAt - start : performance.now() - start;
    console.log(
      `  drain: ${count} packets in ${ms.toFixed(1)} ms = ` +
        `${Math.round(count / (ms / 1000)).toLocaleString("en")} packets/s ` +
        `(blast: ${sent} sent in ${blastMs.toFixed(1)} ms)`,
    );
    assert.ok(sent > 0 && count >= sent);
  } finally {
    c.close(fd);
    dev.close();
    await loop.stop();
    await running;
  }
});
