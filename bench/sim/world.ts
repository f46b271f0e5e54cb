/**
 * A simulated world: N overlay nodes on one `MemNetwork` and one `VirtualClock`, deterministic
 * from a seed. Host `i` (0-based, never reused) listens on 198.18.0.0/15 at `hostIp(i)`:5800.
 *
 * @module
 */
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import type { Aead } from "../../lib/crypto/aead.ts";
import { type KeyPair, nodeX25519, type X25519 } from "../../lib/crypto/x25519.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { type Endpoint, endpoint } from "../../lib/transport/endpoint.ts";
import { MemNetwork } from "../../lib/transport/mem_network.ts";
import type { MemTransport } from "../../lib/transport/mem_transport.ts";
import { CountingTransport, TypeCounters } from "./counting_transport.ts";
import {
  type ConsistencyResult,
  nearestConnectedSides,
  ringConsistency,
  type RingView,
  sortAddresses,
} from "./metrics.ts";
import type { SimDelivery, SimNode, SimNodeFactory, SimUnreachable } from "./sim_node.ts";

/** The UDP port every simulated node listens on. */
export const SIM_PORT = 5800;
/** Hosts available in 198.18.0.0/15 (host numbers 1 .. 2^17 - 2). */
export const MAX_SIM_HOSTS = (1 << 17) - 2;

/** The underlay IP of host `index` (0-based): 198.18.0.1, 198.18.0.2, … 198.19.255.254. */
export function hostIp(index: number): string {
  const n = index + 1;
  if (!Number.isInteger(index) || index < 0 || n > MAX_SIM_HOSTS) {
    throw new RangeError(`Host index out of range: ${index}`);
  }
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** How a node left the world. */
export type ExitKind = "leave" | "crash";

/** One simulated host and its node. */
export interface SimHost {
  readonly index: number;
  readonly endpoint: Endpoint;
  readonly transport: MemTransport;
  readonly node: SimNode;
  readonly address: bigint;
  /** Virtual time of `start()`. */
  readonly startedAtMs: number;
  /** Virtual time of `leave()`/`close()`, or null while live. */
  endedAtMs: number | null;
  exit: ExitKind | null;
}

/** Options of a `SimWorld`. */
export interface WorldOptions {
  readonly seed: number;
  readonly factory: SimNodeFactory;
  readonly aead: Aead;
  /** X25519 for identities and handshakes (default node:crypto's; all give the same keys). */
  readonly x25519?: X25519;
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly lossRate?: number;
  /** The network secret every node shares (default 32 zero bytes). */
  readonly psk?: Uint8Array;
  /** Logger handed to every node (default silent). */
  readonly logger?: Logger;
  /** Called with each new host's number and endpoint before its node starts (NAT placement). */
  readonly onSpawn?: (index: number, endpoint: Endpoint) => void;
}

/** A node-code exception caught while running the clock. */
export interface SimError {
  readonly atMs: number;
  readonly message: string;
}

/** Transport-level totals over every host that ever existed. */
export interface TrafficTotals {
  datagrams: number;
  bytes: number;
  /** Sum of host lifetimes so far, in seconds. */
  nodeSeconds: number;
}

/** Connection-table figures over the live nodes. */
export interface ConnectionSummary {
  readonly connectionsMean: number;
  readonly connectionsMax: number;
  /** Mean connections per node by kind. */
  readonly byKind: Record<string, number>;
  /** Mean of the nodes' own network-size estimates (null when status has none). */
  readonly estimatedSizeMean: number | null;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Owns the clock, the network and the hosts. Hosts are created and started together
 * (`spawn`); the live set supports O(1) uniform random picks. Node exceptions thrown from clock
 * callbacks are caught, counted and kept (the first few) so that a run reports them.
 */
export class SimWorld {
  readonly clock = new VirtualClock();
  readonly network: MemNetwork;
  readonly hosts: SimHost[] = [];
  /** Harness randomness (bootstrap and churn picks, probes); nodes have their own. */
  readonly rng: SeededRng;
  readonly errors: SimError[] = [];
  /** Datagrams sent by all nodes, by wire message type. */
  readonly sentByType = new TypeCounters();
  errorCount = 0;
  /** Called for every delivery at every node (the probe tracker sets it). */
  onDeliver: (host: SimHost, m: SimDelivery) => void = () => {};
  /** Called for every unreachable report at every node. */
  onUnreachable: (host: SimHost, m: SimUnreachable) => void = () => {};
  readonly #live: SimHost[] = [];
  readonly #livePos = new Map<SimHost, number>();
  readonly #byAddress = new Map<bigint, SimHost>();
  readonly #identityRng: SeededRng;
  readonly #nodeRng: SeededRng;
  readonly #opts: WorldOptions;
  readonly #psk: Uint8Array;

  constructor(opts: WorldOptions) {
    this.#opts = opts;
    const master = new SeededRng(opts.seed);
    this.#identityRng = master.fork();
    this.#nodeRng = master.fork();
    this.rng = master.fork();
    this.network = new MemNetwork(this.clock, {
      latencyMs: opts.latencyMs ?? 0,
      jitterMs: opts.jitterMs ?? 0,
      lossRate: opts.lossRate ?? 0,
      rng: master.fork(),
    });
    this.#psk = opts.psk ?? new Uint8Array(32);
  }

  /** Live hosts (started, not ended), in an order that is deterministic but not sorted. */
  get live(): readonly SimHost[] {
    return this.#live;
  }

  /** The live host with this address, if any. */
  liveByAddress(address: bigint): SimHost | undefined {
    return this.#byAddress.get(address);
  }

  /** Creates host number `hosts.length` and starts its node with `bootstrap` ([] founds). */
  spawn(bootstrap: Endpoint[]): SimHost {
    const index = this.hosts.length;
    const ep = endpoint(hostIp(index), SIM_PORT);
    this.#opts.onSpawn?.(index, ep);
    const transport = this.network.bind(ep);
    const privateKey = this.#identityRng.fill(new Uint8Array(32));
    const x25519 = this.#opts.x25519 ?? nodeX25519;
    const identity: KeyPair = { privateKey, publicKey: x25519.publicKeyOf(privateKey) };
    const node = this.#opts.factory({
      identity,
      psk: this.#psk,
      transport: new CountingTransport(transport, this.sentByType),
      clock: this.clock,
      rng: this.#nodeRng.fork(),
      aead: this.#opts.aead,
      x25519: this.#opts.x25519,
      logger: this.#opts.logger ?? silentLogger,
    });
    const host: SimHost = {
      index,
      endpoint: ep,
      transport,
      node,
      address: node.address,
      startedAtMs: this.clock.now(),
      endedAtMs: null,
      exit: null,
    };
    if (this.#byAddress.has(host.address)) throw new Error(`Address collision at host ${index}`);
    this.hosts.push(host);
    this.#livePos.set(host, this.#live.length);
    this.#live.push(host);
    this.#byAddress.set(host.address, host);
    node.onDeliver((m) => this.onDeliver(host, m));
    node.onUnreachable((m) => this.onUnreachable(host, m));
    node.start(bootstrap);
    return host;
  }

  /** Ends a live host: `leave` says goodbye first, `crash` just stops (`close()`). */
  end(host: SimHost, how: ExitKind): void {
    const pos = this.#livePos.get(host);
    if (pos === undefined) return;
    const last = this.#live.pop()!;
    if (last !== host) {
      this.#live[pos] = last;
      this.#livePos.set(last, pos);
    }
    this.#livePos.delete(host);
    this.#byAddress.delete(host.address);
    host.endedAtMs = this.clock.now();
    host.exit = how;
    if (how === "leave") host.node.leave();
    else host.node.close();
    host.transport.close();
  }

  /** A uniformly random live host for which `accept` holds (up to 64 tries), or any live one. */
  randomLive(accept: (h: SimHost) => boolean = () => true): SimHost | undefined {
    const n = this.#live.length;
    if (n === 0) return undefined;
    for (let i = 0; i < 64; i++) {
      const h = this.#live[this.rng.int(n)]!;
      if (accept(h)) return h;
    }
    return this.#live[this.rng.int(n)];
  }

  /**
   * Ring consistency of the live hosts, from each node's connections: `upAddresses` when the
   * node has it, else `status().connections`. With `viaStatus`, always the latter.
   */
  consistency(viaStatus = false): ConsistencyResult {
    const views: RingView[] = this.#live.map((h) => ({
      address: h.address,
      connected: (!viaStatus && h.node.upAddresses) ||
        h.node.status().connections.map((c) => BigInt("0x" + c.address)),
    }));
    return ringConsistency(views);
  }

  /**
   * One line per inconsistent live node (up to `limit`), for bug reports: ranks are positions
   * in the sorted ring of live addresses, e.g. "host#60 rank 42/64: nearest connected cw rank 44
   * (want 43), ccw rank 32 (want 41); 6 connections".
   */
  describeInconsistent(limit = 5): string[] {
    const sorted = sortAddresses(this.#live.map((h) => h.address));
    const rank = new Map<bigint, number>();
    sorted.forEach((a, i) => rank.set(a, i));
    const n = sorted.length;
    const name = (a: bigint | null) => a === null ? "none" : String(rank.get(a) ?? "gone");
    const out: string[] = [];
    const c = this.consistency();
    for (const i of c.inconsistent.slice(0, limit)) {
      const h = this.#live[i]!;
      const conns = h.node.status().connections.map((x) => BigInt("0x" + x.address));
      const s = nearestConnectedSides(h.address, conns);
      const r = rank.get(h.address)!;
      out.push(
        `host#${h.index} (${h.endpoint.host}) rank ${r}/${n}: nearest connected cw rank ` +
          `${name(s.clockwise)} (want ${(r + 1) % n}), ccw rank ${name(s.counterClockwise)} ` +
          `(want ${(r - 1 + n) % n}); ${conns.length} connections`,
      );
    }
    return out;
  }

  /** Connection-table figures of the live nodes (one `status()` call each). */
  connectionSummary(): ConnectionSummary {
    let total = 0;
    let max = 0;
    let sizeSum = 0;
    let sizeCount = 0;
    const byKind: Record<string, number> = {};
    for (const h of this.#live) {
      const s = h.node.status();
      total += s.connections.length;
      max = Math.max(max, s.connections.length);
      for (const c of s.connections) byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
      if (s.estimatedSize !== undefined) {
        sizeSum += s.estimatedSize;
        sizeCount++;
      }
    }
    const n = Math.max(1, this.#live.length);
    for (const k of Object.keys(byKind)) byKind[k] = round2(byKind[k]! / n);
    return {
      connectionsMean: round2(total / n),
      connectionsMax: max,
      byKind,
      estimatedSizeMean: sizeCount === 0 ? null : Math.round(sizeSum / sizeCount),
    };
  }

  /** Datagrams and bytes sent by every transport so far, and the node-seconds they ran. */
  traffic(): TrafficTotals {
    const now = this.clock.now();
    let datagrams = 0;
    let bytes = 0;
    let ms = 0;
    for (const h of this.hosts) {
      datagrams += h.transport.stats.datagramsSent;
      bytes += h.transport.stats.bytesSent;
      ms += (h.endedAtMs ?? now) - h.startedAtMs;
    }
    return { datagrams, bytes, nodeSeconds: ms / 1000 };
  }

  /**
   * Runs virtual time up to `timeMs` in slices of `sliceMs`, calling `onSlice` after each (for
   * progress lines and early exits: return true to stop). Node exceptions are recorded in
   * `errors` and the run goes on.
   */
  runUntil(timeMs: number, onSlice?: () => boolean | void, sliceMs = 100): void {
    while (this.clock.now() < timeMs) {
      const target = Math.min(timeMs, this.clock.now() + sliceMs);
      try {
        this.clock.runUntil(target);
      } catch (e) {
        this.errorCount++;
        if (this.errors.length < 10) {
          const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          this.errors.push({ atMs: this.clock.now(), message });
        }
        continue;
      }
      if (onSlice?.() === true) return;
    }
  }

  /** Closes every live node abruptly and the network (no timers or datagrams left behind). */
  close(): void {
    for (const h of [...this.#live]) this.end(h, "crash");
    this.network.close();
  }
}
