import { addressOfKey, type OverlayAddress } from "./address.ts";
import type { Connection } from "./connection.ts";
import { ConnectPurpose } from "./ctm_body.ts";
import type { NodeInfo } from "./node_info.ts";

/** Knobs of relayed connections. Durations in milliseconds. */
export interface RelayTuning {
  /** Most relayed neighbours kept. */
  maxRelays: number;
  /** A neighbour list older than this no longer vouches for a relay. */
  listFreshMs: number;
  /** How often a direct link to a relayed neighbour is tried again. */
  retryDirectMs: number;
}

/**
 * Defaults: a direct link is tried again every 30 s, within the 35 s that a target's word on its
 * links stays fresh (each retry refreshes it), so a relay it vouches for does not lapse between.
 */
export const DEFAULT_RELAY_TUNING: RelayTuning = {
  maxRelays: 16,
  listFreshMs: 35_000,
  retryDirectMs: 30_000,
};

/** Targets whose own link lists are remembered, at most. */
const MAX_LEARNED_TARGETS = 256;

/** One relayed neighbour. */
export interface Relay {
  readonly target: OverlayAddress;
  /** How the target was introduced (its neighbour lists name it, marked relayed). */
  readonly info: NodeInfo;
  /** The common neighbour the traffic goes through. */
  via: Connection;
  readonly since: number;
  retryAt: number;
}

/** The slice of `OverlayNode` relays need. */
export interface RelayHost {
  readonly conns: ReadonlyMap<string, Connection>;
  now(): number;
  /** True when `target` is among the nearest we reach on its side of the ring. */
  isNear(target: OverlayAddress): boolean;
  /** True when our direct link to `target` died (went silent) a short while ago. */
  lostRecently(target: OverlayAddress): boolean;
  requestConnection(target: OverlayAddress, purpose: ConnectPurpose): void;
}

/**
 * Neighbours we cannot link to directly (both behind NATs that no hole punching gets through,
 * or UDP blocked one way), reached through a common neighbour instead — Brunet's tunnel edges.
 * When a link to a node that would be our ring neighbour fails, and an up connection's latest
 * neighbour list names that node, the node is routed to through that connection: greedy
 * routing counts it as ours, and the common neighbour, linked to it, takes the message the last
 * hop. The ring stays whole and the virtual network reaches the node, with nobody noticing but
 * the RTT. A direct link is tried again every `retryDirectMs` (a Connect-To-Me, so hole
 * punching runs again); when one comes up the relay goes.
 */
export class Relays {
  readonly #relays = new Map<OverlayAddress, Relay>();
  /** Nodes a target told us it is linked to (its Connect-To-Me answer's hints), and when. */
  readonly #linkedTo = new Map<
    OverlayAddress,
    { list: Set<OverlayAddress>; open: NodeInfo[]; at: number }
  >();

  /** Relayed messages that came back from the common neighbour (see `notThrough`). */
  bounced = 0;

  constructor(private readonly host: RelayHost, readonly tuning: RelayTuning) {}

  /** `target` said (in a Connect-To-Me answer) that it is linked to the nodes `links`. Bounded. */
  learnLinks(target: OverlayAddress, links: readonly NodeInfo[]): void {
    if (this.#linkedTo.size >= MAX_LEARNED_TARGETS) this.#linkedTo.clear();
    const list = new Set(links.map((h) => addressOfKey(h.publicKey)));
    const open = links.filter((h) => !h.behindNat);
    this.#linkedTo.set(target, { list, open, at: this.host.now() });
  }

  /**
   * `target` sent us a Connect-To-Me through `firstHop`, one of its direct links: a common
   * neighbour to relay through if we are linked to it too (we may never hear the target's own
   * list: our requests to it can end at another node when our side of the ring has a gap there).
   */
  learnFirstHop(target: OverlayAddress, firstHop: OverlayAddress): void {
    const told = this.#linkedTo.get(target);
    if (told && this.host.now() - told.at <= this.tuning.listFreshMs) {
      told.list.add(firstHop);
      return;
    }
    if (this.#linkedTo.size >= MAX_LEARNED_TARGETS) this.#linkedTo.clear();
    this.#linkedTo.set(target, { list: new Set([firstHop]), open: [], at: this.host.now() });
  }

  /**
   * A node that `target` recently said it is linked to and that is not behind a NAT, which we
   * are not linked to yet: linking to it makes a common neighbour to relay through when none
   * vouches for `target` (a node behind a port-restricted NAT linked only to others like it,
   * next to one behind a symmetric NAT linked only to public nodes). Null when there is none.
   */
  introducer(target: OverlayAddress, isLinked: (info: NodeInfo) => boolean): NodeInfo | null {
    const told = this.#linkedTo.get(target);
    if (!told || this.host.now() - told.at > this.tuning.listFreshMs) return null;
    return told.open.find((h) => !isLinked(h)) ?? null;
  }

  /** The relay to `target`, if any. */
  get(target: OverlayAddress): Relay | undefined {
    return this.#relays.get(target);
  }

  /** True when `target` is relayed. */
  has(target: OverlayAddress): boolean {
    return this.#relays.has(target);
  }

  /** True when `conn` carries a relay. */
  isVia(conn: Connection): boolean {
    for (const r of this.#relays.values()) if (r.via === conn) return true;
    return false;
  }

  /** Relayed neighbours. */
  get size(): number {
    return this.#relays.size;
  }

  /** The relays, for routing and status. */
  entries(): IterableIterator<Relay> {
    return this.#relays.values();
  }

  /**
   * A direct link to `target` failed: relay through the up connection whose fresh neighbour
   * list names it (the one with the smallest RTT). True when a relay was set up.
   */
  offer(info: NodeInfo): boolean {
    const target = addressOfKey(info.publicKey);
    if (this.#relays.has(target)) return true;
    // A node we were linked to until it fell silent has most likely crashed: not a NAT case.
    if (this.host.lostRecently(target)) return false;
    if (this.#relays.size >= this.tuning.maxRelays && !this.#evictOneNotNear()) return false;
    const via = this.#bestVia(target);
    if (!via) return false;
    const now = this.host.now();
    const retryAt = now + this.tuning.retryDirectMs;
    this.#relays.set(target, { target, info, via, since: now, retryAt });
    return true;
  }

  /**
   * `via` sent back a message we relayed through it to `target`: it is not linked to `target`
   * (any more), whatever its neighbour list or the target said. Relays through another common
   * neighbour if one is vouched for, else drops the relay (the maintenance looks for another way).
   */
  notThrough(target: OverlayAddress, via: Connection): void {
    const relay = this.#relays.get(target);
    if (!relay || relay.via !== via) return;
    this.bounced++;
    via.heardNear = via.heardNear.filter((a) => a !== target);
    this.#linkedTo.get(target)?.list.delete(via.address);
    const other = this.#bestVia(target);
    if (other) relay.via = other;
    else this.#relays.delete(target);
  }

  /**
   * Once a round: drops relays whose target is linked directly now, or no longer vouched for
   * by any connection; moves relays to a better common neighbour; retries direct links.
   */
  maintain(direct: ReadonlySet<OverlayAddress>): void {
    const now = this.host.now();
    for (const relay of [...this.#relays.values()]) {
      if (direct.has(relay.target) || this.host.lostRecently(relay.target)) {
        this.#relays.delete(relay.target);
        continue;
      }
      const via = this.#bestVia(relay.target);
      if (!via) {
        this.#relays.delete(relay.target);
        continue;
      }
      relay.via = via;
      if (now >= relay.retryAt) {
        relay.retryAt = now + this.tuning.retryDirectMs;
        this.host.requestConnection(relay.target, ConnectPurpose.Near);
      }
    }
  }

  /**
   * Makes room: relays are for ring neighbours, and one that others came between since is no
   * longer needed. True when one went.
   */
  #evictOneNotNear(): boolean {
    for (const r of this.#relays.values()) {
      if (this.host.isNear(r.target)) continue;
      this.#relays.delete(r.target);
      return true;
    }
    return false;
  }

  #bestVia(target: OverlayAddress): Connection | null {
    const now = this.host.now();
    let best: Connection | null = null;
    const told = this.#linkedTo.get(target);
    // A target's own word ages like a neighbour list: a crashed or cut-off target stops
    // answering the direct retries that refresh it, and its relays go.
    const toldFresh = told && now - told.at <= this.tuning.listFreshMs ? told.list : null;
    for (const c of this.host.conns.values()) {
      if (!c.up) continue;
      // Vouched for by the connection's own neighbour list, or named by the target itself.
      const listed = now - c.heardNearAt <= this.tuning.listFreshMs && c.heardNear.includes(target);
      if (!listed && !toldFresh?.has(c.address)) continue;
      if (!best || (c.peer.rttMs ?? Infinity) < (best.peer.rttMs ?? Infinity)) best = c;
    }
    return best;
  }
}
