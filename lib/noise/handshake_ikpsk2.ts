/**
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (Noise spec rev 34), the handshake WireGuard uses:
 *
 * ```
 * IKpsk2:
 *   <- s
 *   ...
 *   -> e, es, s, ss
 *   <- e, ee, se, psk
 * ```
 *
 * Being a PSK handshake, every `e` token also does `MixKey(e.public_key)` (§9.2).
 *
 * Message 1 (initiator → responder), 96 + payload bytes:
 *
 * ```
 *  0                32                                80
 * +-----------------+---------------------------------+------------------------------+
 * | e.public (32)   | AEAD(s.public) 32 + tag 16      | AEAD(payload) n + tag 16     |
 * +-----------------+---------------------------------+------------------------------+
 * ```
 *
 * Message 2 (responder → initiator), 48 + payload bytes:
 *
 * ```
 *  0                32
 * +-----------------+------------------------------+
 * | e.public (32)   | AEAD(payload) n + tag 16     |
 * +-----------------+------------------------------+
 * ```
 *
 * Each handshake object is single-use; methods called out of order, or after a failure, throw
 * `HandshakeError`. Every failure while reading a message (bad length, authentication failure,
 * low-order key) is a `HandshakeError`, never another exception type. Ephemeral keys are injected
 * by the caller (drawn from the `Rng` seam; fixed in known-answer tests).
 */
import { type Aead, AEAD_TAG_BYTES, NodeAead } from "../crypto/aead.ts";
import { dh, type KeyPair, X25519_KEY_BYTES } from "../crypto/x25519.ts";
import { SymmetricState } from "./symmetric_state.ts";

/** The full Noise protocol name, hashed into the initial state. */
export const NOISE_PROTOCOL_NAME = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/** Length in bytes of the pre-shared key (all zeros when none is configured). */
export const NOISE_PSK_BYTES = 32;
/** Noise's limit on one handshake message, in bytes. */
export const NOISE_MAX_MESSAGE_BYTES = 65535;
/** Message 1 length without payload: e (32) + encrypted s (48) + payload tag (16). */
export const NOISE_MSG1_OVERHEAD_BYTES = X25519_KEY_BYTES * 2 + AEAD_TAG_BYTES * 2;
/** Message 2 length without payload: e (32) + payload tag (16). */
export const NOISE_MSG2_OVERHEAD_BYTES = X25519_KEY_BYTES + AEAD_TAG_BYTES;

/** The outcome of a completed handshake, from one side's point of view. */
export interface HandshakeResult {
  /** Transport key for messages this side sends (the peer's `recvKey`). */
  sendKey: Uint8Array;
  /** Transport key for messages this side receives (the peer's `sendKey`). */
  recvKey: Uint8Array;
  /** The final handshake hash `h`, identical on both sides (channel binding). */
  handshakeHash: Uint8Array;
}

/** Any handshake failure: malformed or unauthenticated message, weak key, misuse. */
export class HandshakeError extends Error {
  override name = "HandshakeError";
}

/** Options shared by both roles. */
interface CommonOptions {
  localStatic: KeyPair;
  psk: Uint8Array;
  prologue: Uint8Array;
  localEphemeral: KeyPair;
  /** Cipher for the handshake's own encryption; `NodeAead` by default. */
  aead?: Aead;
  /** X25519 Diffie-Hellman; node:crypto's by default. */
  dh?: DhFunction;
}

/** X25519(privateKey, publicKey); throws for a weak (low-order) public key. */
export type DhFunction = (privateKey: Uint8Array, publicKey: Uint8Array) => Uint8Array;

function checkKeys(opts: CommonOptions): void {
  if (opts.psk.length !== NOISE_PSK_BYTES) throw new RangeError("The PSK must be 32 bytes");
  for (const kp of [opts.localStatic, opts.localEphemeral]) {
    if (
      kp.privateKey.length !== X25519_KEY_BYTES || kp.publicKey.length !== X25519_KEY_BYTES
    ) throw new RangeError("X25519 keys are 32 bytes");
  }
}

/** Runs `step`, turning any exception into a `HandshakeError` (with the original as cause). */
function guarded<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof HandshakeError) throw e;
    throw new HandshakeError(`${what} failed`, { cause: e });
  }
}

function mixDh(
  ss: SymmetricState,
  dhOf: DhFunction,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
): void {
  const shared = dhOf(privateKey, publicKey);
  ss.mixKey(shared);
  shared.fill(0);
}

function checkPayload(payload: Uint8Array, overhead: number): void {
  if (payload.length + overhead > NOISE_MAX_MESSAGE_BYTES) {
    throw new HandshakeError("Handshake payload too large");
  }
}

/** The initiator side: knows the responder's static key up front. */
export class InitiatorHandshake {
  readonly #ss: SymmetricState;
  readonly #s: KeyPair;
  readonly #e: KeyPair;
  readonly #rs: Uint8Array;
  readonly #psk: Uint8Array;
  readonly #dh: DhFunction;
  #step: "msg1" | "msg2" | "done" = "msg1";

  /** Sets up the state and mixes in the prologue and the responder's static key. */
  constructor(opts: CommonOptions & { remoteStatic: Uint8Array }) {
    checkKeys(opts);
    if (opts.remoteStatic.length !== X25519_KEY_BYTES) {
      throw new RangeError("X25519 keys are 32 bytes");
    }
    this.#s = opts.localStatic;
    this.#e = opts.localEphemeral;
    this.#rs = opts.remoteStatic.slice();
    this.#psk = opts.psk.slice();
    this.#ss = new SymmetricState(NOISE_PROTOCOL_NAME, opts.aead ?? new NodeAead());
    this.#dh = opts.dh ?? dh;
    this.#ss.mixHash(opts.prologue);
    this.#ss.mixHash(this.#rs);
  }

  /** `-> e, es, s, ss` + payload: returns 32 + 48 + payload.length + 16 bytes. */
  writeMessage1(payload: Uint8Array): Uint8Array {
    if (this.#step !== "msg1") throw new HandshakeError("writeMessage1 called out of order");
    this.#step = "done";
    checkPayload(payload, NOISE_MSG1_OVERHEAD_BYTES);
    return guarded("Writing handshake message 1", () => {
      const ss = this.#ss;
      ss.mixHash(this.#e.publicKey);
      ss.mixKey(this.#e.publicKey);
      mixDh(ss, this.#dh, this.#e.privateKey, this.#rs);
      const encStatic = ss.encryptAndHash(this.#s.publicKey);
      mixDh(ss, this.#dh, this.#s.privateKey, this.#rs);
      const encPayload = ss.encryptAndHash(payload);
      const message = new Uint8Array(X25519_KEY_BYTES + encStatic.length + encPayload.length);
      message.set(this.#e.publicKey, 0);
      message.set(encStatic, X25519_KEY_BYTES);
      message.set(encPayload, X25519_KEY_BYTES + encStatic.length);
      this.#step = "msg2";
      return message;
    });
  }

  /** `<- e, ee, se, psk` + payload; throws `HandshakeError` on any failure. */
  readMessage2(message: Uint8Array): { payload: Uint8Array; result: HandshakeResult } {
    if (this.#step !== "msg2") throw new HandshakeError("readMessage2 called out of order");
    this.#step = "done";
    if (message.length < NOISE_MSG2_OVERHEAD_BYTES || message.length > NOISE_MAX_MESSAGE_BYTES) {
      throw new HandshakeError(`Handshake message 2 has a bad length (${message.length})`);
    }
    return guarded("Reading handshake message 2", () => {
      const ss = this.#ss;
      const re = message.slice(0, X25519_KEY_BYTES);
      ss.mixHash(re);
      ss.mixKey(re);
      mixDh(ss, this.#dh, this.#e.privateKey, re);
      mixDh(ss, this.#dh, this.#s.privateKey, re);
      ss.mixKeyAndHash(this.#psk);
      const payload = ss.decryptAndHash(message.subarray(X25519_KEY_BYTES));
      if (payload === null) throw new HandshakeError("Handshake message 2 failed authentication");
      const [k1, k2] = ss.split();
      const result = { sendKey: k1, recvKey: k2, handshakeHash: ss.handshakeHash() };
      ss.destroy();
      this.#psk.fill(0);
      return { payload, result };
    });
  }
}

/** The responder side: learns the initiator's static key from message 1. */
export class ResponderHandshake {
  readonly #ss: SymmetricState;
  readonly #s: KeyPair;
  readonly #e: KeyPair;
  readonly #psk: Uint8Array;
  readonly #dh: DhFunction;
  #re: Uint8Array | null = null;
  #rs: Uint8Array | null = null;
  #step: "msg1" | "msg2" | "done" = "msg1";

  /** Sets up the state and mixes in the prologue and this side's static key. */
  constructor(opts: CommonOptions) {
    checkKeys(opts);
    this.#s = opts.localStatic;
    this.#e = opts.localEphemeral;
    this.#psk = opts.psk.slice();
    this.#ss = new SymmetricState(NOISE_PROTOCOL_NAME, opts.aead ?? new NodeAead());
    this.#dh = opts.dh ?? dh;
    this.#ss.mixHash(opts.prologue);
    this.#ss.mixHash(this.#s.publicKey);
  }

  /**
   * `-> e, es, s, ss` + payload: returns the initiator's static key (the caller decides whether
   * it is allowed) and the payload. Throws `HandshakeError` on any failure.
   */
  readMessage1(message: Uint8Array): { remoteStatic: Uint8Array; payload: Uint8Array } {
    if (this.#step !== "msg1") throw new HandshakeError("readMessage1 called out of order");
    this.#step = "done";
    if (message.length < NOISE_MSG1_OVERHEAD_BYTES || message.length > NOISE_MAX_MESSAGE_BYTES) {
      throw new HandshakeError(`Handshake message 1 has a bad length (${message.length})`);
    }
    return guarded("Reading handshake message 1", () => {
      const ss = this.#ss;
      const re = message.slice(0, X25519_KEY_BYTES);
      ss.mixHash(re);
      ss.mixKey(re);
      mixDh(ss, this.#dh, this.#s.privateKey, re);
      const staticEnd = X25519_KEY_BYTES * 2 + AEAD_TAG_BYTES;
      const rs = ss.decryptAndHash(message.subarray(X25519_KEY_BYTES, staticEnd));
      if (rs === null) throw new HandshakeError("Handshake message 1 failed authentication");
      mixDh(ss, this.#dh, this.#s.privateKey, rs);
      const payload = ss.decryptAndHash(message.subarray(staticEnd));
      if (payload === null) throw new HandshakeError("Handshake message 1 failed authentication");
      this.#re = re;
      this.#rs = rs;
      this.#step = "msg2";
      return { remoteStatic: rs.slice(), payload };
    });
  }

  /** `<- e, ee, se, psk` + payload: returns 32 + payload.length + 16 bytes and the session keys. */
  writeMessage2(payload: Uint8Array): { message: Uint8Array; result: HandshakeResult } {
    const re = this.#re;
    const rs = this.#rs;
    if (this.#step !== "msg2" || re === null || rs === null) {
      throw new HandshakeError("writeMessage2 called out of order");
    }
    this.#step = "done";
    checkPayload(payload, NOISE_MSG2_OVERHEAD_BYTES);
    return guarded("Writing handshake message 2", () => {
      const ss = this.#ss;
      ss.mixHash(this.#e.publicKey);
      ss.mixKey(this.#e.publicKey);
      mixDh(ss, this.#dh, this.#e.privateKey, re);
      mixDh(ss, this.#dh, this.#e.privateKey, rs);
      ss.mixKeyAndHash(this.#psk);
      const encPayload = ss.encryptAndHash(payload);
      const message = new Uint8Array(X25519_KEY_BYTES + encPayload.length);
      message.set(this.#e.publicKey, 0);
      message.set(encPayload, X25519_KEY_BYTES);
      const [k1, k2] = ss.split();
      const result = { sendKey: k2, recvKey: k1, handshakeHash: ss.handshakeHash() };
      ss.destroy();
      this.#psk.fill(0);
      return { message, result };
    });
  }
}
