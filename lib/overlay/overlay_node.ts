import type { Clock, Rng, TimerHandle } from "../clock/clock.ts";
import { type LinkEnvironment, LinkLayer } from "../link/link_layer.ts";
import type { Peer } from "../link/peer.ts";
import type { Endpoint } from "../transport/endpoint.ts";
import {
  ADDRESS_BYTES,
  addressFromBytes,
  addressOfKey,
  addressToBytes,
  addressToHex,
  type OverlayAddress,
} from "./address.ts";
import { Connection } from "./connection.ts";
import type { ConnectPurpose } from "./ctm_body.ts";
import { ConnectToMe } from "./connect_to_me.ts";
import type { NodeInfo } from "./node_info.ts";
import { encodeNodeList, readNeighbours, readNodeList } from "./node_list.ts";
import {
  decodeOverlayMessage,
  DEFAULT_TTL,
  encodeOverlayMessage,
  FLAG_HOP_ACK,
  FLAG_NEAREST,
  FLAG_RELAY_HOP,
  FLAG_SECOND_CHANCE,
  OverlayKind,
  type OverlayMessage,
  ROUTED_KINDS,
  type ServiceKind,
} from "./overlay_message.ts";
import { RingMaintenance } from "./ring_maintenance.ts";
import { compareCloseness } from "./ring.ts";
import { DEFAULT_HOP_WATCH_TUNING, HopWatch } from "./hop_watch.ts";
import { Shortcuts } from "./shortcuts.ts";
import {
  chooseDirectHop,
  chooseHop,
  type HopChoice,
  type RouteView,
  secondChanceHop,
} from "./route_choice.ts";
import { DEFAULT_RELAY_TUNING, Relays } from "./relays.ts";
import { Echoes } from "./echo.ts";
import { DEFAULT_OVERLAY_TUNING, type OverlayTuning } from "./tuning.ts";
import type { OverlayStatus } from "./overlay_status.ts";
import { overlayStatus } from "./overlay_status.ts";

/** What an `OverlayNode` needs from its host. */
export interface OverlayNodeOptions extends LinkEnvironment {
  tuning?: Partial<OverlayTuning>;
}

/** A routed message delivered here. */
export interface Delivery {
  src: OverlayAddress;
  dst: OverlayAddress;
  hops: number;
  payload: Uint8Array;
}

/** Overlay-level counters. */
export interface OverlayStats {
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Messages dropped: malformed, hop limit, no route, bad Connect-To-Me. */
  dropped: number;
}

const NO_BODY = new Uint8Array(0);
/** Relays a message that came back may be moved or dropped for, before it is sent on anyway. */
const MAX_RELAY_BOUNCES = 2;
/** How long a peer whose link went dead is taken for crashed (not relayed to), in ms. */
const LOST_MEMORY_MS = 120_000;
/** Dead links remembered at most. */
const MAX_LOST_REMEMBERED = 256;

/**
 * A member of the structured ring overlay. It links to a bootstrap node, asks the overlay for
 * its ring neighbours with a Connect-To-Me routed to its own address, keeps its nearest
 * neighbours on both sides through gossip, draws far connections from Symphony's harmonic
 * distribution, and routes messages greedily (exact or nearest delivery).
 *
 * All I/O comes through the `Transport`, time through the `Clock`, randomness through the
 * `Rng`: the same code runs in the agent and, by the thousand, in the simulator.
 */
export class OverlayNode {
  readonly address: OverlayAddress;
  readonly links: LinkLayer;
  readonly stats: OverlayStats = {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    dropped: 0,
  };
  readonly tuning: OverlayTuning;
  /** Connections by peer key text. */
  readonly conns = new Map<string, Connection>();
  readonly #opts: OverlayNodeOptions;
  readonly #maintenance: RingMaintenance;
  readonly #ctm: ConnectToMe;
  readonly #hopWatch: HopWatch;
  /** On-demand shortcuts (the virtual-IP router reports traffic that crossed the overlay). */
  readonly shortcuts: Shortcuts;
  /** Ring neighbours reached through a common neighbour (no direct link could form). */
  readonly relays: Relays;
  /** Overlay ping and traceroute. */
  readonly echoes: Echoes;
  #upByAddress = new Map<OverlayAddress, Connection>();
  /** Up connections that have been silent too long to route through (refreshed each round). */
  #suspects = new Set<OverlayAddress>();
  #upAddresses: OverlayAddress[] = [];
  /** The addresses of our own up links (`#upAddresses` without the relayed neighbours). */
  #directAddresses: OverlayAddress[] = [];
  #onDeliver: (d: Delivery) => void = () => {};
  readonly #services = new Map<number, (d: Delivery) => void>();
  /** Peers whose links went dead, and when (they are not relayed to for a while). */
  readonly #lost = new Map<OverlayAddress, number>();
  #onUnreachable: (m: { dst: OverlayAddress; payload: Uint8Array }) => void = () => {};
  #timer: TimerHandle | null = null;
  #closed = false;

  constructor(opts: OverlayNodeOptions) {
    this.#opts = opts;
    this.tuning = { ...DEFAULT_OVERLAY_TUNING, ...opts.tuning };
    this.address = addressOfKey(opts.identity.publicKey);
    this.links = new LinkLayer({
      identity: opts.identity,
      psk: opts.psk,
      transport: opts.transport,
      clock: opts.clock,
      rng: opts.rng,
      aead: opts.aead,
      x25519: opts.x25519,
      logger: opts.logger,
      tuning: this.tuning.link,
      acceptUnknownPeers: true,
      maxPeers: this.tuning.maxConnections,
    });
    this.links.onOverlayMessage((peer, bytes) => this.#receive(peer, bytes));
    this.links.onPeerChange(
      (peer) => this.#peerUp(peer),
      (peer) => this.#peerDown(peer),
      (peer) => this.#peerRenewed(peer),
    );
    this.#maintenance = new RingMaintenance(this);
    this.#ctm = new ConnectToMe(this, this.#maintenance);
    this.shortcuts = new Shortcuts(this, this.tuning.shortcuts);
    this.relays = new Relays(this, DEFAULT_RELAY_TUNING);
    this.echoes = new Echoes(this);
    this.#hopWatch = new HopWatch(opts.clock, DEFAULT_HOP_WATCH_TUNING, (msg) => {
      this.#refreshSuspects();
      this.route(msg);
    });
  }

  /** Joins the overlay through `bootstrap` (none: founds a new overlay). */
  start(bootstrap: Endpoint[]): void {
    this.#maintenance.setBootstrap(bootstrap);
    this.#schedule(0);
  }

  /** Sets the receiver of routed messages delivered here. */
  onDeliver(handler: (d: Delivery) => void): void {
    this.#onDeliver = handler;
  }

  /** Sets the receiver of routed messages of a service kind (DHT, IP) delivered here. */
  onKind(kind: ServiceKind, handler: (d: Delivery) => void): void {
    this.#services.set(kind, handler);
  }

  /**
   * Routes a service message to `dst`. Delivery here (we are the destination, or the nearest
   * node) calls the handler synchronously, inside this call.
   */
  sendKind(
    kind: ServiceKind,
    dst: OverlayAddress,
    mode: "exact" | "nearest",
    body: Uint8Array,
  ): void {
    this.route(this.message(kind, dst, mode === "nearest" ? FLAG_NEAREST : 0, body));
  }

  /** True once the node has joined the ring (its join request was answered), or founded it. */
  get joined(): boolean {
    return this.#maintenance.isJoined;
  }

  /** True once the node's view of its ring neighbourhood can be trusted (see `isSettled`). */
  get settled(): boolean {
    return this.#maintenance.isSettled;
  }

  /** The clock the node runs on. */
  get clock(): Clock {
    return this.#opts.clock;
  }

  /** Sets the receiver of "unreachable" answers to exact-mode messages we sent. */
  onUnreachable(handler: (m: { dst: OverlayAddress; payload: Uint8Array }) => void): void {
    this.#onUnreachable = handler;
  }

  /** Routes `payload` to `dst` (exact: that node only; nearest: whoever is closest to it). */
  send(dst: OverlayAddress, mode: "exact" | "nearest", payload: Uint8Array): void {
    this.route(
      this.message(OverlayKind.Data, dst, mode === "nearest" ? FLAG_NEAREST : 0, payload),
    );
  }

  /** Clock time in ms. */
  now(): number {
    return this.#opts.clock.now();
  }

  /** The injected randomness, for the maintenance. */
  get rng(): Rng {
    return this.#opts.rng;
  }

  /** Connections that are up, by address. */
  get upByAddress(): ReadonlyMap<OverlayAddress, Connection> {
    return this.#upByAddress;
  }

  /** Addresses of the connections that are up. */
  get upAddresses(): readonly OverlayAddress[] {
    return this.#upAddresses;
  }

  /** A snapshot for `ipop status` and the simulator. */
  status(): OverlayStatus {
    return overlayStatus(this, this.#maintenance.estimatedSize);
  }

  /** Leaves cleanly: tells every neighbour (with our neighbour list), then closes. */
  leave(): void {
    if (this.#closed) return;
    const body = encodeNodeList(this.#maintenance.nearInfos());
    for (const conn of this.#upByAddress.values()) {
      this.sendOneHop(conn, OverlayKind.Leave, body);
    }
    this.close();
  }

  /** Stops at once (no goodbye), like a crash; the transport stays the owner's. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#hopWatch.close();
    this.echoes.close();
    this.links.close();
  }

  /** This node's introduction: key and the endpoints others can reach it at. */
  selfInfo(): NodeInfo {
    const publicKey = this.#opts.identity.publicKey;
    const endpoints = this.#maintenance.advertised();
    if (!this.#maintenance.behindNat) return { publicKey, endpoints };
    return this.fansOut
      ? { publicKey, endpoints, behindNat: true, fansOut: true }
      : { publicKey, endpoints, behindNat: true };
  }

  /** Behind a NAT that maps per destination, and able to punch through it (`LinkLayer.fanOut`). */
  get fansOut(): boolean {
    return this.links.canFanOut && this.links.mapsPerDestination;
  }

  /** Behind a NAT that keeps one port for every destination: we can guess a fan's ports. */
  get behindConeNat(): boolean {
    return this.#maintenance.behindNat && !this.links.mapsPerDestination;
  }

  /**
   * Starts (or reuses) a connection to the node with `publicKey` at `endpoints`; `holdMs` and
   * `guessHost` as in `LinkLayer.addPeerAt`.
   */
  connect(
    publicKey: Uint8Array,
    endpoints: Endpoint[],
    holdMs = 0,
    guessHost: string | null = null,
  ): Connection | null {
    const address = addressOfKey(publicKey);
    if (address === this.address || this.#closed) return null;
    const keyText = publicKey.toBase64();
    const existing = this.conns.get(keyText);
    if (existing && !Number.isFinite(existing.closingSince)) {
      // Not linked yet: punch again with what this Connect-To-Me says, now.
      if (!existing.up) this.links.addPeerAt(publicKey, endpoints, holdMs, guessHost);
      return existing;
    }
    // A connection we are closing is no good for a new purpose: start afresh.
    if (existing) this.disconnect(existing, false);
    if (this.conns.size >= this.tuning.maxConnections) return null;
    const peer = this.links.addPeerAt(publicKey, endpoints, holdMs, guessHost);
    const conn = new Connection(peer, address, this.now());
    this.conns.set(keyText, conn);
    if (peer.current) this.#peerUp(peer);
    return conn;
  }

  /** A fixed link configured by the operator: kept (and retried) for as long as the node runs. */
  connectFixed(publicKey: Uint8Array, endpoint: Endpoint): void {
    const conn = this.connect(publicKey, [endpoint]);
    if (conn) conn.wantFixed = true;
  }

  /** Closes a connection: tells the peer when `polite`, forgets the link. */
  disconnect(conn: Connection, polite: boolean): void {
    if (polite && conn.up) {
      // Tell the peer, stop routing through the link, and keep it a moment longer so that
      // messages the peer sent before it heard us still arrive.
      this.sendOneHop(conn, OverlayKind.Close, NO_BODY);
      return this.#linger(conn);
    }
    this.conns.delete(conn.peer.keyText);
    this.links.removePeer(conn.peer);
    if (conn.up) {
      conn.up = false;
      this.#rebuildRoutes();
    }
  }

  /** Takes `conn` out of routing and forgets it after `closeLingerMs` (see `forgetClosed`). */
  #linger(conn: Connection): void {
    if (Number.isFinite(conn.closingSince)) return;
    const wasUp = conn.up;
    conn.up = false;
    conn.closingSince = this.now();
    if (wasUp) this.#rebuildRoutes();
  }

  /** Sends a Connect-To-Me (see `ConnectToMe.request`). */
  requestConnection(
    target: OverlayAddress,
    purpose: ConnectPurpose,
    firstHop?: "random" | Connection,
  ): void {
    this.#ctm.request(target, purpose, firstHop);
  }

  /** Connect-To-Me requests of `purpose` still awaiting a reply. */
  pendingRequests(purpose: ConnectPurpose): number {
    return this.#ctm.pending(purpose);
  }

  /** Sends a one-hop message to a directly connected peer. */
  sendOneHop(conn: Connection, kind: number, body: Uint8Array): void {
    this.transmit(conn, this.message(kind, conn.address, 0, body));
  }

  /** The connection a message would be forwarded over now, or null (delivered here, or no way). */
  nextHopOf(msg: OverlayMessage): Connection | null {
    const next = this.#decide(msg);
    return next === "deliver" || next === "unreachable" ? null : next.conn;
  }

  /**
   * Sends `inner` to its destination through `waypoint`, a node linked to that destination: the
   * message is routed to the waypoint, which hands it over its link (`OverlayKind.Forward`).
   * For answering a node that routing cannot reach yet (it is not linked to its ring
   * neighbours), through the node it asked through.
   */
  sendVia(waypoint: OverlayAddress, inner: OverlayMessage): void {
    const inside = encodeOverlayMessage(inner);
    const body = new Uint8Array(ADDRESS_BYTES + inside.length);
    body.set(addressToBytes(inner.dst), 0);
    body.set(inside, ADDRESS_BYTES);
    if (waypoint === this.address) return this.#forwardInner(body);
    this.route(this.message(OverlayKind.Forward, waypoint, 0, body));
  }

  /** A Forward message for us: hand the inner message to the node we are linked to. */
  #forwardInner(body: Uint8Array): void {
    if (body.length < ADDRESS_BYTES) return void this.stats.dropped++;
    const target = addressFromBytes(body, 0);
    const inner = decodeOverlayMessage(body.subarray(ADDRESS_BYTES));
    const conn = this.#upByAddress.get(target);
    if (!inner || inner.kind === OverlayKind.Forward || !conn || conn.address !== target) {
      return void this.stats.dropped++;
    }
    inner.hops++;
    this.transmit(conn, { ...inner, body: inner.body.slice() });
  }

  /**
   * Routes a message greedily: delivers it here, forwards it, or answers unreachable. `from` is
   * the connection it arrived over, if any.
   */
  route(msg: OverlayMessage, from?: Connection): void {
    if (msg.hops >= msg.ttl) {
      this.echoes.expired(msg); // a trace step: say where it ran out
      return void this.stats.dropped++;
    }
    const relayHop = (msg.flags & FLAG_RELAY_HOP) !== 0;
    msg.flags &= ~FLAG_RELAY_HOP;
    let next: HopChoice = (relayHop ? chooseDirectHop(this.#view(), msg) : null) ??
      this.#decide(msg);
    // Greedy distances only shrink, so a message goes back where it came from only through a
    // relay the common neighbour cannot take the last hop (its link to the target is gone):
    // relay through another, or route without it.
    for (let tries = 0; from && isOver(next, from) && tries < MAX_RELAY_BOUNCES; tries++) {
      if (!this.#relayBounced(msg.dst, from)) break;
      next = this.#decide(msg);
    }
    if (next === "deliver") return this.#deliver(msg);
    if (next === "unreachable") {
      if (!this.#secondChance(msg)) this.#unreachable(msg);
      return;
    }
    msg.hops++;
    // Our own message straight to its destination: the pair's traffic uses a shortcut.
    if (msg.src === this.address && next.address === msg.dst) this.shortcuts.noteUse(msg.dst);
    if (next.address !== next.conn.address) msg.flags |= FLAG_RELAY_HOP;
    this.transmit(next.conn, msg);
  }

  /**
   * An exact-mode message stops here, the closest node we know to its destination: once, it
   * goes on past the destination (see `secondChanceHop`). True if sent.
   */
  #secondChance(msg: OverlayMessage): boolean {
    const next = secondChanceHop(this.#view(), msg);
    if (!next) return false;
    msg.flags |= FLAG_SECOND_CHANCE;
    msg.hops++;
    this.transmit(next, msg);
    return true;
  }

  /**
   * A message for `dst` came back from `via`, through which we relay: the relayed target
   * closest to `dst` (the one routing chose) is not reached through `via` after all. True when a
   * relay was changed.
   */
  #relayBounced(dst: OverlayAddress, via: Connection): boolean {
    let chosen: OverlayAddress | null = null;
    for (const r of this.relays.entries()) {
      if (r.via !== via) continue;
      if (chosen === null || compareCloseness(dst, r.target, chosen) < 0) chosen = r.target;
    }
    if (chosen === null) return false;
    this.relays.notThrough(chosen, via);
    this.#rebuildRoutes();
    return true;
  }

  #decide(msg: OverlayMessage): HopChoice {
    return chooseHop(this.#view(), msg);
  }

  #view(): RouteView {
    return {
      self: this.address,
      addresses: this.#upAddresses,
      directAddresses: this.#directAddresses,
      byAddress: this.#upByAddress,
      suspects: this.#suspects,
    };
  }

  /** A new message from this node. */
  message(kind: number, dst: OverlayAddress, flags: number, body: Uint8Array): OverlayMessage {
    return { kind, flags, hops: 0, ttl: DEFAULT_TTL, src: this.address, dst, body };
  }

  /** Sends `msg` over `conn` as it is (the caller has counted the hop). */
  transmit(conn: Connection, msg: OverlayMessage): void {
    msg.flags &= ~FLAG_HOP_ACK;
    if (ROUTED_KINDS.has(msg.kind) && this.#hopWatch.watch(conn, msg)) msg.flags |= FLAG_HOP_ACK;
    const bytes = encodeOverlayMessage(msg);
    this.stats.messagesSent++;
    this.stats.bytesSent += bytes.length;
    this.links.sendOverlay(conn.peer, bytes);
  }

  #receive(peer: Peer, bytes: Uint8Array): void {
    const msg = decodeOverlayMessage(bytes);
    const conn = this.conns.get(peer.keyText);
    if (!msg || !conn) return void this.stats.dropped++;
    this.stats.messagesReceived++;
    this.stats.bytesReceived += bytes.length;
    if ((msg.flags & FLAG_HOP_ACK) !== 0) this.sendOneHop(conn, OverlayKind.HopAck, NO_BODY);
    switch (msg.kind) {
      case OverlayKind.HopAck:
        return; // its arrival was the point
      case OverlayKind.Neighbours:
      case OverlayKind.NeighboursAnswer: {
        const heard = readNeighbours(msg.body);
        if (!heard) return void this.stats.dropped++;
        const fromNeighbour = msg.kind === OverlayKind.Neighbours;
        if (fromNeighbour) conn.remoteNearAt = this.now();
        conn.remoteBehindNat = heard.senderBehindNat;
        return this.#maintenance.heardNeighbours(conn, heard.list, fromNeighbour);
      }
      case OverlayKind.Leave:
        this.disconnect(conn, false);
        return this.#maintenance.consider(this.#nodeList(msg.body));
      case OverlayKind.Close:
        // Stop routing through it, but keep it a moment: messages the peer sent just before its
        // Close may arrive after it (datagrams reorder).
        return this.#linger(conn);
      default:
        // A routed message: copy the body out of the receive buffer before it is reused.
        return this.route({ ...msg, body: msg.body.slice() }, conn);
    }
  }

  #nodeList(body: Uint8Array): NodeInfo[] {
    const r = readNodeList(body, 0);
    if (!r) this.stats.dropped++;
    return r?.list ?? [];
  }

  #deliver(msg: OverlayMessage): void {
    if (msg.hops === 1) this.shortcuts.noteUse(msg.src);
    switch (msg.kind) {
      case OverlayKind.Data:
        return this.#onDeliver({
          src: msg.src,
          dst: msg.dst,
          hops: msg.hops,
          payload: msg.body,
        });
      case OverlayKind.ConnectRequest:
        return this.#ctm.answer(msg);
      case OverlayKind.ConnectReply:
        return this.#ctm.answered(msg);
      case OverlayKind.Unreachable:
        return this.#onUnreachable({ dst: msg.dst, payload: msg.body });
      case OverlayKind.Forward:
        return this.#forwardInner(msg.body);
      case OverlayKind.EchoRequest:
      case OverlayKind.EchoReply:
      case OverlayKind.Expired:
        return this.echoes.delivered(msg);
      default: {
        const handler = this.#services.get(msg.kind);
        if (!handler) return void this.stats.dropped++;
        return handler({ src: msg.src, dst: msg.dst, hops: msg.hops, payload: msg.body });
      }
    }
  }

  #unreachable(msg: OverlayMessage): void {
    this.stats.dropped++;
    if (msg.kind !== OverlayKind.Data || msg.src === this.address) return;
    this.route(this.message(OverlayKind.Unreachable, msg.src, 0, msg.body));
  }

  #peerUp(peer: Peer): void {
    let conn = this.conns.get(peer.keyText);
    if (!conn) {
      // An incoming link we did not ask for (the peer connected to us).
      conn = new Connection(peer, addressOfKey(peer.publicKey), this.now());
      this.conns.set(peer.keyText, conn);
    }
    if (conn.up || Number.isFinite(conn.closingSince)) return;
    conn.up = true;
    conn.since = this.now();
    this.#rebuildRoutes();
    this.#maintenance.linkUp(conn);
    this.#ctm.linkUp(conn);
  }

  /**
   * A new handshake with a peer whose link we are closing (or that told us it closed it): the
   * peer wants the link again, so it is up again. Without this the linger would end by removing
   * the peer and its new session, and the other side would send into a dead link until its
   * keepalive timeout.
   */
  #peerRenewed(peer: Peer): void {
    const conn = this.conns.get(peer.keyText);
    if (!conn || !Number.isFinite(conn.closingSince)) return;
    conn.closingSince = Infinity;
    this.#peerUp(peer);
  }

  #peerDown(peer: Peer): void {
    const conn = this.conns.get(peer.keyText);
    if (!conn) return;
    this.#noteLost(conn.address);
    if (!conn.wantFixed) return this.disconnect(conn, false);
    conn.up = false; // the link layer keeps retrying a fixed link
    this.#rebuildRoutes();
  }

  /** True when `address` is among the nearest we reach on its side of the ring. */
  isNear(address: OverlayAddress): boolean {
    return this.#maintenance.isNear(address);
  }

  /** True when our link to `address` went dead (silent) within `LOST_MEMORY_MS`. */
  lostRecently(address: OverlayAddress): boolean {
    const at = this.#lost.get(address);
    return at !== undefined && this.now() - at < LOST_MEMORY_MS;
  }

  #noteLost(address: OverlayAddress): void {
    const now = this.now();
    for (const [a, at] of this.#lost) if (now - at >= LOST_MEMORY_MS) this.#lost.delete(a);
    if (this.#lost.size < MAX_LOST_REMEMBERED) this.#lost.set(address, now);
  }

  /** Closed connections whose linger time is over are forgotten (called each round). */
  forgetClosed(): void {
    for (const conn of [...this.conns.values()]) {
      if (this.now() - conn.closingSince >= this.tuning.closeLingerMs) this.disconnect(conn, false);
    }
  }

  /**
   * Routes: every up connection, and every relayed neighbour mapped to the connection it is
   * reached through (that common neighbour forwards the message the last hop).
   */
  #rebuildRoutes(): void {
    this.#upByAddress = new Map();
    for (const c of this.conns.values()) if (c.up) this.#upByAddress.set(c.address, c);
    this.#directAddresses = [...this.#upByAddress.keys()];
    for (const r of this.relays?.entries() ?? []) {
      if (r.via.up && !this.#upByAddress.has(r.target)) this.#upByAddress.set(r.target, r.via);
    }
    this.#upAddresses = [...this.#upByAddress.keys()];
  }

  /**
   * A live peer sends at least a keepalive every `keepaliveIntervalMs`; one silent for longer
   * than `suspectAfterMs` has probably crashed, so routes avoid it until the link layer decides
   * (after `deadAfterMs`). This keeps messages out of dead links for most of that time.
   */
  #refreshSuspects(): void {
    const now = this.now();
    const suspects = new Set<OverlayAddress>();
    const t = this.tuning;
    for (const c of this.#upByAddress.values()) {
      const limit = c.relaxed ? t.relaxedLink.suspectAfterMs : t.suspectAfterMs;
      const silent = now - c.peer.lastReceivedAt > limit;
      if (silent || this.#hopWatch.failed(c)) suspects.add(c.address);
    }
    this.#hopWatch.prune(this.#upByAddress);
    this.#suspects = suspects;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = this.#opts.clock.setTimer(delayMs, () => {
      this.#refreshSuspects();
      this.#maintenance.run();
      this.shortcuts.maintain();
      this.#ctm.maintain();
      const relayed = this.relays.size;
      this.relays.maintain(new Set(this.#directAddresses));
      if (relayed > 0 || this.relays.size > 0) this.#rebuildRoutes();
      this.#schedule(this.tuning.maintenanceMs);
    });
  }

  /** For logs: the short hex of this node's address. */
  toString(): string {
    return addressToHex(this.address).slice(0, 8);
  }
}

/** True when `next` forwards over `conn`. */
function isOver(next: HopChoice, conn: Connection): boolean {
  return typeof next !== "string" && next.conn === conn;
}
