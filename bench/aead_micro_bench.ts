/**
 * Per-packet cost of the two `Aead` implementations on a 1400-byte packet (a full-MTU tunnel
 * payload), sealing and opening in place with a 16-byte header as associated data.
 *
 * Run: deno run -A bench/aead_micro_bench.ts [--packets N] [--bytes B] [--rounds R]
 * Prints, per implementation and direction, the median (and best) ns/packet over R rounds, with
 * the matching packets/s and Gbit/s of plaintext. The machine may be shared: trust the median.
 */
import { parseArgs } from "node:util";
import { type Aead, AEAD_TAG_BYTES, NodeAead } from "../lib/crypto/aead.ts";
import { SodiumAead } from "../ffi/sodium_aead.ts";

const { values } = parseArgs({
  options: {
    packets: { type: "string", default: "200000" },
    bytes: { type: "string", default: "1400" },
    rounds: { type: "string", default: "5" },
  },
});
const PACKETS = Number(values.packets);
const PACKET_BYTES = Number(values.bytes);
const ROUNDS = Number(values.rounds);
const WARMUP_PACKETS = 20_000;

/** Result of timing one direction of one implementation. */
interface Figure {
  impl: string;
  op: "seal" | "open";
  nsPerPacket: number;
  packetsPerSecond: number;
  gbitPerSecond: number;
}

function measure(aead: Aead, op: "seal" | "open", packets: number): Figure {
  const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
  const ad = new Uint8Array(16).fill(4);
  const buf = new Uint8Array(PACKET_BYTES + AEAD_TAG_BYTES).map((_, i) => i & 0xff);
  const plain = buf.subarray(0, PACKET_BYTES);
  // For "open", each counter needs its own ciphertext: pre-seal a small ring of packets.
  const RING = 64;
  const sealed: Uint8Array[] = [];
  if (op === "open") {
    for (let i = 0; i < RING; i++) {
      const c = new Uint8Array(PACKET_BYTES + AEAD_TAG_BYTES);
      aead.seal(key, i, ad, plain, c);
      sealed.push(c);
    }
  }
  const work = new Uint8Array(PACKET_BYTES + AEAD_TAG_BYTES);
  const run = (n: number) => {
    let check = 0;
    if (op === "seal") {
      for (let i = 0; i < n; i++) check += aead.seal(key, i, ad, plain, buf);
    } else {
      for (let i = 0; i < n; i++) {
        const c = sealed[i % RING]!;
        work.set(c);
        check += aead.open(key, i % RING, ad, work, work);
      }
    }
    return check;
  };
  run(Math.min(WARMUP_PACKETS, packets));
  const t0 = performance.now();
  const check = run(packets);
  const ms = performance.now() - t0;
  const expected = op === "seal"
    ? packets * (PACKET_BYTES + AEAD_TAG_BYTES)
    : packets * PACKET_BYTES;
  if (check !== expected) throw new Error(`${aead.name} ${op} returned unexpected lengths`);
  const nsPerPacket = (ms * 1e6) / packets;
  return {
    impl: aead.name,
    op,
    nsPerPacket,
    packetsPerSecond: 1e9 / nsPerPacket,
    gbitPerSecond: (PACKET_BYTES * 8) / nsPerPacket,
  };
}

const impls: Aead[] = [new NodeAead()];
try {
  impls.unshift(new SodiumAead());
} catch (e) {
  console.log(`libsodium unavailable (${(e as Error).message}); measuring node:crypto only`);
}

console.log(`AEAD micro-benchmark: ${PACKETS} packets of ${PACKET_BYTES} bytes, 16-byte AD`);
for (const aead of impls) {
  // node:crypto is far slower; fewer packets keep the run short without hurting precision.
  const n = aead.name === "node:crypto" ? Math.max(1, Math.floor(PACKETS / 4)) : PACKETS;
  for (const op of ["seal", "open"] as const) {
    const runs = Array.from({ length: ROUNDS }, () => measure(aead, op, n))
      .sort((a, b) => a.nsPerPacket - b.nsPerPacket);
    const f = runs[runs.length >> 1]!;
    console.log(
      `${f.impl.padEnd(12)} ${f.op}  ${f.nsPerPacket.toFixed(0).padStart(6)} ns/packet  ` +
        `(best ${runs[0]!.nsPerPacket.toFixed(0)})  ` +
        `${(f.packetsPerSecond / 1e3).toFixed(0).padStart(6)} kpackets/s  ` +
        `${f.gbitPerSecond.toFixed(2).padStart(6)} Gbit/s`,
    );
  }
}
