import assert from "node:assert/strict";
import vectors from "../fixtures/noise_vectors.json" with { type: "json" };
import { type Aead, NodeAead } from "../../lib/crypto/aead.ts";
import { type KeyPair, keyPairFrom, publicKeyOf } from "../../lib/crypto/x25519.ts";
import {
  HandshakeError,
  InitiatorHandshake,
  NOISE_PROTOCOL_NAME,
  ResponderHandshake,
} from "../../lib/noise/handshake_ikpsk2.ts";
import { SymmetricState } from "../../lib/noise/symmetric_state.ts";
import { blake2sHash } from "../../lib/crypto/blake2s.ts";
import { SodiumAead } from "../../ffi/sodium_aead.ts";

const hex = (s: string) => Uint8Array.fromHex(s);
const ascii = (s: string) => new TextEncoder().encode(s);

const vector = vectors.vectors.find((v) => v.protocol_name === NOISE_PROTOCOL_NAME);
if (!vector) throw new Error("IKpsk2 vector missing from tests/fixtures/noise_vectors.json");
const V = vector;
const msg = (i: number) => {
  const m = V.messages[i];
  if (!m) throw new Error(`vector message ${i} missing`);
  return { payload: hex(m.payload), ciphertext: hex(m.ciphertext) };
};

/** Keys and options of the vector, fresh per call (handshakes are single-use). */
function vectorParties(aead?: Aead) {
  const initStatic = keyPairFrom(hex(V.init_static));
  const respStatic = keyPairFrom(hex(V.resp_static));
  const initiator = new InitiatorHandshake({
    localStatic: initStatic,
    remoteStatic: hex(V.init_remote_static),
    psk: hex(V.init_psks[0]!),
    prologue: hex(V.init_prologue),
    localEphemeral: keyPairFrom(hex(V.init_ephemeral)),
    aead,
  });
  const responder = new ResponderHandshake({
    localStatic: respStatic,
    psk: hex(V.resp_psks[0]!),
    prologue: hex(V.resp_prologue),
    localEphemeral: keyPairFrom(hex(V.resp_ephemeral)),
    aead,
  });
  return { initiator, responder, initStatic, respStatic };
}

/** Counter-based key pair so tests are deterministic without a vector. */
const kp = (n: number): KeyPair => keyPairFrom(new Uint8Array(32).fill(n));

function freshPair(opts: {
  initPsk?: Uint8Array;
  respPsk?: Uint8Array;
  remoteStatic?: Uint8Array;
  initPrologue?: Uint8Array;
} = {}) {
  const zero = new Uint8Array(32);
  const respStatic = kp(2);
  const initiator = new InitiatorHandshake({
    localStatic: kp(1),
    remoteStatic: opts.remoteStatic ?? respStatic.publicKey,
    psk: opts.initPsk ?? zero,
    prologue: opts.initPrologue ?? ascii("ipop"),
    localEphemeral: kp(3),
  });
  const responder = new ResponderHandshake({
    localStatic: respStatic,
    psk: opts.respPsk ?? zero,
    prologue: ascii("ipop"),
    localEphemeral: kp(4),
  });
  return { initiator, responder };
}

for (
  const [label, aead] of [["node:crypto", undefined], ["libsodium", new SodiumAead()]] as const
) {
  Deno.test(`IKpsk2 reproduces the cacophony vector byte for byte (handshake AEAD ${label})`, () => {
    const { initiator, responder, initStatic } = vectorParties(aead);
    assert.equal(publicKeyOf(hex(V.resp_static)).toHex(), V.init_remote_static);

    const m1 = initiator.writeMessage1(msg(0).payload);
    assert.equal(m1.length, 32 + 48 + msg(0).payload.length + 16);
    assert.equal(m1.toHex(), msg(0).ciphertext.toHex());
    const r1 = responder.readMessage1(m1);
    assert.equal(r1.remoteStatic.toHex(), initStatic.publicKey.toHex());
    assert.equal(r1.payload.toHex(), msg(0).payload.toHex());

    const w2 = responder.writeMessage2(msg(1).payload);
    assert.equal(w2.message.length, 32 + msg(1).payload.length + 16);
    assert.equal(w2.message.toHex(), msg(1).ciphertext.toHex());
    const r2 = initiator.readMessage2(w2.message);
    assert.equal(r2.payload.toHex(), msg(1).payload.toHex());

    // The final h is HASH(h_after_psk || encrypted payload 2); both sides must hold it.
    assert.equal(r2.result.handshakeHash.toHex(), w2.result.handshakeHash.toHex());
    assert.equal(r2.result.handshakeHash.length, 32);
    assert.equal(r2.result.sendKey.toHex(), w2.result.recvKey.toHex());
    assert.equal(r2.result.recvKey.toHex(), w2.result.sendKey.toHex());
    assert.notEqual(r2.result.sendKey.toHex(), r2.result.recvKey.toHex());

    // Transport messages alternate initiator → responder, responder → initiator; each direction
    // counts its own nonces from 0, with empty associated data.
    for (const transport of [new NodeAead(), new SodiumAead()]) {
      const counters = [0, 0];
      for (let i = 2; i < V.messages.length; i++) {
        const fromInitiator = i % 2 === 0;
        const sender = fromInitiator ? r2.result : w2.result;
        const receiver = fromInitiator ? w2.result : r2.result;
        const dir = fromInitiator ? 0 : 1;
        const { payload, ciphertext } = msg(i);
        const out = new Uint8Array(payload.length + 16);
        transport.seal(sender.sendKey, counters[dir]!, new Uint8Array(0), payload, out);
        assert.equal(out.toHex(), ciphertext.toHex(), `${transport.name} transport message ${i}`);
        const back = new Uint8Array(payload.length);
        assert.equal(
          transport.open(receiver.recvKey, counters[dir]!, new Uint8Array(0), out, back),
          payload.length,
        );
        assert.equal(back.toHex(), payload.toHex());
        counters[dir]!++;
      }
    }
  });
}

Deno.test("SymmetricState pads a short protocol name and hashes a long one", () => {
  const short = new SymmetricState("Noise_NN_25519_AESGCM_SHA256", new NodeAead());
  const expected = new Uint8Array(32);
  expected.set(ascii("Noise_NN_25519_AESGCM_SHA256"));
  assert.equal(short.handshakeHash().toHex(), expected.toHex());
  const exact = new SymmetricState("Noise_NNpsk0_25519_AESGCM_SHA256", new NodeAead());
  assert.equal(exact.handshakeHash().toHex(), ascii("Noise_NNpsk0_25519_AESGCM_SHA256").toHex());
  const long = new SymmetricState(NOISE_PROTOCOL_NAME, new NodeAead()); // 37 bytes: hashed
  assert.equal(long.handshakeHash().toHex(), blake2sHash(ascii(NOISE_PROTOCOL_NAME)).toHex());
});

Deno.test("SymmetricState passes data through unencrypted until a key is mixed in", () => {
  const ss = new SymmetricState(NOISE_PROTOCOL_NAME, new NodeAead());
  assert.equal(ss.hasKey(), false);
  assert.equal(ss.encryptAndHash(ascii("clear")).toHex(), ascii("clear").toHex());
  ss.mixKey(ascii("ikm"));
  assert.equal(ss.hasKey(), true);
  assert.equal(ss.encryptAndHash(ascii("clear")).length, 5 + 16);
});

Deno.test("IKpsk2 with zero PSK completes, sizes messages as specified and crosses the keys", () => {
  const { initiator, responder } = freshPair();
  const m1 = initiator.writeMessage1(new Uint8Array(0));
  assert.equal(m1.length, 96);
  const r1 = responder.readMessage1(m1);
  assert.equal(r1.remoteStatic.toHex(), kp(1).publicKey.toHex());
  assert.equal(r1.payload.length, 0);
  const w2 = responder.writeMessage2(ascii("hi"));
  assert.equal(w2.message.length, 48 + 2);
  const r2 = initiator.readMessage2(w2.message);
  assert.equal(new TextDecoder().decode(r2.payload), "hi");
  assert.deepEqual(r2.result.sendKey, w2.result.recvKey);
  assert.deepEqual(r2.result.recvKey, w2.result.sendKey);
  assert.deepEqual(r2.result.handshakeHash, w2.result.handshakeHash);
});

Deno.test("a wrong PSK makes message 2 fail with HandshakeError", () => {
  const { initiator, responder } = freshPair({ respPsk: new Uint8Array(32).fill(9) });
  responder.readMessage1(initiator.writeMessage1(ascii("p1"))); // psk is only mixed in msg 2
  const { message } = responder.writeMessage2(ascii("p2"));
  assert.throws(() => initiator.readMessage2(message), HandshakeError);
});

Deno.test("an initiator holding the wrong responder static key is rejected at message 1", () => {
  const { initiator, responder } = freshPair({ remoteStatic: kp(5).publicKey });
  const m1 = initiator.writeMessage1(ascii("p1"));
  assert.throws(() => responder.readMessage1(m1), HandshakeError);
});

Deno.test("a different prologue makes message 1 fail", () => {
  const { initiator, responder } = freshPair({ initPrologue: ascii("other") });
  assert.throws(() => responder.readMessage1(initiator.writeMessage1(ascii("p1"))), HandshakeError);
});

Deno.test("flipping a bit in any byte of message 1 makes the responder reject it", () => {
  const m1 = freshPair().initiator.writeMessage1(ascii("payload one"));
  for (let i = 0; i < m1.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const bad = m1.slice();
      bad[i]! ^= mask;
      const { responder } = freshPair();
      assert.throws(() => responder.readMessage1(bad), HandshakeError, `byte ${i} mask ${mask}`);
    }
  }
});

Deno.test("flipping a bit in any byte of message 2 makes the initiator reject it", () => {
  const base = freshPair();
  const m1 = base.initiator.writeMessage1(ascii("p1"));
  base.responder.readMessage1(m1);
  const m2 = base.responder.writeMessage2(ascii("payload two")).message;
  for (let i = 0; i < m2.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const bad = m2.slice();
      bad[i]! ^= mask;
      const { initiator } = freshPair(); // same fixed ephemeral, so the same msg1 state
      assert.equal(initiator.writeMessage1(ascii("p1")).toHex(), m1.toHex());
      assert.throws(() => initiator.readMessage2(bad), HandshakeError, `byte ${i} mask ${mask}`);
    }
  }
});

Deno.test("truncated or extended messages fail with HandshakeError and nothing else", () => {
  const base = freshPair();
  const m1 = base.initiator.writeMessage1(ascii("p1"));
  base.responder.readMessage1(m1);
  const m2 = base.responder.writeMessage2(ascii("p2")).message;
  for (let n = 0; n < m1.length; n++) {
    assert.throws(() => freshPair().responder.readMessage1(m1.subarray(0, n)), HandshakeError);
  }
  assert.throws(
    () => freshPair().responder.readMessage1(new Uint8Array([...m1, 0])),
    HandshakeError,
  );
  for (let n = 0; n <= m2.length + 1; n++) {
    if (n === m2.length) continue;
    const { initiator } = freshPair();
    initiator.writeMessage1(ascii("p1"));
    const cut = n < m2.length ? m2.subarray(0, n) : new Uint8Array([...m2, 0]);
    assert.throws(() => initiator.readMessage2(cut), HandshakeError, `length ${n}`);
  }
});

Deno.test("a low-order ephemeral key in either message fails with HandshakeError", () => {
  const base = freshPair();
  const m1 = base.initiator.writeMessage1(ascii("p1"));
  const badM1 = m1.slice();
  badM1.fill(0, 0, 32);
  assert.throws(() => freshPair().responder.readMessage1(badM1), HandshakeError);

  base.responder.readMessage1(m1);
  const m2 = base.responder.writeMessage2(ascii("p2")).message;
  const badM2 = m2.slice();
  badM2.fill(0, 0, 32);
  assert.throws(() => base.initiator.readMessage2(badM2), HandshakeError);
});

Deno.test("handshake objects are single-use and reject calls out of order", () => {
  const a = freshPair();
  assert.throws(() => a.initiator.readMessage2(new Uint8Array(48)), HandshakeError);
  assert.throws(() => a.responder.writeMessage2(ascii("x")), HandshakeError);

  const b = freshPair();
  const m1 = b.initiator.writeMessage1(ascii("p1"));
  assert.throws(() => b.initiator.writeMessage1(ascii("p1")), HandshakeError);
  b.responder.readMessage1(m1);
  assert.throws(() => b.responder.readMessage1(m1), HandshakeError);
  const m2 = b.responder.writeMessage2(ascii("p2")).message;
  assert.throws(() => b.responder.writeMessage2(ascii("p2")), HandshakeError);
  b.initiator.readMessage2(m2);
  assert.throws(() => b.initiator.readMessage2(m2), HandshakeError);

  // After a failure the object stays dead, even for the correct message.
  const c = freshPair();
  const good = c.initiator.writeMessage1(ascii("p1"));
  assert.throws(() => c.responder.readMessage1(good.subarray(0, 10)), HandshakeError);
  assert.throws(() => c.responder.readMessage1(good), HandshakeError);
});

Deno.test("constructors reject keys and PSKs of the wrong length", () => {
  assert.throws(
    () =>
      new ResponderHandshake({
        localStatic: kp(1),
        psk: new Uint8Array(31),
        prologue: new Uint8Array(0),
        localEphemeral: kp(2),
      }),
    RangeError,
  );
  assert.throws(
    () =>
      new InitiatorHandshake({
        localStatic: kp(1),
        remoteStatic: new Uint8Array(33),
        psk: new Uint8Array(32),
        prologue: new Uint8Array(0),
        localEphemeral: kp(2),
      }),
    RangeError,
  );
});
