import { addressOfKey, type OverlayAddress } from "./address.ts";
import type { Connection } from "./connection.ts";
import {
  type ConnectBody,
  ConnectPurpose,
  decodeConnectBody,
  encodeConnectBody,
} from "./ctm_body.ts";
import {
  FLAG_NEAREST,
  FLAG_NOT_TO_SOURCE,
  OverlayKind,
  type OverlayMessage,
} from "./overlay_message.ts";
import type { NodeInfo } from "./node_info.ts";
import { natHostOf } from "../link/birthday.ts";
import type { OverlayNode } from "./overlay_node.ts";
import type { RingMaintenance } from "./ring_maintenance.ts";

/**
 * How long the answerer of a Connect-To-Me waits before it sends handshakes itself, when the
 * requester's do not arrive (the requester sends as soon as it has the answer).
 */
export const PUNCH_HOLD_MS = 1_000;

/**
 * Birthday punching (`lib/link/birthday.ts`): how long the cone side waits before its first
 * wave of guesses, so that the other side's fan of sockets is open when they arrive (it opens
 * when our answer reaches it).
 */
export const FAN_LEAD_MS = 300;

/** Requests kept while this node is still joining. */
export const MAX_DEFERRED_REQUESTS = 16;

/** Answers kept for links still coming up (a burst of joins at one node). */
export const MAX_ANSWERS_AWAITING_LINK = 64;

/**
 * How long an answer sent the direct way waits for its link before it is routed after all (the
 * requester said it is public but our handshakes do not reach it).
 */
export const DIRECT_REPLY_WAIT_MS = 2_000;

/**
 * An answer kept for the link to its requester: when it was kept, the requester's first hop
 * (`via`), and whether it was routed already.
 */
interface AwaitingAnswer {
  msg: OverlayMessage;
  at: number;
  via: OverlayAddress | null;
  routed: boolean;
}

interface PendingRequest {
  purpose: ConnectPurpose;
  sentAt: number;
}

/**
 * Connect-To-Me: a node asks, through the overlay, the node nearest some address to link to
 * it. The request carries the requester's key and endpoints; the answer, routed back exactly,
 * carries the answerer's and its nearest neighbours (so a joining node learns its whole
 * neighbourhood at once). Both sides then link directly.
 */
export class ConnectToMe {
  readonly #pending = new Map<number, PendingRequest>();
  /**
   * Answers waiting for the link to their requester: answers sent the direct way, and routed
   * answers that greedy routing may have brought back here (we are the node nearest the
   * requester, which is why it asked us, and until our link to it is up we know no way to it).
   * Either way the answer goes over the link when it comes up.
   */
  readonly #awaitingLink = new Map<OverlayAddress, AwaitingAnswer>();
  /** Requests for others that reached us while we were still joining (see `answer`). */
  readonly #deferred: { msg: OverlayMessage; at: number }[] = [];

  constructor(
    private readonly node: OverlayNode,
    private readonly maintenance: RingMaintenance,
  ) {}

  /**
   * Sends a request for `purpose`, routed to the node nearest `target` other than us. With
   * `firstHop` ("random" or a connection), the first hop is that connection instead of the
   * greedy choice: greedy routing from another start escapes a wrong local minimum (two
   * interleaved rings, or two rings that met again after a partition).
   */
  request(target: OverlayAddress, purpose: ConnectPurpose, firstHop?: "random" | Connection): void {
    const node = this.node;
    let token = node.rng.uint32();
    while (this.#pending.has(token)) token = node.rng.uint32();
    this.#pending.set(token, { purpose, sentAt: node.now() });
    const flags = FLAG_NEAREST | FLAG_NOT_TO_SOURCE;
    const probe = node.message(OverlayKind.ConnectRequest, target, flags, new Uint8Array(0));
    const ups = node.upAddresses;
    const chosen = firstHop !== "random"
      ? firstHop
      : ups.length > 0
      ? node.upByAddress.get(ups[node.rng.uint32() % ups.length]!)
      : undefined;
    const via = chosen?.up ? chosen : node.nextHopOf(probe);
    // The first hop is linked to us: the answer is sent through it too (see `answer`).
    const body = encodeConnectBody(
      { purpose, token, sender: node.selfInfo(), hints: [], via: via?.address ?? null },
      false,
    );
    const msg = node.message(OverlayKind.ConnectRequest, target, flags, body);
    if (!via) return node.route(msg);
    msg.hops++;
    node.transmit(via, msg);
  }

  /** Requests of `purpose` still awaiting an answer (forgetting those too old to come). */
  pending(purpose: ConnectPurpose): number {
    const now = this.node.now();
    let n = 0;
    for (const [token, p] of this.#pending) {
      if (now - p.sentAt > this.node.tuning.connectTimeoutMs) this.#pending.delete(token);
      else if (p.purpose === purpose) n++;
    }
    return n;
  }

  /**
   * A request delivered here: answer it and link to the requester.
   *
   * A requester that says it has no NAT in front of it can take our handshake first: we link
   * to it at once and send the answer over the new link (one hop, instead of routing it back
   * over the ~log N hops the request took). Otherwise (see `#answerThroughOverlay`) the answer is
   * routed and the requester's handshakes come first.
   */
  answer(msg: OverlayMessage): void {
    const node = this.node;
    const req = decodeConnectBody(msg.body, false);
    if (!req || addressOfKey(req.sender.publicKey) !== msg.src) return void node.stats.dropped++;
    if (req.via != null && req.via !== node.address) node.relays.learnFirstHop(msg.src, req.via);
    // A node still joining is not in the ring: it would answer with no neighbours worth the
    // name, and two joiners that bootstrap from each other would make a ring of their own. It
    // keeps the request and routes it on once it has joined (see `maintain`).
    if (!this.maintenance.isJoined) return this.#defer(msg);
    const reply = node.message(OverlayKind.ConnectReply, msg.src, 0, this.#replyBody(req));
    const direct = req.sender.behindNat !== true && req.sender.endpoints.length > 0;
    if (!direct) return this.#answerThroughOverlay(req, reply);
    const conn = node.connect(req.sender.publicKey, req.sender.endpoints);
    if (!conn) return this.#answerThroughOverlay(req, reply);
    this.#noteRequest(conn, req);
    if (conn.up) return this.#sendOverLink(conn, reply);
    // Routed after all if the link does not come up soon (see `maintain`).
    if (!this.#awaitLink(conn.address, reply, req.via ?? null, false)) {
      this.#routeReply(req.via ?? null, reply);
    }
  }

  /**
   * The answer for a requester behind a NAT. Hole punching: open our NAT toward the requester
   * first (primers that expire on the way), route the answer, and let the requester's handshakes
   * come first (it sends when it has our answer). A node known to be public has no NAT to open,
   * and its primers would not expire on the way: one hop from the requester's NAT, they reach
   * it, and that early arrival makes the NAT remap the requester's port toward us (and, as its
   * newest mapping, toward later peers too).
   */
  #answerThroughOverlay(req: ConnectBody, reply: OverlayMessage): void {
    const node = this.node;
    if (!this.maintenance.knownPublic) node.links.prime(req.sender.endpoints);
    this.#fanOutFor(req.sender); // before the answer: the requester guesses when it has it
    this.#routeReply(req.via ?? null, reply);
    const guess = this.#guessHostOf(req.sender);
    const hold = guess === null ? PUNCH_HOLD_MS : FAN_LEAD_MS;
    const conn = node.connect(req.sender.publicKey, req.sender.endpoints, hold, guess);
    if (!conn) return;
    this.#noteRequest(conn, req);
    if (!conn.up) this.#awaitLink(conn.address, reply, null, true);
  }

  #replyBody(req: ConnectBody): Uint8Array {
    return encodeConnectBody({
      purpose: req.purpose,
      token: req.token,
      sender: this.node.selfInfo(),
      hints: this.maintenance.nearInfos(),
      // A requester that cannot link to us (NATs that no punching gets through) relays through
      // one of our links that it is linked to as well, or links to one without a NAT for that.
      links: this.maintenance.otherLinkInfos(),
    }, true);
  }

  /**
   * Routes the answer to the requester and, since it may not be reachable by routing yet
   * (behind a NAT, not linked to its neighbours), through its first hop, which is linked to it.
   */
  #routeReply(via: OverlayAddress | null, reply: OverlayMessage): void {
    this.node.route({ ...reply });
    if (via !== null && via !== reply.dst) this.node.sendVia(via, { ...reply });
  }

  /** What the request tells about the link to the requester. */
  #noteRequest(conn: Connection, req: ConnectBody): void {
    learnNat(conn, req.sender);
    if (req.purpose === ConnectPurpose.Far) conn.remoteFar = true;
    if (req.purpose === ConnectPurpose.Shortcut) conn.remoteShortcut = true;
    if (req.purpose === ConnectPurpose.Near) conn.remoteNearAt = this.node.now();
    this.maintenance.classify(conn);
  }

  #sendOverLink(conn: Connection, reply: OverlayMessage): void {
    reply.hops = 1;
    this.node.transmit(conn, reply);
  }

  /** A link came up: send the answers that were waiting for it over it. */
  linkUp(conn: Connection): void {
    const waiting = this.#awaitingLink.get(conn.address);
    if (!waiting) return;
    this.#awaitingLink.delete(conn.address);
    this.#sendOverLink(conn, waiting.msg);
  }

  /**
   * Called each maintenance round: answers kept only for a link that has not come up within
   * `DIRECT_REPLY_WAIT_MS` are routed after all (the requester was not reachable directly).
   */
  maintain(): void {
    const now = this.node.now();
    if (this.#deferred.length > 0 && this.maintenance.isJoined) {
      for (const d of this.#deferred.splice(0)) {
        if (now - d.at < this.node.tuning.connectTimeoutMs) this.node.route(d.msg);
      }
    }
    for (const w of this.#awaitingLink.values()) {
      if (w.routed || now - w.at < DIRECT_REPLY_WAIT_MS) continue;
      w.routed = true;
      this.#routeReply(w.via, w.msg);
    }
  }

  /** Keeps a request that reached us before we joined (bounded: the oldest goes first). */
  #defer(msg: OverlayMessage): void {
    if (this.#deferred.length >= MAX_DEFERRED_REQUESTS) {
      this.#deferred.shift();
      this.node.stats.dropped++;
    }
    this.#deferred.push({ msg, at: this.node.now() });
  }

  /** Keeps `msg` for the link to `address`; false when there is no room. */
  #awaitLink(
    address: OverlayAddress,
    msg: OverlayMessage,
    via: OverlayAddress | null,
    routed: boolean,
  ): boolean {
    const now = this.node.now();
    for (const [a, w] of this.#awaitingLink) {
      if (now - w.at > this.node.tuning.connectTimeoutMs) this.#awaitingLink.delete(a);
    }
    if (this.#awaitingLink.size >= MAX_ANSWERS_AWAITING_LINK) return false;
    this.#awaitingLink.set(address, { msg, at: now, via, routed });
    return true;
  }

  /**
   * Birthday punching, our side being behind a NAT that maps per destination: a fan of sockets
   * toward a peer behind another NAT that can guess its ports (not linked to us yet).
   */
  #fanOutFor(peer: NodeInfo): void {
    const node = this.node;
    if (!node.fansOut || peer.behindNat !== true || peer.fansOut === true) return;
    const address = addressOfKey(peer.publicKey);
    if (node.upByAddress.get(address)?.address === address) return; // linked directly already
    // The link layer's peer is made here (`connect` takes it over): not when no connection can be.
    if (node.conns.size >= node.tuning.maxConnections) return;
    node.links.fanOut(peer.publicKey, peer.endpoints);
  }

  /** Birthday punching, our side behind a cone NAT: the peer's NAT address to guess at, or null. */
  #guessHostOf(peer: NodeInfo): string | null {
    return peer.fansOut === true && this.node.behindConeNat ? natHostOf(peer.endpoints) : null;
  }

  /** An answer delivered here: link to the answerer and consider its neighbours. */
  answered(msg: OverlayMessage): void {
    const node = this.node;
    const reply = decodeConnectBody(msg.body, true);
    if (!reply || addressOfKey(reply.sender.publicKey) !== msg.src) {
      return void node.stats.dropped++;
    }
    const pending = this.#pending.get(reply.token);
    if (!pending) return;
    this.#pending.delete(reply.token);
    this.#fanOutFor(reply.sender);
    const guess = this.#guessHostOf(reply.sender);
    const conn = node.connect(reply.sender.publicKey, reply.sender.endpoints, 0, guess);
    if (conn) learnNat(conn, reply.sender);
    if (conn && pending.purpose === ConnectPurpose.Far) conn.wantFar = true;
    if (conn && pending.purpose === ConnectPurpose.Shortcut) conn.wantShortcut = true;
    if (conn) this.maintenance.classify(conn);
    if (pending.purpose === ConnectPurpose.Near) this.maintenance.joined();
    node.relays.learnLinks(msg.src, [...reply.hints, ...reply.links ?? []]);
    this.maintenance.consider(reply.hints);
  }
}

/** The other side's word on its NAT, from its introduction in a Connect-To-Me. */
function learnNat(conn: Connection, sender: NodeInfo): void {
  conn.remoteBehindNat = sender.behindNat === true;
}
