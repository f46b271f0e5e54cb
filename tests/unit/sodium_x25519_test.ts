import assert from "node:assert/strict";
import { sodiumX25519 } from "../../ffi/sodium_x25519.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { nodeX25519, WeakKeyError } from "../../lib/crypto/x25519.ts";

// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
const ALICE_PRIVATE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const ALICE_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const BOB_PRIVATE = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const BOB_PUBLIC = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

Deno.test("libsodium X25519 matches RFC 7748 §6.1", () => {
  const x = sodiumX25519();
  assert.equal(x.publicKeyOf(Uint8Array.fromHex(ALICE_PRIVATE)).toHex(), ALICE_PUBLIC);
  assert.equal(x.publicKeyOf(Uint8Array.fromHex(BOB_PRIVATE)).toHex(), BOB_PUBLIC);
  assert.equal(
    x.dh(Uint8Array.fromHex(ALICE_PRIVATE), Uint8Array.fromHex(BOB_PUBLIC)).toHex(),
    SHARED,
  );
  assert.equal(
    x.dh(Uint8Array.fromHex(BOB_PRIVATE), Uint8Array.fromHex(ALICE_PUBLIC)).toHex(),
    SHARED,
  );
});

Deno.test("libsodium and node:crypto X25519 agree, and both refuse a low-order key", () => {
  const x = sodiumX25519();
  const rng = new SeededRng(Number(Deno.env.get("SEED") ?? 9));
  for (let i = 0; i < 50; i++) {
    const a = rng.fill(new Uint8Array(32));
    const b = rng.fill(new Uint8Array(32));
    const pb = nodeX25519.publicKeyOf(b);
    assert.deepEqual(x.publicKeyOf(a), nodeX25519.publicKeyOf(a));
    assert.deepEqual(x.dh(a, pb), nodeX25519.dh(a, pb));
  }
  assert.throws(() => x.dh(rng.fill(new Uint8Array(32)), new Uint8Array(32)), WeakKeyError);
});
