import type { TimerHandle } from "../clock/clock.ts";
import { nodeX25519 } from "../crypto/x25519.ts";
import { type Endpoint, formatEndpoint, sameEndpoint } from "../transport/endpoint.ts";
import {
  DATA_HEADER_BYTES,
  DATA_OVERHEAD_BYTES,
  type DataType,
  readReceiverIndex,
} from "../wire/data_message.ts";
import { MessageType, PRIMER_DATAGRAM, readMessageType, WIRE_VERSION } from "../wire/header.ts";
import { mac1Key } from "../wire/handshake_messages.ts";
import {
  DEFAULT_LINK_TUNING,
  type LinkTuning,
  MAX_CANDIDATES,
  PUNCH_WINDOW_MS,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
} from "./constants.ts";
import { BirthdayPunch, mapsPerDestination } from "./birthday.ts";
import { ReflexiveEndpoints } from "./reflexive.ts";
import { type DropCounters, newDropCounters } from "./drop_counters.ts";
import { Handshaker } from "./handshaker.ts";
import { type KeyAnswerHandler, KeyProber } from "./key_prober.ts";
import { TokenBucket } from "./rate_limiter.ts";
import { Peer } from "./peer.ts";
import { DEFAULT_MAX_PEERS, type LinkLayerOptions } from "./link_options.ts";
export type { LinkEnvironment, LinkLayerOptions } from "./link_options.ts";
import { withStaticCache } from "./static_dh_cache.ts";
import type { Session } from "./session.ts";

/** Receives decrypted packets (a view valid only during the call) from an authenticated peer. */
export type LinkPacketHandler = (peer: Peer, packet: Uint8Array) => void;

/** Receives overlay messages (a view valid only during the call) from an authenticated peer. */
export type OverlayMessageHandler = (peer: Peer, message: Uint8Array) => void;

/** The payload of a keepalive (sealing never writes into an empty payload's buffer). */
const KEEPALIVE = new Uint8Array(0);

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
  /** Handshakes that gave a session (either role). */
  handshakesCompleted = 0;
  /** Hole-punching primers sent, and received (ones that did not expire on the way). */
  primersSent = 0;
  primersReceived = 0;
  readonly tuning: LinkTuning;
  readonly #peers = new Map<string, Peer>();
  readonly #bySession = new Map<number, IndexEntry>();
  readonly #handshaker: Handshaker;
  readonly #prober: KeyProber;
  readonly #birthday: BirthdayPunch;
  readonly #opts: LinkLayerOptions;
  #onPacket: LinkPacketHandler = () => {};
  #onPeerAddress: (peer: Peer) => void = () => {};
  #onOverlay: OverlayMessageHandler = () => {};
  #onPeerUp: (peer: Peer) => void = () => {};
  #onPeerDown: (peer: Peer) => void = () => {};
  #onPeerRenewed: (peer: Peer) => void = () => {};
  #tick: TimerHandle | null = null;
  readonly #reflexive = new ReflexiveEndpoints();
  #closed = false;

  constructor(opts: LinkLayerOptions) {
    this.#opts = opts;
    this.tuning = { ...DEFAULT_LINK_TUNING, ...opts.tuning };
    const rate = this.tuning.handshakesPerSecond;
    const limiter = new TokenBucket(opts.clock, rate, Math.max(1, rate / 4));
    this.#prober = new KeyProber(
      opts.identity.publicKey,
      opts.clock,
      opts.rng,
      limiter,
      this.drops,
      (to, datagram) => !this.#closed && opts.transport.send(to, datagram),
    );
    this.#handshaker = new Handshaker({
      limiter,
      identity: opts.identity,
      x25519: withStaticCache(
        opts.x25519 ?? nodeX25519,
        opts.identity,
        2 * (opts.maxPeers ?? DEFAULT_MAX_PEERS),
      ),
      aead: opts.aead,
      psk: opts.psk,
      clock: opts.clock,
      rng: opts.rng,
      logger: opts.logger,
      tuning: this.tuning,
      drops: this.drops,
      virtualIp: () => this.#opts.virtualIp ?? null,
      peerForInitiation: (publicKey) => this.#peerForInitiation(publicKey),
      send: (peer, datagram) => this.#sendRaw(peer, datagram),
      sendInitiation: (peer, datagram) => this.#sendInitiation(peer, datagram),
      isIndexFree: (index) => !this.#bySession.has(index) && !this.#handshaker.hasIndex(index),
      installSession: (peer, session, role) => this.#install(peer, session, role),
      onPeerAddress: (peer) => this.#onPeerAddress(peer),
      onReflexive: (ep) => this.#noteReflexive(ep),
    });
    this.#birthday = new BirthdayPunch({
      transport: opts.transport,
      clock: opts.clock,
      logger: opts.logger,
      tuning: this.tuning,
      isClosed: () => this.#closed,
      peerOf: (publicKey) => this.addPeer(publicKey, null),
      initiateNow: (peer) => this.#handshaker.initiate(peer, true),
    }, opts.rng);
    opts.transport.onReceive((data, from) => this.#receive(data, from));
    this.#scheduleTick();
  }

  /** Birthday punching, cone side: guesses sent to random ports of peers' NATs. */
  get guessesSent(): number {
    return this.#birthday.guessesSent;
  }

  /** Birthday punching, symmetric side: fans of sockets opened. */
  get fansOpened(): number {
    return this.#birthday.fansOpened;
  }

  /**
   * True when our NAT seems to map each destination to its own port (see `birthday.ts`), so
   * that only birthday punching (`fanOut`) gets a direct link through it.
   */
  get mapsPerDestination(): boolean {
    return mapsPerDestination(this.#reflexive.list, this.localEndpoint);
  }

  /** True when the transport can open a fan of sockets (birthday punching). */
  get canFanOut(): boolean {
    return this.#opts.transport.fanOut !== undefined;
  }

  /**
   * Birthday punching, behind a NAT that maps per destination: opens a fan of sockets, each
   * priming its own mapping toward the peer's `candidates`; the peer guesses their ports (see
   * `BirthdayPunch.fanOut`). True when the transport opened one.
   */
  fanOut(publicKey: Uint8Array, candidates: readonly Endpoint[]): boolean {
    const targets = uniqueEndpoints(candidates).slice(0, MAX_CANDIDATES);
    return this.#birthday.fanOut(publicKey, targets);
  }

  /** Sets the receiver of decrypted packets. */
  onPacket(handler: LinkPacketHandler): void {
    this.#onPacket = handler;
  }

  /** Sets the listener told when a peer announces (or changes) its virtual address. */
  onPeerAddress(listener: (peer: Peer) => void): void {
    this.#onPeerAddress = listener;
  }

  /** Handshake initiations sent so far. */
  get initiations(): number {
    return this.#handshaker.initiations;
  }

  /** Where this link layer's transport is bound. */
  get localEndpoint(): Endpoint {
    return this.#opts.transport.localEndpoint;
  }

  /** Endpoints peers reported seeing us at (most recent first, at most 4, none stale). */
  get reflexiveEndpoints(): readonly Endpoint[] {
    return this.#reflexive.list;
  }

  #noteReflexive(ep: Endpoint): void {
    const known = this.#reflexive.list;
    const newAddress = known.length > 0 && !known.some((e) => e.host === ep.host);
    if (!this.#reflexive.report(ep, this.#opts.clock.now())) return;
    // A new address means a new network or NAT; a new port at a known address is routine
    // behind a NAT that maps per destination.
    const text = `peers see us at ${formatEndpoint(ep)}` +
      (known.length > 0 ? ` (also at ${known.map(formatEndpoint).join(", ")})` : "");
    if (newAddress) this.#opts.logger.info(text);
    else this.#opts.logger.debug(text);
  }

  /** Sets the receiver of overlay messages. */
  onOverlayMessage(handler: OverlayMessageHandler): void {
    this.#onOverlay = handler;
  }

  /**
   * Sets the listeners told when a peer's first usable session forms, when it is lost, and
   * (`renewed`) when a later handshake gives an up peer a new session.
   */
  onPeerChange(
    up: (peer: Peer) => void,
    down: (peer: Peer) => void,
    renewed: (peer: Peer) => void = () => {},
  ): void {
    this.#onPeerUp = up;
    this.#onPeerDown = down;
    this.#onPeerRenewed = renewed;
  }

  /**
   * Adds a peer (or returns the existing one, moving it to `endpoint` when one is given and it
   * has no session) and starts linking to it when it has an endpoint.
   */
  addPeer(publicKey: Uint8Array, endpoint: Endpoint | null): Peer {
    const keyText = publicKey.toBase64();
    let peer = this.#peers.get(keyText);
    if (peer && (!endpoint || peer.current)) return peer;
    if (peer) peer.endpoint = endpoint;
    else {
      peer = new Peer(publicKey, keyText, mac1Key(publicKey, this.#opts.psk), endpoint);
      this.#peers.set(keyText, peer);
    }
    if (endpoint) this.#handshaker.initiate(peer);
    return peer;
  }

  /**
   * Adds a peer reachable at one of `candidates` (local and reflexive endpoints, from a
   * Connect-To-Me), unless it is linked already. Initiations go to every candidate at once until
   * one answers. With `holdMs`, none is sent before then: the other side sends first, so that
   * its packets pass our NAT mapping, opened by `prime`, before ours reach its NAT (a packet
   * reaching a NAT before that NAT's own mapping exists can make it remap the port).
   *
   * Called again for a peer still not linked (a new Connect-To-Me), it starts a new round of
   * punching at once: the other side is sending or priming now, and a retry of the old round
   * may be seconds away.
   */
  addPeerAt(
    publicKey: Uint8Array,
    candidates: readonly Endpoint[],
    holdMs = 0,
    guessHost: string | null = null,
  ): Peer {
    const peer = this.addPeer(publicKey, null);
    if (peer.current) return peer;
    if (guessHost !== null) this.#birthday.armGuessing(peer, guessHost, holdMs);
    peer.candidates = uniqueEndpoints(candidates).slice(0, MAX_CANDIDATES);
    peer.endpoint ??= peer.candidates[0] ?? null;
    const now = this.#opts.clock.now();
    peer.holdUntil = holdMs > 0 ? now + holdMs : -Infinity;
    peer.punchUntil = now + PUNCH_WINDOW_MS;
    peer.punchAttempts = 0;
    if (peer.endpoint && holdMs <= 0) this.#handshaker.initiate(peer, true);
    return peer;
  }

  /** Opens our NAT's mappings toward `candidates` with primers that expire on the way. */
  prime(candidates: readonly Endpoint[]): void {
    const transport = this.#opts.transport;
    if (!transport.sendPrimer || this.#closed) return;
    for (const to of uniqueEndpoints(candidates).slice(0, MAX_CANDIDATES)) {
      transport.sendPrimer(to, PRIMER_DATAGRAM, this.tuning.primerTtl);
      this.primersSent++;
    }
  }

  /** The peer with this key, if any. */
  peer(publicKey: Uint8Array): Peer | undefined {
    return this.#peers.get(publicKey.toBase64());
  }

  /** Forgets a peer and its sessions (no event is raised). */
  removePeer(peer: Peer): void {
    if (this.#peers.get(peer.keyText) !== peer) return;
    this.#dropSessions(peer);
    this.#handshaker.forget(peer);
    peer.pending.length = 0;
    this.#peers.delete(peer.keyText);
  }

  /** Asks `to` for its static public key (to link to a node known only by its endpoint). */
  probeKey(to: Endpoint, onAnswer: KeyAnswerHandler): void {
    if (!this.#closed) this.#prober.probe(to, onAnswer);
  }

  /** Sends one overlay message to `peer` (queued, bounded, while its handshake runs). */
  sendOverlay(peer: Peer, message: Uint8Array): void {
    this.#send(peer, message, MessageType.OverlayData);
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
    this.#send(peer, packet, MessageType.Data);
  }

  #send(peer: Peer, payload: Uint8Array, type: DataType): void {
    if (this.#closed) return;
    const now = this.#opts.clock.now();
    const session = this.#usableSession(peer, now);
    if (!session || !peer.endpoint) {
      if (peer.pending.length >= this.tuning.pendingPacketsPerPeer) peer.pending.shift();
      peer.pending.push({ type, payload: payload.slice() });
      if (peer.endpoint && !this.#awaitingConfirmation(peer, now)) this.#handshaker.initiate(peer);
      return;
    }
    this.#seal(peer, session, payload, now, type);
    if (this.#needsRekey(session, now)) this.#handshaker.initiate(peer);
  }

  #peerForInitiation(publicKey: Uint8Array): Peer | undefined {
    const known = this.#peers.get(publicKey.toBase64());
    if (known || !this.#opts.acceptUnknownPeers) return known;
    if (this.#peers.size >= (this.#opts.maxPeers ?? DEFAULT_MAX_PEERS)) return undefined;
    return this.addPeer(publicKey, null);
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

  /**
   * True while we answered the peer's initiation and wait for its first message on the new
   * session: a handshake of our own now would only race it.
   */
  #awaitingConfirmation(peer: Peer, now: number): boolean {
    return peer.next !== null && peer.next.age(now) < this.tuning.rekeyTimeoutMs;
  }

  #needsRekey(s: Session, now: number): boolean {
    // The responder waits a little longer, so that both sides do not rekey at once.
    const margin = s.isInitiator ? 0 : this.tuning.rekeyTimeoutMs * 2;
    return s.sendCounter >= this.tuning.rekeyAfterMessages ||
      s.age(now) >= this.tuning.rekeyAfterTimeMs + margin;
  }

  #seal(peer: Peer, session: Session, packet: Uint8Array, now: number, type: DataType): void {
    const msg = session.seal(this.#opts.aead, packet, type);
    peer.counters.txPackets++;
    peer.counters.txBytes += packet.length;
    peer.lastSentAt = now;
    this.#opts.transport.send(peer.endpoint!, msg);
  }

  #sendInitiation(peer: Peer, datagram: Uint8Array): void {
    if (this.#closed) return;
    const targets = peer.current || peer.candidates.length === 0
      ? (peer.endpoint ? [peer.endpoint] : [])
      : uniqueEndpoints(peer.endpoint ? [peer.endpoint, ...peer.candidates] : peer.candidates);
    if (targets.length === 0) return;
    const now = this.#opts.clock.now();
    peer.lastSentAt = now;
    for (const to of targets) this.#opts.transport.send(to, datagram);
    this.#birthday.afterInitiation(peer, datagram, now);
  }

  #sendRaw(peer: Peer, datagram: Uint8Array): void {
    if (!peer.endpoint || this.#closed) return;
    peer.lastSentAt = this.#opts.clock.now();
    this.#opts.transport.send(peer.endpoint, datagram);
  }

  #receive(data: Uint8Array, from: Endpoint): void {
    if (this.#closed) return;
    const type = data[1];
    if (
      data.length >= DATA_OVERHEAD_BYTES && data[0] === WIRE_VERSION && (type === 4 || type === 5)
    ) {
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
      case MessageType.KeyProbe:
        this.#prober.onProbe(data, from);
        return;
      case MessageType.Primer:
        this.primersReceived++; // it was meant to expire on the way; harmless
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
    const now = this.#opts.clock.now();
    const n = session.open(this.#opts.aead, data, now);
    if (typeof n !== "number") {
      if (n === "expired") this.drops.unknownSession++;
      else this.drops[n]++;
      return;
    }
    peer.lastReceivedAt = now;
    const moved = peer.endpoint !== from && peer.endpoint !== null &&
      !sameEndpoint(peer.endpoint, from);
    if (peer.endpoint !== from) peer.endpoint = from;
    if (session === peer.next) this.#promoteNext(peer);
    if (moved) this.#peerMoved(peer);
    if (n === 0) return; // keepalive
    peer.counters.rxPackets++;
    peer.counters.rxBytes += n;
    const plaintext = data.subarray(DATA_HEADER_BYTES, DATA_HEADER_BYTES + n);
    if (data[1] === MessageType.Data) this.#onPacket(peer, plaintext);
    else this.#onOverlay(peer, plaintext);
  }

  /**
   * An authenticated packet came from a new endpoint of `peer` (its NAT rebound, or it moved to
   * another network): a handshake tells it where its packets come from now (the initiation
   * carries the endpoint), so that it advertises the new one. At most one per retry interval.
   */
  #peerMoved(peer: Peer): void {
    this.#opts.logger.debug(`${peer.keyText} now sends from ${formatEndpoint(peer.endpoint!)}`);
    if (peer.current) this.#handshaker.initiate(peer);
  }

  /** Makes `session` usable; `role` says which side of its handshake we were. */
  #install(peer: Peer, session: Session, role: "initiator" | "responder"): void {
    this.handshakesCompleted++;
    this.#bySession.set(session.localIndex, { peer, session });
    peer.lastHandshakeAt = this.#opts.clock.now();
    if (role === "responder") {
      // Not used to send until the initiator proves it has the keys by using them.
      if (peer.next) this.#bySession.delete(peer.next.localIndex);
      peer.next = session;
      return;
    }
    this.#rotate(peer, session);
  }

  #promoteNext(peer: Peer): void {
    const next = peer.next!;
    peer.next = null;
    this.#rotate(peer, next);
  }

  /** Makes `session` current, sends what waited for it, and tells when the peer came up. */
  #rotate(peer: Peer, session: Session): void {
    const wasDown = peer.current === null;
    if (peer.previous) this.#bySession.delete(peer.previous.localIndex);
    peer.previous = peer.current;
    peer.current = session;
    this.#flushPending(peer);
    if (wasDown) this.#onPeerUp(peer);
    else this.#onPeerRenewed(peer);
  }

  #flushPending(peer: Peer): void {
    const now = this.#opts.clock.now();
    const session = this.#usableSession(peer, now);
    if (!session || !peer.endpoint) return;
    if (peer.pending.length === 0 && session.isInitiator) {
      // An empty message (a keepalive) confirms the session to the responder.
      this.#seal(peer, session, KEEPALIVE, now, MessageType.Data);
      return;
    }
    for (const p of peer.pending.splice(0)) this.#seal(peer, session, p.payload, now, p.type);
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
    this.#reflexive.expire(now);
    for (const peer of this.#peers.values()) {
      this.#expireSessions(peer, now);
      if (!peer.endpoint) continue;
      const session = this.#usableSession(peer, now);
      const pace = peer.pace ?? this.tuning;
      if (session && now - peer.lastReceivedAt > pace.deadAfterMs) {
        this.#opts.logger.info(`link to ${peer.keyText} is down (nothing received)`);
        this.#dropSessions(peer);
        this.#handshaker.initiate(peer);
        this.#onPeerDown(peer);
        continue;
      }
      if (!session && this.#awaitingConfirmation(peer, now)) continue;
      if (!session || this.#needsRekey(session, now)) {
        this.#handshaker.initiate(peer);
      } else if (now - peer.lastSentAt >= pace.keepaliveIntervalMs) {
        this.#seal(peer, session, KEEPALIVE, now, MessageType.Data);
      }
    }
  }

  #expireSessions(peer: Peer, now: number): void {
    // Runs for every peer every tick: the common case (nothing expired) allocates nothing.
    const oldest = now - REJECT_AFTER_TIME_MS;
    if (!expired(peer.previous, oldest) && !expired(peer.current, oldest)) {
      if (!expired(peer.next, oldest)) return;
    }
    const wasUp = peer.current !== null;
    for (const s of peer.removeSessions((s) => s.age(now) >= REJECT_AFTER_TIME_MS)) {
      this.#bySession.delete(s.localIndex);
    }
    if (wasUp && peer.current === null) this.#onPeerDown(peer);
  }

  #dropSessions(peer: Peer): void {
    for (const s of peer.removeSessions(() => true)) this.#bySession.delete(s.localIndex);
    peer.lastReceivedAt = -Infinity;
  }
}

/** True when `s` exists and was made at or before `oldest` (clock time, ms). */
function expired(s: Session | null, oldest: number): boolean {
  return s !== null && s.createdAt <= oldest;
}

/** `endpoints` without repeats, in order. */
function uniqueEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const e of endpoints) if (!out.some((o) => sameEndpoint(o, e))) out.push(e);
  return out;
}
