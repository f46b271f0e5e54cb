/**
 * Cost of XEdDSA signing and verification (lib/crypto/xeddsa.ts) on a 100-byte DHT-record-sized
 * message: the one-off fixed-base table build, sign, verify with a cached key, and verify of a
 * never-seen key (Montgomery-to-Edwards conversion plus node:crypto key import).
 *
 * Run: deno run -A bench/xeddsa_micro_bench.ts [--ops N] [--rounds R]
 * Prints the median (and best) µs/op over R rounds and the matching ops/s. The machine may be
 * shared: trust the median.
 */
import crypto from "node:crypto";
import { parseArgs } from "node:util";
import { xeddsaSign, xeddsaVerify } from "../lib/crypto/xeddsa.ts";
import { keyPairFrom } from "../lib/crypto/x25519.ts";

const { values } = parseArgs({
  options: {
    ops: { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
  },
});
const OPS = Number(values.ops);
const ROUNDS = Number(values.rounds);
const MESSAGE_BYTES = 100;

const message = new Uint8Array(crypto.randomBytes(MESSAGE_BYTES));
const random = new Uint8Array(crypto.randomBytes(64));
const keys = keyPairFrom(new Uint8Array(crypto.randomBytes(32)));

const buildStart = performance.now();
const signature = xeddsaSign(keys.privateKey, message, random); // builds the base table
const tableMs = performance.now() - buildStart;

/** Median and best µs per op of `op` over ROUNDS rounds of `ops` calls. */
function measure(name: string, ops: number, op: (i: number) => void): void {
  const perOp: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < ops; i++) op(round * ops + i);
    perOp.push(((performance.now() - start) * 1000) / ops);
  }
  perOp.sort((a, b) => a - b);
  const median = perOp[Math.floor(perOp.length / 2)]!;
  const best = perOp[0]!;
  console.log(
    `${name.padEnd(24)} median ${median.toFixed(1).padStart(7)} µs/op  best ${
      best.toFixed(1).padStart(7)
    } µs/op  ${Math.round(1e6 / median)} ops/s`,
  );
}

console.log(`first sign (incl. base table build): ${tableMs.toFixed(1)} ms`);
measure("sign", OPS, () => {
  xeddsaSign(keys.privateKey, message, random);
});
measure("verify (cached key)", OPS, () => {
  if (!xeddsaVerify(keys.publicKey, message, signature)) throw new Error("verify failed");
});
// Cold keys: fresh public keys so every verify converts and imports a key (result false).
const coldOps = Math.max(1, Math.floor(OPS / 10));
const coldKeys = Array.from(
  { length: coldOps * ROUNDS },
  () => keyPairFrom(new Uint8Array(crypto.randomBytes(32))).publicKey,
);
measure("verify (never-seen key)", coldOps, (i) => {
  xeddsaVerify(coldKeys[i]!, message, signature);
});
