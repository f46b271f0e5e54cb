import { type Endpoint, sameEndpoint } from "../transport/endpoint.ts";
import { addressOfKey } from "./address.ts";
import type { LinkPace } from "../link/peer.ts";
import type { Connection } from "./connection.ts";
import { ConnectPurpose } from "./ctm_body.ts";
import { MAX_ADVERTISED_ENDPOINTS, type NodeInfo } from "./node_info.ts";
import { encodeNeighbours } from "./node_list.ts";
import { OverlayKind } from "./overlay_message.ts";
import type { OverlayNode } from "./overlay_node.ts";
import { clockwiseDistance, nearestOnEachSide, type NearSides } from "./ring.ts";
import type { OverlayAddress } from "./address.ts";
import { estimateNetworkSize } from "./size_estimate.ts";
import { farConnectionCount, farTarget } from "./symphony.ts";

/** New connections to near candidates started per maintenance round, at most. */
const MAX_NEW_NEAR_PER_ROUND = 8;
/** A would-be neighbour not linked after this long is relayed meanwhile (ms). */
const RELAY_AFTER_MS = 4_000;
/** How long a node is in the ring before it counts as settled (see `isSettled`). */
export const SETTLE_MS = 2_000;
/** Would-be neighbours asked through the overlay and not answered yet, at most. */
const MAX_ASKED = 64;
/** Least time between two near checks that a nearer link prompted. */
const NEAR_RECHECK_MIN_MS = 2_000;
/** Direct links named in a Connect-To-Me answer besides the near set (see `otherLinkInfos`). */
const OTHER_LINKS_NAMED = 8;

/**
 * Keeps a node's place in the ring: joins through the bootstrap nodes, keeps the nearest
 * neighbours on each side (learning candidates from neighbours' gossip, from Connect-To-Me
 * replies and from leaving nodes), keeps about log2(N) far connections, and closes connections
 * nobody needs. It runs on the node's maintenance timer and on link events.
 */
export class RingMaintenance {
  #bootstrap: Endpoint[] = [];
  #joined = false;
  #joinedAt = Infinity;
  #lastProbeAt = -Infinity;
  #lastJoinAt = -Infinity;
  #lastGossipAt = -Infinity;
  #nextNearCheckAt = Infinity;
  #nextBootstrapCheckAt = Infinity;
  #near = new Set<Connection>();
  /** Our relayed near neighbours, as we introduce them (see `nearInfos`). */
  #nearRelayed: NodeInfo[] = [];
  #nearChanged = false;
  #newThisRound = 0;
  /** A link nearer than our nearest on its side came up since the last near check. */
  #nearestMoved = false;
  #lastNearCheckAt = -Infinity;
  /** Connect-To-Me requests sent to would-be neighbours, by target (see `consider`). */
  readonly #asked = new Map<OverlayAddress, number>();
  estimatedSize = 1;

  /** Fast keepalives, relaxed timeout (a link only we need to be fast). */
  readonly #lenientPace: LinkPace;
  /** The relaxed pace (see `OverlayTuning.relaxedLink`). */
  readonly #relaxedPace: LinkPace;

  constructor(private readonly node: OverlayNode) {
    const t = node.tuning;
    const deadAfterMs = t.relaxedLink.deadAfterMs;
    this.#relaxedPace = { keepaliveIntervalMs: t.relaxedLink.keepaliveIntervalMs, deadAfterMs };
    this.#lenientPace = {
      keepaliveIntervalMs: t.link.keepaliveIntervalMs ?? node.links.tuning.keepaliveIntervalMs,
      deadAfterMs,
    };
  }

  /** Where to join; none means this node founds the overlay (and counts as joined). */
  setBootstrap(endpoints: Endpoint[]): void {
    this.#bootstrap = endpoints;
    if (endpoints.length === 0) this.joined();
  }

  /** True once the node is in the ring (or founded it). */
  get isJoined(): boolean {
    return this.#joined;
  }

  /**
   * True once the node has been in the ring for `SETTLE_MS` and is linked on both sides (or is
   * alone): its view of its neighbourhood is then complete enough to coordinate DHT keys and
   * to claim an address. A node that has just joined knows only part of its neighbourhood,
   * and a claim it coordinates itself would ask the wrong replicas.
   */
  get isSettled(): boolean {
    if (!this.#joined) return false;
    // A founder alone is the whole overlay: nothing to wait for.
    if (this.node.upAddresses.length === 0) return this.#bootstrap.length === 0;
    if (this.node.now() - this.#joinedAt < SETTLE_MS) return false;
    // In a ring of two, the one other node is the neighbour on both sides.
    if (this.node.upAddresses.length === 1) return true;
    const sides = nearestOnEachSide(this.node.address, this.node.upAddresses, 1);
    return sides.clockwise.length > 0 && sides.counterClockwise.length > 0;
  }

  /** The Connect-To-Me to our own address was answered: we are in the ring. */
  joined(): void {
    if (!this.#joined) {
      this.#joinedAt = this.node.now();
      this.#scheduleNearCheck();
      const t = this.node.tuning;
      this.#nextBootstrapCheckAt = this.node.now() + this.#jittered(t.bootstrapCheckMs);
    }
    this.#joined = true;
  }

  #scheduleNearCheck(): void {
    this.#nextNearCheckAt = this.node.now() + this.#jittered(this.node.tuning.nearCheckMs);
  }

  /** A random duration in [period/2, 3·period/2): periodic work without synchronised waves. */
  #jittered(period: number): number {
    return period / 2 + (this.node.rng.uint32() / 2 ** 32) * period;
  }

  /** The endpoints we advertise: our own if it is specific, else those peers saw us at. */
  advertised(): Endpoint[] {
    const links = this.node.links;
    const local = links.localEndpoint;
    const wildcard = local.host === "0.0.0.0" || local.host === "::";
    return wildcard ? [...links.reflexiveEndpoints] : [local, ...links.reflexiveEndpoints];
  }

  /**
   * Node infos of our near neighbours (see `infoOf`), relayed ones included, marked as such: a
   * neighbour that nobody lists because everyone reaches it through a relay would never be
   * heard of by the node on its other side (two hosts behind symmetric NATs, side by side).
   */
  nearInfos(): NodeInfo[] {
    return [...[...this.#near].map(infoOf), ...this.#nearRelayed];
  }

  /** Node infos of up to `max` of our direct links outside the near set. */
  otherLinkInfos(max = OTHER_LINKS_NAMED): NodeInfo[] {
    const out: NodeInfo[] = [];
    for (const c of this.node.conns.values()) {
      if (out.length >= max) break;
      if (c.up && !this.#near.has(c) && c.peer.endpoint) out.push(infoOf(c));
    }
    return out;
  }

  /** A link came up. */
  linkUp(conn: Connection): void {
    if (!this.#joined && this.node.now() - this.#lastJoinAt >= this.node.tuning.joinRetryMs) {
      this.#sendJoin();
    } else if (this.#joined && conn.wantLeaf) {
      // Back in touch with a bootstrap node while in a ring: ask through it who is nearest to
      // us, which merges our ring with its ring if they were apart (a healed partition).
      this.node.requestConnection(this.node.address, ConnectPurpose.Near, conn);
    }
    this.#refreshNear(conn);
  }

  /** An up link to a bootstrap node, if any. */
  #upLeaf(): Connection | undefined {
    for (const c of this.node.conns.values()) if (c.up && c.wantLeaf) return c;
    return undefined;
  }

  #hasLeaf(): boolean {
    for (const c of this.node.conns.values()) if (c.wantLeaf) return true;
    return false;
  }

  /**
   * A peer sent us its neighbour list (it counts us among its nearest; or, with `answer`
   * false, it answered ours). When we do not count it among ours, we answer with our list: the
   * nodes between us that it does not know yet. The list also tells who it is linked to (for
   * relays).
   */
  heardNeighbours(from: Connection, list: readonly NodeInfo[], answer = true): void {
    from.heardNear = list.filter((i) => !i.relayed).map((i) => addressOfKey(i.publicKey));
    from.heardNearAt = this.node.now();
    this.consider(list, from);
    if (answer && !this.#near.has(from)) {
      const body = encodeNeighbours(this.nearInfos(), this.behindNat);
      this.node.sendOneHop(from, OverlayKind.NeighboursAnswer, body);
    }
  }

  /** Candidate nodes heard of: connect to those that would be among our nearest. */
  consider(list: readonly NodeInfo[], from?: Connection): void {
    const node = this.node;
    const k = node.tuning.nearPerSide;
    const known = [...node.conns.values()].map((c) => c.address);
    let sides = nearestOnEachSide(node.address, known, k);
    for (const info of list) {
      if (this.#newThisRound >= MAX_NEW_NEAR_PER_ROUND) return;
      if (node.conns.has(info.publicKey.toBase64())) continue;
      const address = addressOfKey(info.publicKey);
      if (node.relays.has(address)) continue; // the relay retries a direct link itself
      if (address === node.address || !wouldBeNear(node.address, address, sides, k)) continue;
      if (this.behindNat || info.behindNat) {
        // Ask through the overlay, so that the other side primes its NAT before our handshakes
        // reach it (see `ConnectToMe.answer`). A handshake that reaches a NAT before its host
        // sent anything our way leaves an entry there that makes the NAT remap the host's port.
        // Through the node that named it, which reaches it: greedy routing from here could
        // end short of it when our side of the ring has a gap there.
        if (this.#askThroughOverlay(address, from)) this.#newThisRound++;
        continue;
      }
      if (node.connect(info.publicKey, info.endpoints)) {
        known.push(address);
        sides = nearestOnEachSide(node.address, known, k);
        this.#newThisRound++;
      }
    }
  }

  /** One maintenance round. */
  run(): void {
    const node = this.node;
    const now = node.now();
    const t = node.tuning;
    this.#newThisRound = 0;
    node.forgetClosed();
    // Not joined and not linked to a bootstrap node (its link failed): links to nodes that
    // bootstrapped from us do not help, they wait for us as we wait for them. Try it again.
    const noLeaf = node.upAddresses.length === 0 || (!this.#joined && !this.#upLeaf());
    if (noLeaf && this.#bootstrap.length > 0 && now - this.#lastProbeAt >= t.joinRetryMs) {
      this.#probeBootstrap();
    }
    if (!this.#joined && now - this.#lastJoinAt >= t.joinRetryMs) this.#sendJoin();
    for (const conn of [...node.conns.values()]) {
      if (conn.up || conn.wantFixed) continue;
      const waited = now - conn.createdAt;
      // No direct link yet (NATs that no punching gets through?): a ring neighbour is relayed
      // meanwhile; the relay goes when the link comes up.
      if (waited > RELAY_AFTER_MS && this.#joined && this.#wouldBeNear(conn.address)) {
        if (!node.relays.offer(pendingInfo(conn))) this.#linkIntroducer(conn.address);
      }
      if (waited > t.connectTimeoutMs) node.disconnect(conn, false);
    }
    this.#refreshNear(null);
    if (this.#nearChanged || now - this.#lastGossipAt >= t.gossipMs) this.#gossip(now);
    if (this.#joined) this.#keepFar();
    const recheck = this.#nearestMoved && now - this.#lastNearCheckAt >= NEAR_RECHECK_MIN_MS;
    if (
      this.#joined && (now >= this.#nextNearCheckAt || recheck) && node.upAddresses.length > 0
    ) {
      // Ask again who is nearest to us: repairs a place in the ring that gossip cannot see
      // is wrong (a join routed through a ring that was still inconsistent).
      // Also soon after a link came up that is nearer than our nearest was: maybe more nodes
      // lie between, which gossip would only find a few a round (a node whose place filled up
      // while it was out of touch would walk to its neighbours for tens of seconds).
      this.#scheduleNearCheck();
      this.#nearestMoved = false;
      this.#lastNearCheckAt = now;
      node.requestConnection(node.address, ConnectPurpose.Near, "random");
    }
    if (this.#joined && now >= this.#nextBootstrapCheckAt && this.#bootstrap.length > 0) {
      // Rarely, touch the bootstrap nodes again: if a partition split us from their ring, the
      // leaf link brings the two rings back together (see `linkUp`).
      this.#nextBootstrapCheckAt = now + this.#jittered(t.bootstrapCheckMs);
      if (!this.#hasLeaf()) this.#probeBootstrap();
    }
    this.#trim(now);
  }

  /**
   * No common neighbour vouches for relaying to `target`: link to a node without a NAT that the
   * target says it is linked to, which then can relay (it stays while it carries the relay).
   */
  #linkIntroducer(target: OverlayAddress): void {
    const node = this.node;
    const h = node.relays.introducer(target, (info) => node.conns.has(info.publicKey.toBase64()));
    if (!h) {
      // We may not have heard the target's links at all (it asked us; we answered): ask it.
      this.#askThroughOverlay(target);
      return;
    }
    if (this.#newThisRound < MAX_NEW_NEAR_PER_ROUND && node.connect(h.publicKey, h.endpoints)) {
      this.#newThisRound++;
    }
  }

  /**
   * True when a peer sees us at an endpoint that is not our own: we are behind a NAT. (Peers on
   * our own LAN see us at our own endpoint even then: one such report does not make us public.)
   */
  get behindNat(): boolean {
    const links = this.node.links;
    return links.reflexiveEndpoints.some((e) => !sameEndpoint(e, links.localEndpoint));
  }

  /** True when peers reported our endpoint and all saw us at our own: no NAT in front of us. */
  get knownPublic(): boolean {
    return this.node.links.reflexiveEndpoints.length > 0 && !this.behindNat;
  }

  /** A Connect-To-Me to `address`, at most once per `connectTimeoutMs`. True when sent. */
  #askThroughOverlay(address: OverlayAddress, firstHop?: Connection): boolean {
    const now = this.node.now();
    const wait = this.node.tuning.connectTimeoutMs;
    for (const [a, at] of this.#asked) if (now - at >= wait) this.#asked.delete(a);
    if (this.#asked.has(address) || this.#asked.size >= MAX_ASKED) return false;
    this.#asked.set(address, now);
    this.node.requestConnection(address, ConnectPurpose.Near, firstHop);
    return true;
  }

  /** True when `address` is among the nearest we reach on its side of the ring. */
  isNear(address: OverlayAddress): boolean {
    const node = this.node;
    const sides = nearestOnEachSide(node.address, node.upAddresses, node.tuning.nearPerSide);
    return sides.clockwise.includes(address) || sides.counterClockwise.includes(address);
  }

  /** True when `address` would be among our nearest on its side of the ring. */
  #wouldBeNear(address: OverlayAddress): boolean {
    const node = this.node;
    const k = node.tuning.nearPerSide;
    const sides = nearestOnEachSide(node.address, node.upAddresses, k);
    return wouldBeNear(node.address, address, sides, k);
  }

  #probeBootstrap(): void {
    const node = this.node;
    this.#lastProbeAt = node.now();
    for (const ep of this.#bootstrap) {
      node.links.probeKey(ep, (publicKey, from) => {
        const conn = node.connect(publicKey, [from]);
        if (conn) conn.wantLeaf = true;
      });
    }
  }

  #sendJoin(): void {
    if (this.node.upAddresses.length === 0) return;
    this.#lastJoinAt = this.node.now();
    // Through the bootstrap node, which is in the ring: the greedy first hop may be a node that
    // bootstrapped from us and is no more joined than we are (it keeps our request until it has
    // joined, and we keep its: a public node and its joiners stayed an island of their own).
    this.node.requestConnection(this.node.address, ConnectPurpose.Near, this.#upLeaf());
  }

  /** Recomputes the near set; `added` is a connection that just came up. */
  #refreshNear(added: Connection | null): void {
    const node = this.node;
    const sides = nearestOnEachSide(node.address, node.upAddresses, node.tuning.nearPerSide);
    const near = new Set<Connection>();
    const nearRelayed: NodeInfo[] = [];
    for (const a of [...sides.clockwise, ...sides.counterClockwise]) {
      const conn = node.upByAddress.get(a)!;
      near.add(conn);
      // A relayed neighbour maps to the common neighbour's connection.
      const relay = conn.address === a ? undefined : node.relays.get(a);
      if (relay) nearRelayed.push({ ...relay.info, relayed: true });
    }
    const changed = near.size !== this.#near.size || [...near].some((c) => !this.#near.has(c));
    if (changed || (added && near.has(added))) this.#nearChanged = true;
    if (added && this.#near.size > 0) {
      const a = added.address;
      if (a === sides.clockwise[0] || a === sides.counterClockwise[0]) this.#nearestMoved = true;
    }
    this.#near = near;
    this.#nearRelayed = nearRelayed;
    this.estimatedSize = estimateNetworkSize(node.address, sides);
    for (const c of node.conns.values()) this.classify(c);
  }

  /**
   * Sets `c.kind` from what it is wanted for now (a Connect-To-Me answer may have changed it),
   * and its keepalive pace. A link is judged by the relaxed timeouts unless one side counts the
   * other near (the other side is told so by gossip, and then keeps it alive fast too). We keep
   * it alive fast also when we relay through it or need it to join, which its other side cannot
   * know.
   */
  classify(c: Connection): void {
    c.kind = this.#kindOf(c);
    const t = this.node.tuning;
    c.relaxed = !this.#near.has(c) && this.node.now() - c.remoteNearAt >= t.remoteNearHoldMs;
    const fast = !c.relaxed || c.wantFixed || c.wantLeaf || this.node.relays.isVia(c);
    c.peer.pace = !c.relaxed ? undefined : fast ? this.#lenientPace : this.#relaxedPace;
  }

  #kindOf(c: Connection): Connection["kind"] {
    if (this.#near.has(c)) return "near";
    if (c.wantFar || c.remoteFar) return "far";
    if (c.wantShortcut || c.remoteShortcut) return "shortcut";
    if (c.wantLeaf) return "leaf";
    if (c.wantFixed) return "fixed";
    return "other";
  }

  #gossip(now: number): void {
    this.#nearChanged = false;
    this.#lastGossipAt = now;
    const body = encodeNeighbours(this.nearInfos(), this.behindNat);
    for (const conn of this.#near) this.node.sendOneHop(conn, OverlayKind.Neighbours, body);
  }

  #keepFar(): void {
    const node = this.node;
    const want = farConnectionCount(this.estimatedSize, node.tuning.nearPerSide);
    let have = node.pendingRequests(ConnectPurpose.Far);
    for (const c of node.conns.values()) if (c.wantFar) have++;
    if (have < want && node.upAddresses.length > 0) {
      node.requestConnection(
        farTarget(node.address, this.estimatedSize, node.rng),
        ConnectPurpose.Far,
      );
    }
  }

  #trim(now: number): void {
    const node = this.node;
    const t = node.tuning;
    const inRing = this.#joined && this.#near.size >= Math.min(2, node.upAddresses.length);
    for (const conn of [...node.conns.values()]) {
      // A bootstrap link we no longer need goes at once (the bootstrap node has many joiners).
      const leafDone = conn.wantLeaf && inRing;
      if (leafDone) conn.wantLeaf = false;
      const wanted = this.#near.has(conn) || conn.wantFar || conn.remoteFar || conn.wantLeaf ||
        conn.wantFixed || conn.wantShortcut || conn.remoteShortcut || node.relays.isVia(conn);
      if (!conn.up || wanted) continue;
      if (now - conn.remoteNearAt < t.remoteNearHoldMs) continue;
      if (!leafDone && now - conn.since < t.unneededGraceMs) continue;
      node.disconnect(conn, true);
    }
  }
}

/**
 * How we introduce the node at the other end of `conn`: its key, where we see it, and "behind a
 * NAT" unless it told us otherwise (a node told "public" would send it a first handshake, whose
 * early arrival makes a NAT remap the node's port).
 */
function infoOf(c: Connection): NodeInfo {
  return {
    publicKey: c.peer.publicKey,
    endpoints: c.peer.endpoint ? [c.peer.endpoint] : [],
    ...(c.remoteBehindNat !== false ? { behindNat: true } : {}),
  };
}

/**
 * True when `candidate` would be among the `k` nearest on either side of `self`, given the
 * current `sides` (nearest first): closer than the k-th, or a side with room. Equivalent to
 * recomputing `nearestOnEachSide` with the candidate added, without the sort.
 */
function wouldBeNear(
  self: OverlayAddress,
  candidate: OverlayAddress,
  sides: NearSides,
  k: number,
): boolean {
  const cw = sides.clockwise;
  const ccw = sides.counterClockwise;
  if (cw.length < k || ccw.length < k) return true;
  const d = clockwiseDistance(self, candidate);
  if (d < clockwiseDistance(self, cw[k - 1]!)) return true;
  return clockwiseDistance(candidate, self) < clockwiseDistance(ccw[k - 1]!, self);
}

/** How we introduce a node we are still trying to link to (relayed meanwhile). */
function pendingInfo(c: Connection): NodeInfo {
  return {
    publicKey: c.peer.publicKey,
    endpoints: c.peer.candidates.slice(0, MAX_ADVERTISED_ENDPOINTS),
    ...(c.remoteBehindNat !== false ? { behindNat: true } : {}),
  };
}
