import type { Clock, Rng } from "../clock/clock.ts";
import type { KeyPair, X25519 } from "../crypto/x25519.ts";
import type { Aead } from "../crypto/aead.ts";
import type { Logger } from "../log.ts";
import {
  HandshakeError,
  InitiatorHandshake,
  ResponderHandshake,
} from "../noise/handshake_ikpsk2.ts";
import { type Endpoint, formatEndpoint, sameEndpoint } from "../transport/endpoint.ts";
import {
  decodeInitiation,
  decodeResponse,
  encodeInitiation,
  encodeResponse,
  mac1Key,
  verifyMac1,
} from "../wire/handshake_messages.ts";
import { decodeEndpoint, encodeEndpoint } from "../wire/endpoint_codec.ts";
import { decodeTlv, encodeTlv, TlvError, TlvType } from "../wire/tlv.ts";
import { LINK_PROLOGUE, type LinkTuning } from "./constants.ts";
import type { DropCounters } from "./drop_counters.ts";
import type { Peer } from "./peer.ts";
import type { TokenBucket } from "./rate_limiter.ts";
import { Session } from "./session.ts";

/** The slice of the link layer a `Handshaker` works on. */
export interface HandshakerHost {
  identity: KeyPair;
  x25519: X25519;
  aead: Aead;
  psk: Uint8Array;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  tuning: LinkTuning;
  drops: DropCounters;
  virtualIp(): { ip: number; prefix: number } | null;
  /** The peer an initiation from this key is for (created if unknown keys are accepted). */
  peerForInitiation(publicKey: Uint8Array): Peer | undefined;
  limiter: TokenBucket;
  send(peer: Peer, datagram: Uint8Array): void;
  /** Sends an initiation: to the peer's endpoint, and to all its candidates before a first link. */
  sendInitiation(peer: Peer, datagram: Uint8Array): void;
  isIndexFree(index: number): boolean;
  installSession(peer: Peer, session: Session, role: "initiator" | "responder"): void;
  onPeerAddress(peer: Peer): void;
  /** A peer told us the endpoint it saw our initiation come from. */
  onReflexive(endpoint: Endpoint): void;
}

const TWO_POW_32 = 2 ** 32;

/** The least time between a handshake in flight and a fresh one that replaces it. */
export const RESTART_GAP_MS = 200;

/**
 * Runs Noise IKpsk2 handshakes for a link layer: sends initiations (at most one in flight per
 * peer, retried after `rekeyTimeoutMs`), answers initiations from known peers, and completes
 * its own on responses. Initiations carry a strictly increasing timestamp, so a replayed one is
 * refused; responses tell the initiator the endpoint it was seen from.
 */
export class Handshaker {
  /** Initiations sent (for status and the simulator's accounting). */
  initiations = 0;
  readonly #host: HandshakerHost;
  readonly #ownMac1Key: Uint8Array;
  readonly #byIndex = new Map<number, Peer>();
  readonly #limiter: TokenBucket;
  #lastTimestamp = 0;

  constructor(host: HandshakerHost) {
    this.#host = host;
    this.#ownMac1Key = mac1Key(host.identity.publicKey, host.psk);
    this.#limiter = host.limiter;
  }

  /** True when `index` names a handshake in flight. */
  hasIndex(index: number): boolean {
    return this.#byIndex.has(index);
  }

  /**
   * Sends an initiation to `peer` unless one sent recently still awaits its response. With
   * `fresh` (a new round of hole punching: the other side primes its NAT now, or sends its own
   * handshakes now), one in flight is replaced unless it went out within `RESTART_GAP_MS`.
   */
  initiate(peer: Peer, fresh = false): void {
    const now = this.#host.clock.now();
    if (now < peer.holdUntil) return;
    const inFlight = peer.handshake;
    const t = this.#host.tuning;
    // A first handshake through NATs (hole punching) is retried sooner, for a while: after 1 s,
    // then 2 s, 4 s... (a punch mostly works at once or soon after; retrying every second to
    // every candidate of a pair no punch gets through was most of a NATed overlay's traffic).
    const punching = peer.lastHandshakeAt === -Infinity && now < peer.punchUntil;
    const backoff = 2 ** Math.max(0, peer.punchAttempts - 1);
    const retryMs = fresh
      ? RESTART_GAP_MS
      : punching
      ? Math.min(t.punchRetryMs * backoff, t.rekeyTimeoutMs)
      : t.rekeyTimeoutMs;
    if (inFlight && now - inFlight.sentAt < retryMs) return;
    if (inFlight) this.#byIndex.delete(inFlight.localIndex);
    const localIndex = this.#newIndex();
    const handshake = new InitiatorHandshake({
      localStatic: this.#host.identity,
      remoteStatic: peer.publicKey,
      psk: this.#host.psk,
      prologue: LINK_PROLOGUE,
      localEphemeral: this.#ephemeral(),
      dh: this.#host.x25519.dh,
      aead: this.#host.aead,
    });
    // Over a link that works, tell the peer where its packets come from: after a NAT rebinding
    // (or a move to another network) that is how it learns its new public endpoint.
    const observed: [number, Uint8Array][] = peer.current && peer.endpoint
      ? [[TlvType.ObservedEndpoint, encodeEndpoint(peer.endpoint)]]
      : [];
    const payload = encodeTlv([
      [TlvType.Timestamp, this.#timestamp()],
      ...this.#addressItem(),
      ...observed,
    ]);
    const msg = encodeInitiation(localIndex, handshake.writeMessage1(payload), peer.mac1Key);
    peer.handshake = { localIndex, handshake, sentAt: now };
    if (punching) peer.punchAttempts++;
    this.#byIndex.set(localIndex, peer);
    this.initiations++;
    this.#host.logger.debug(
      `handshake to ${peer.keyText}${fresh ? " (new round)" : ""}, ${
        Math.max(peer.candidates.length, 1)
      } endpoint(s)`,
    );
    this.#host.sendInitiation(peer, msg);
  }

  /** Handles a datagram of type initiation. */
  onInitiation(data: Uint8Array, from: Endpoint): void {
    const drops = this.#host.drops;
    const msg = decodeInitiation(data);
    if (!msg) return void drops.malformed++;
    if (!verifyMac1(this.#ownMac1Key, data)) return void drops.unauthenticated++;
    if (!this.#limiter.take()) return void drops.rateLimited++;
    const responder = new ResponderHandshake({
      localStatic: this.#host.identity,
      psk: this.#host.psk,
      prologue: LINK_PROLOGUE,
      localEphemeral: this.#ephemeral(),
      dh: this.#host.x25519.dh,
      aead: this.#host.aead,
    });
    let remoteStatic: Uint8Array;
    let payload: Uint8Array;
    try {
      ({ remoteStatic, payload } = responder.readMessage1(msg.noise));
    } catch (err) {
      if (!(err instanceof HandshakeError)) throw err;
      return void drops.unauthenticated++;
    }
    const peer = this.#host.peerForInitiation(remoteStatic);
    if (!peer) return void drops.notAllowed++;
    if (this.#yieldsTo(peer, from)) {
      // Ours is in flight and wins; theirs would cross it.
      return this.#host.logger.debug(`handshake from ${peer.keyText}: ours wins`);
    }
    const items = this.#decodePayload(payload);
    if (!items) return;
    const stamp = items.get(TlvType.Timestamp);
    if (!stamp || stamp.length !== 8) return void drops.malformed++;
    const timestamp = readU64(stamp);
    if (timestamp <= peer.lastInitiationTimestamp) return void drops.replayed++;
    peer.lastInitiationTimestamp = timestamp;
    this.#learnAddress(peer, items.get(TlvType.VirtualIpv4));
    this.#learnReflexive(peer, items.get(TlvType.ObservedEndpoint));

    const localIndex = this.#newIndex();
    const reply = encodeTlv([
      [TlvType.ObservedEndpoint, encodeEndpoint(from)],
      ...this.#addressItem(),
    ]);
    const { message, result } = responder.writeMessage2(reply);
    const now = this.#host.clock.now();
    const session = new Session(
      localIndex,
      msg.senderIndex,
      result.sendKey,
      result.recvKey,
      false,
      now,
    );
    peer.endpoint = from;
    peer.lastReceivedAt = now;
    this.#host.installSession(peer, session, "responder");
    this.#host.send(peer, encodeResponse(localIndex, msg.senderIndex, message, peer.mac1Key));
    this.#host.logger.debug(`handshake from ${peer.keyText} at ${formatEndpoint(from)}, answered`);
  }

  /** Handles a datagram of type response. */
  onResponse(data: Uint8Array, from: Endpoint): void {
    const drops = this.#host.drops;
    const msg = decodeResponse(data);
    if (!msg) return void drops.malformed++;
    const peer = this.#byIndex.get(msg.receiverIndex);
    const pending = peer?.handshake;
    if (!peer || !pending || pending.localIndex !== msg.receiverIndex) {
      return void drops.unknownSession++;
    }
    if (!verifyMac1(this.#ownMac1Key, data)) return void drops.unauthenticated++;
    if (!this.#limiter.take()) return void drops.rateLimited++;
    let payload: Uint8Array;
    let keys: { sendKey: Uint8Array; recvKey: Uint8Array };
    try {
      const read = pending.handshake.readMessage2(msg.noise);
      payload = read.payload;
      keys = read.result;
    } catch (err) {
      if (!(err instanceof HandshakeError)) throw err;
      return void drops.unauthenticated++;
    }
    this.#byIndex.delete(pending.localIndex);
    peer.handshake = null;
    const items = this.#decodePayload(payload);
    if (!items) return;
    this.#learnAddress(peer, items.get(TlvType.VirtualIpv4));
    this.#learnReflexive(peer, items.get(TlvType.ObservedEndpoint));
    const now = this.#host.clock.now();
    const session = new Session(
      pending.localIndex,
      msg.senderIndex,
      keys.sendKey,
      keys.recvKey,
      true,
      now,
    );
    peer.endpoint = from;
    peer.lastReceivedAt = now;
    peer.rttMs = now - pending.sentAt;
    this.#host.logger.info(`link to ${peer.keyText} at ${formatEndpoint(from)} is up`);
    this.#host.installSession(peer, session, "initiator");
  }

  /**
   * Crossing initiations (both sides initiated at once) would make two sessions where one does:
   * the side with the lower public key keeps its own initiation and ignores the peer's, and the
   * other side answers it, dropping its own. An initiation in flight for longer than the retry
   * interval no longer counts (it was probably lost). Nor does one sent elsewhere than where
   * the peer's came from: while hole punching, ours may go to stale endpoints that never reach
   * the peer (it would retry for the whole punch window), while theirs proves a working path.
   */
  #yieldsTo(peer: Peer, from: Endpoint): boolean {
    const mine = peer.handshake;
    const now = this.#host.clock.now();
    if (!mine || now - mine.sentAt >= this.#host.tuning.rekeyTimeoutMs) return false;
    // With a fan of ours open for the peer (birthday punching), ours left from a socket its NAT
    // most likely does not let in: answer theirs, and keep ours in case it arrives after all.
    if (now < peer.fanUntil) return false;
    const sentThere = (peer.endpoint !== null && sameEndpoint(peer.endpoint, from)) ||
      peer.candidates.some((e) => sameEndpoint(e, from));
    if (sentThere && compareBytes(this.#host.identity.publicKey, peer.publicKey) < 0) return true;
    this.forget(peer);
    return false;
  }

  /** Forgets `peer`'s handshake in flight. */
  forget(peer: Peer): void {
    if (peer.handshake) this.#byIndex.delete(peer.handshake.localIndex);
    peer.handshake = null;
  }

  /** Forgets handshakes in flight. */
  close(): void {
    this.#byIndex.clear();
  }

  #decodePayload(payload: Uint8Array): Map<number, Uint8Array> | null {
    try {
      return decodeTlv(payload);
    } catch (err) {
      if (!(err instanceof TlvError)) throw err;
      this.#host.drops.malformed++;
      return null;
    }
  }

  #learnAddress(peer: Peer, item: Uint8Array | undefined): void {
    if (!item || item.length !== 5) return;
    const ip = ((item[0]! << 24) | (item[1]! << 16) | (item[2]! << 8) | item[3]!) >>> 0;
    if (peer.virtualIp === ip) return;
    peer.virtualIp = ip;
    this.#host.onPeerAddress(peer);
  }

  /** The endpoint `peer` says our packets come from (an `ObservedEndpoint` item), if any. */
  #learnReflexive(peer: Peer, seenAs: Uint8Array | undefined): void {
    const reflexive = seenAs ? decodeEndpoint(seenAs) : null;
    if (!reflexive) return;
    this.#host.logger.debug(`${peer.keyText} sees us as ${formatEndpoint(reflexive)}`);
    this.#host.onReflexive(reflexive);
  }

  #addressItem(): [number, Uint8Array][] {
    const v = this.#host.virtualIp();
    if (!v) return [];
    const item = new Uint8Array([v.ip >>> 24, v.ip >>> 16, v.ip >>> 8, v.ip, v.prefix]);
    return [[TlvType.VirtualIpv4, item]];
  }

  #timestamp(): Uint8Array {
    // Microseconds of wall time, forced to grow: a restarted node starts above its old values.
    const t = Math.max(Math.floor(this.#host.clock.wallNow() * 1000), this.#lastTimestamp + 1);
    this.#lastTimestamp = t;
    const out = new Uint8Array(8);
    const lo = t % TWO_POW_32;
    const view = new DataView(out.buffer);
    view.setUint32(0, lo, true);
    view.setUint32(4, (t - lo) / TWO_POW_32, true);
    return out;
  }

  #ephemeral(): KeyPair {
    const privateKey = this.#host.rng.fill(new Uint8Array(32));
    return { privateKey, publicKey: this.#host.x25519.publicKeyOf(privateKey) };
  }

  #newIndex(): number {
    for (;;) {
      const index = this.#host.rng.uint32();
      if (this.#host.isIndexFree(index)) return index;
    }
  }
}

function readU64(b: Uint8Array): number {
  const view = new DataView(b.buffer, b.byteOffset, 8);
  return view.getUint32(4, true) * TWO_POW_32 + view.getUint32(0, true);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}
