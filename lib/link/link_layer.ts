import type { Clock, Rng, TimerHandle } from "../clock/clock.ts";
import type { Aead } from "../crypto/aead.ts";
import type { KeyPair } from "../crypto/x25519.ts";
import type { Logger } from "../log.ts";
import type { Endpoint } from "../transport/endpoint.ts";
import type { Transport } from "../transport/transport.ts";
import {
  DATA_HEADER_BYTES,
  DATA_OVERHEAD_BYTES,
  DATA_TAG_BYTES,
  readCounter,
  readReceiverIndex,
  writeDataHeader,
} from "../wire/data_message.ts";
import { MessageType, readMessageType, WIRE_VERSION } from "../wire/header.ts";
import { mac1Key } from "../wire/handshake_messages.ts";
import { DEFAULT_LINK_TUNING, type LinkTuning, REJECT_AFTER_MESSAGES } from "./constants.ts";
import { REJECT_AFTER_TIME_MS } from "./constants.ts";
import { type DropCounters, newDropCounters } from "./drop_counters.ts";
import { Handshaker } from "./handshaker.ts";
import { Peer } from "./peer.ts";
import type { Session } from "./session.ts";

/** Receives decrypted packets (a view valid only during the call) from an authenticated peer. */
export type LinkPacketHandler = (peer: Peer, packet: Uint8Array) => void;

/** What a `LinkLayer` needs from its host. */
export interface LinkLayerOptions {
  identity: KeyPair;
  /** The network pre-shared key (32 bytes; zeros when the network has no secret). */
  psk: Uint8Array;
  transport: Transport;
  clock: Clock;
  rng: Rng;
  aead: Aead;
  logger: Logger;
  tuning?: Partial<LinkTuning>;
  /** Our virtual IPv4 address (u32) and prefix, announced in handshakes; null when none yet. */
  virtualIp?: { ip: number; prefix: number } | null;
}

/** A session found by its local index. */
interface IndexEntry {
  peer: Peer;
  session: Session;
}

/**
 * Secure links to peers over one `Transport`: Noise IKpsk2 handshakes, session rotation and
 * rekeying, keepalives, dead-link detection, and the encrypted data path.
 *
 * Everything incoming is checked before use; whatever fails is counted in `drops` and
 * forgotten. Time and randomness come from the injected `Clock` and `Rng`.
 */
export class LinkLayer {
  readonly drops: DropCounters = newDropCounters();
  readonly tuning: LinkTuning;
  readonly #peers = new Map<string, Peer>();
  readonly #bySession = new Map<number, IndexEntry>();
  readonly #handshaker: Handshaker;
  readonly #opts: LinkLayerOptions;
  readonly #scratch = new Uint8Array(65536 + DATA_OVERHEAD_BYTES);
  #onPacket: LinkPacketHandler = () => {};
  #onPeerAddress: (peer: Peer) => void = () => {};
  #tick: TimerHandle | null = null;
  #closed = false;

  constructor(opts: LinkLayerOptions) {
    this.#opts = opts;
    this.tuning = { ...DEFAULT_LINK_TUNING, ...opts.tuning };
    this.#handshaker = new Handshaker({
      identity: opts.identity,
      psk: opts.psk,
      clock: opts.clock,
      rng: opts.rng,
      logger: opts.logger,
      tuning: this.tuning,
      drops: this.drops,
      virtualIp: () => this.#opts.virtualIp ?? null,
      peerByKey: (key) => this.#peers.get(key),
      send: (peer, datagram) => this.#sendRaw(peer, datagram),
      isIndexFree: (index) => !this.#bySession.has(index) && !this.#handshaker.hasIndex(index),
      installSession: (peer, session, role) => this.#install(peer, session, role),
      onPeerAddress: (peer) => this.#onPeerAddress(peer),
    });
    opts.transport.onReceive((data, from) => this.#receive(data, from));
    this.#scheduleTick();
  }

  /** Sets the receiver of decrypted packets. */
  onPacket(handler: LinkPacketHandler): void {
    this.#onPacket = handler;
  }

  /** Sets the listener told when a peer announces (or changes) its virtual address. */
  onPeerAddress(listener: (peer: Peer) => void): void {
    this.#onPeerAddress = listener;
  }

  /** Adds a peer (or returns the existing one) and starts linking to it when it has an endpoint. */
  addPeer(publicKey: Uint8Array, endpoint: Endpoint | null): Peer {
    const keyText = publicKey.toBase64();
    const existing = this.#peers.get(keyText);
    if (existing) return existing;
    const peer = new Peer(publicKey, keyText, mac1Key(publicKey), endpoint);
    this.#peers.set(keyText, peer);
    if (endpoint) this.#handshaker.initiate(peer);
    return peer;
  }

  /** All peers. */
  peers(): Peer[] {
    return [...this.#peers.values()];
  }

  /** Changes the virtual address announced in later handshakes. */
  setVirtualIp(virtualIp: { ip: number; prefix: number } | null): void {
    this.#opts.virtualIp = virtualIp;
  }

  /**
   * Sends one IP packet to `peer`. When `packet` has `DATA_HEADER_BYTES` free before it and
   * `DATA_TAG_BYTES` after it in its buffer (a `Tun` guarantees that), it is sealed in place;
   * otherwise it is copied first. Without a usable session the packet waits (bounded) for the
   * handshake that this starts.
   */
  sendPacket(peer: Peer, packet: Uint8Array): void {
    const now = this.#opts.clock.now();
    const session = this.#usableSession(peer, now);
    if (!session || !peer.endpoint) {
      if (peer.pending.length >= this.tuning.pendingPacketsPerPeer) peer.pending.shift();
      peer.pending.push(packet.slice());
      if (peer.endpoint) this.#handshaker.initiate(peer);
      return;
    }
    this.#seal(peer, session, packet, now);
    if (this.#needsRekey(session, now)) this.#handshaker.initiate(peer);
  }

  /** Stops timers and forgets all sessions. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tick?.cancel();
    this.#bySession.clear();
    this.#handshaker.close();
  }

  #usableSession(peer: Peer, now: number): Session | null {
    const s = peer.current;
    if (!s || s.sendCounter >= REJECT_AFTER_MESSAGES || s.age(now) >= REJECT_AFTER_TIME_MS) {
      return null;
    }
    return s;
  }

  #needsRekey(s: Session, now: number): boolean {
    // The responder waits a little longer, so that both sides do not rekey at once.
    const margin = s.isInitiator ? 0 : this.tuning.rekeyTimeoutMs * 2;
    return s.sendCounter >= this.tuning.rekeyAfterMessages ||
      s.age(now) >= this.tuning.rekeyAfterTimeMs + margin;
  }

  #seal(peer: Peer, session: Session, packet: Uint8Array, now: number): void {
    const buf = packet.buffer as ArrayBuffer;
    const inPlace = packet.byteOffset >= DATA_HEADER_BYTES &&
      packet.byteOffset + packet.length + DATA_TAG_BYTES <= buf.byteLength;
    let msg: Uint8Array;
    if (inPlace) {
      msg = new Uint8Array(buf, packet.byteOffset - DATA_HEADER_BYTES, packet.length + 32);
    } else {
      msg = this.#scratch.subarray(0, packet.length + DATA_OVERHEAD_BYTES);
      msg.set(packet, DATA_HEADER_BYTES);
    }
    const counter = session.sendCounter++;
    writeDataHeader(msg, session.remoteIndex, counter);
    const body = msg.subarray(DATA_HEADER_BYTES);
    this.#opts.aead.seal(
      session.sendKey,
      counter,
      msg.subarray(0, DATA_HEADER_BYTES),
      body.subarray(0, packet.length),
      body,
    );
    peer.counters.txPackets++;
    peer.counters.txBytes += packet.length;
    peer.lastSentAt = now;
    this.#opts.transport.send(peer.endpoint!, msg);
  }

  #sendRaw(peer: Peer, datagram: Uint8Array): void {
    if (!peer.endpoint || this.#closed) return;
    peer.lastSentAt = this.#opts.clock.now();
    this.#opts.transport.send(peer.endpoint, datagram);
  }

  #receive(data: Uint8Array, from: Endpoint): void {
    if (this.#closed) return;
    if (data.length >= DATA_OVERHEAD_BYTES && data[0] === WIRE_VERSION && data[1] === 4) {
      this.#receiveData(data, from);
      return;
    }
    switch (readMessageType(data)) {
      case MessageType.HandshakeInitiation:
        this.#handshaker.onInitiation(data, from);
        return;
      case MessageType.HandshakeResponse:
        this.#handshaker.onResponse(data, from);
        return;
      default:
        this.drops.malformed++;
    }
  }

  #receiveData(data: Uint8Array, from: Endpoint): void {
    const entry = this.#bySession.get(readReceiverIndex(data));
    if (!entry) {
      this.drops.unknownSession++;
      return;
    }
    const { peer, session } = entry;
    const counter = readCounter(data);
    if (!session.replay.mayAccept(counter)) {
      this.drops.replayed++;
      return;
    }
    const now = this.#opts.clock.now();
    if (session.age(now) >= REJECT_AFTER_TIME_MS) {
      this.drops.unknownSession++;
      return;
    }
    const body = data.subarray(DATA_HEADER_BYTES);
    const n = this.#opts.aead.open(
      session.recvKey,
      counter,
      data.subarray(0, DATA_HEADER_BYTES),
      body,
      body,
    );
    if (n < 0) {
      this.drops.unauthenticated++;
      return;
    }
    if (!session.replay.accept(counter)) {
      this.drops.replayed++;
      return;
    }
    peer.lastReceivedAt = now;
    if (peer.endpoint !== from) peer.endpoint = from;
    if (session === peer.next) this.#promoteNext(peer);
    if (n === 0) return; // keepalive
    peer.counters.rxPackets++;
    peer.counters.rxBytes += n;
    this.#onPacket(peer, body.subarray(0, n));
  }

  /** Makes `session` usable; `role` says which side of its handshake we were. */
  #install(peer: Peer, session: Session, role: "initiator" | "responder"): void {
    this.#bySession.set(session.localIndex, { peer, session });
    peer.lastHandshakeAt = this.#opts.clock.now();
    if (role === "responder") {
      // Not used to send until the initiator proves it has the keys by using them.
      if (peer.next) this.#bySession.delete(peer.next.localIndex);
      peer.next = session;
      return;
    }
    this.#rotate(peer, session);
    this.#flushPending(peer);
  }

  #promoteNext(peer: Peer): void {
    const next = peer.next!;
    peer.next = null;
    this.#rotate(peer, next);
    this.#flushPending(peer);
  }

  #rotate(peer: Peer, session: Session): void {
    if (peer.previous) this.#bySession.delete(peer.previous.localIndex);
    peer.previous = peer.current;
    peer.current = session;
  }

  #flushPending(peer: Peer): void {
    const now = this.#opts.clock.now();
    const session = this.#usableSession(peer, now);
    if (!session || !peer.endpoint) return;
    if (peer.pending.length === 0 && session.isInitiator) {
      this.#seal(peer, session, new Uint8Array(0), now); // confirms the session to the responder
      return;
    }
    for (const packet of peer.pending.splice(0)) this.#seal(peer, session, packet, now);
  }

  #scheduleTick(): void {
    if (this.#closed) return;
    this.#tick = this.#opts.clock.setTimer(this.tuning.tickMs, () => {
      this.#onTick();
      this.#scheduleTick();
    });
  }

  #onTick(): void {
    const now = this.#opts.clock.now();
    for (const peer of this.#peers.values()) {
      this.#expireSessions(peer, now);
      if (!peer.endpoint) continue;
      const session = this.#usableSession(peer, now);
      if (session && now - peer.lastReceivedAt > this.tuning.deadAfterMs) {
        this.#opts.logger.info(`link to ${peer.keyText} is down (nothing received)`);
        this.#dropSessions(peer);
        this.#handshaker.initiate(peer);
        continue;
      }
      if (!session || this.#needsRekey(session, now)) {
        this.#handshaker.initiate(peer);
      } else if (now - peer.lastSentAt >= this.tuning.keepaliveIntervalMs) {
        this.#seal(peer, session, new Uint8Array(0), now);
      }
    }
  }

  #expireSessions(peer: Peer, now: number): void {
    for (const slot of ["previous", "current", "next"] as const) {
      const s = peer[slot];
      if (s && s.age(now) >= REJECT_AFTER_TIME_MS) {
        this.#bySession.delete(s.localIndex);
        peer[slot] = null;
      }
    }
  }

  #dropSessions(peer: Peer): void {
    for (const s of peer.sessions()) this.#bySession.delete(s.localIndex);
    peer.current = peer.previous = peer.next = null;
    peer.lastReceivedAt = -Infinity;
  }
}
