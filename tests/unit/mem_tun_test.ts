import assert from "node:assert/strict";
import { MemTun } from "../../lib/tun/mem_tun.ts";
import { TUN_HEADROOM, TUN_TAILROOM } from "../../lib/tun/tun.ts";

Deno.test("MemTun.inject hands the handler a copy with headroom and tailroom", () => {
  const tun = new MemTun({ name: "mem7", mtu: 100 });
  const sent = Uint8Array.from([0x45, 1, 2, 3, 4]);
  const got: { bytes: Uint8Array; offset: number; bufLen: number }[] = [];
  tun.onPacket((p) =>
    got.push({ bytes: p.slice(), offset: p.byteOffset, bufLen: p.buffer.byteLength })
  );
  assert.equal(tun.inject(sent), true);
  sent[1] = 99; // the tun copied it
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.bytes, Uint8Array.from([0x45, 1, 2, 3, 4]));
  assert.equal(got[0]!.offset, TUN_HEADROOM);
  assert.equal(got[0]!.bufLen, TUN_HEADROOM + 5 + TUN_TAILROOM);
  assert.deepEqual(tun.stats, {
    packetsRead: 1,
    packetsWritten: 0,
    bytesRead: 5,
    bytesWritten: 0,
    writeDrops: 0,
  });
  assert.equal(tun.name, "mem7");
});

Deno.test("MemTun handler may write into headroom and tailroom in place", () => {
  const tun = new MemTun();
  let framed: Uint8Array | undefined;
  tun.onPacket((p) => {
    const whole = new Uint8Array(
      p.buffer,
      p.byteOffset - TUN_HEADROOM,
      TUN_HEADROOM + p.length + TUN_TAILROOM,
    );
    whole.fill(0xaa, 0, TUN_HEADROOM);
    whole.fill(0xbb, TUN_HEADROOM + p.length);
    framed = whole.slice();
  });
  tun.inject(Uint8Array.from([1, 2, 3]));
  assert.ok(framed);
  assert.equal(framed[TUN_HEADROOM - 1], 0xaa);
  assert.deepEqual(framed.subarray(TUN_HEADROOM, TUN_HEADROOM + 3), Uint8Array.from([1, 2, 3]));
  assert.equal(framed[TUN_HEADROOM + 3], 0xbb);
});

Deno.test("MemTun.write records copies and counts them", () => {
  const tun = new MemTun();
  const seen: Uint8Array[] = [];
  tun.onWrite = (p) => seen.push(p);
  const buf = Uint8Array.from([0x45, 9, 9]);
  tun.write(buf);
  buf[1] = 0; // caller reuses its buffer
  tun.write(buf.subarray(0, 2));
  assert.deepEqual(tun.written, [Uint8Array.from([0x45, 9, 9]), Uint8Array.from([0x45, 0])]);
  assert.equal(seen.length, 2);
  assert.equal(tun.stats.packetsWritten, 2);
  assert.equal(tun.stats.bytesWritten, 5);
  assert.deepEqual(tun.takeWritten().length, 2);
  assert.equal(tun.written.length, 0);
});

Deno.test("MemTun counts refused and empty writes as drops", () => {
  const tun = new MemTun();
  tun.write(new Uint8Array(0));
  tun.refuseWrites = true;
  tun.write(Uint8Array.from([0x45]));
  assert.equal(tun.stats.writeDrops, 2);
  assert.equal(tun.stats.packetsWritten, 0);
  assert.equal(tun.written.length, 0);
});

Deno.test("MemTun.inject rejects packets over the MTU or empty", () => {
  const tun = new MemTun({ mtu: 68 });
  assert.throws(() => tun.inject(new Uint8Array(69)), RangeError);
  assert.throws(() => tun.inject(new Uint8Array(0)), RangeError);
  assert.equal(tun.inject(new Uint8Array(68)), true);
});

Deno.test("MemTun after close delivers nothing and ignores writes", () => {
  const tun = new MemTun();
  let calls = 0;
  tun.onPacket(() => calls++);
  tun.close();
  tun.close();
  assert.equal(tun.closed, true);
  assert.equal(tun.inject(Uint8Array.from([0x45])), false);
  tun.write(Uint8Array.from([0x45]));
  assert.equal(calls, 0);
  assert.equal(tun.written.length, 0);
  assert.equal(tun.stats.packetsRead, 0);
});
