import { addressOfKey, type OverlayAddress } from "./address.ts";
import type { Connection } from "./connection.ts";
import { ConnectPurpose, decodeConnectBody, encodeConnectBody } from "./ctm_body.ts";
import {
  FLAG_NEAREST,
  FLAG_NOT_TO_SOURCE,
  OverlayKind,
  type OverlayMessage,
} from "./overlay_message.ts";
import type { NodeInfo } from "./node_info.ts";
import type { OverlayNode } from "./overlay_node.ts";
import type { RingMaintenance } from "./ring_maintenance.ts";

/**
 * How long the answerer of a Connect-To-Me waits before it sends handshakes itself, when the
 * requester's do not arrive (the requester sends as soon as it has the answer).
 */
export const PUNCH_HOLD_MS = 1_000;

/** Answers kept for links still coming up (a burst of joins at one node). */
export const MAX_ANSWERS_AWAITING_LINK = 64;

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
   * Answers waiting for the link to their requester. The answer is routed at once, but greedy
   * routing may end here: we are the node nearest the requester (that is why it asked us), and
   * until our link to it is up we know no way to it. Then the answer goes over that link.
   */
  readonly #awaitingLink = new Map<OverlayAddress, { msg: OverlayMessage; at: number }>();

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

  /** A request delivered here: answer it and link to the requester. */
  answer(msg: OverlayMessage): void {
    const node = this.node;
    const req = decodeConnectBody(msg.body, false);
    if (!req || addressOfKey(req.sender.publicKey) !== msg.src) return void node.stats.dropped++;
    const body = encodeConnectBody({
      purpose: req.purpose,
      token: req.token,
      sender: node.selfInfo(),
      hints: this.maintenance.nearInfos(),
      // A requester that cannot link to us (NATs that no punching gets through) relays through
      // one of our links that it is linked to as well, or links to one without a NAT for that.
      links: this.maintenance.otherLinkInfos(),
    }, true);
    // Hole punching: open our NAT toward the requester first (primers that expire on the way),
    // answer, and let the requester's handshakes come first (it sends when it has our answer).
    // A node known to be public has no NAT to open, and its primers would not expire on the
    // way: one hop from the requester's NAT, they reach it, and that early arrival makes the NAT
    // remap the requester's port toward us (and, as its newest mapping, toward later peers too).
    if (!this.maintenance.knownPublic) node.links.prime(req.sender.endpoints);
    const reply = node.message(OverlayKind.ConnectReply, msg.src, 0, body);
    node.route({ ...reply });
    // The requester may not be reachable by routing yet (behind a NAT, not linked to its
    // neighbours): its first hop is linked to it.
    if (req.via != null && req.via !== msg.src) node.sendVia(req.via, { ...reply });
    const conn = node.connect(req.sender.publicKey, req.sender.endpoints, PUNCH_HOLD_MS);
    if (!conn) return;
    learnNat(conn, req.sender);
    if (!conn.up) this.#awaitLink(conn.address, reply);
    if (req.purpose === ConnectPurpose.Far) conn.remoteFar = true;
    if (req.purpose === ConnectPurpose.Shortcut) conn.remoteShortcut = true;
    if (req.purpose === ConnectPurpose.Near) conn.remoteNearAt = node.now();
  }

  /** A link came up: send the answers that were waiting for it over it. */
  linkUp(conn: Connection): void {
    const waiting = this.#awaitingLink.get(conn.address);
    if (!waiting) return;
    this.#awaitingLink.delete(conn.address);
    waiting.msg.hops = 1;
    this.node.transmit(conn, waiting.msg);
  }

  #awaitLink(address: OverlayAddress, msg: OverlayMessage): void {
    const now = this.node.now();
    for (const [a, w] of this.#awaitingLink) {
      if (now - w.at > this.node.tuning.connectTimeoutMs) this.#awaitingLink.delete(a);
    }
    if (this.#awaitingLink.size >= MAX_ANSWERS_AWAITING_LINK) return;
    this.#awaitingLink.set(address, { msg, at: now });
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
    const conn = node.connect(reply.sender.publicKey, reply.sender.endpoints);
    if (conn) learnNat(conn, reply.sender);
    if (conn && pending.purpose === ConnectPurpose.Far) conn.wantFar = true;
    if (conn && pending.purpose === ConnectPurpose.Shortcut) conn.wantShortcut = true;
    if (pending.purpose === ConnectPurpose.Near) this.maintenance.joined();
    node.relays.learnLinks(msg.src, [...reply.hints, ...reply.links ?? []]);
    this.maintenance.consider(reply.hints);
  }
}

/** The other side's word on its NAT, from its introduction in a Connect-To-Me. */
function learnNat(conn: Connection, sender: NodeInfo): void {
  conn.remoteBehindNat = sender.behindNat === true;
}
