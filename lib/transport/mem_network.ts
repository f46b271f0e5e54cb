import type { Clock, Rng, TimerHandle } from "../clock/clock.ts";
import { SeededRng } from "../clock/seeded_rng.ts";
import { type Endpoint, formatEndpoint } from "./endpoint.ts";
import { type MemFabric, MemTransport } from "./mem_transport.ts";

/** The largest UDP payload over IPv4, the default limit of the fake network. */
export const MAX_UDP_PAYLOAD_BYTES = 65507;
/** The first port `bind` hands out for port 0. */
const EPHEMERAL_PORT_FIRST = 49152;

/** A rewritten path for one datagram (e.g. through a NAT). */
export interface Route {
  readonly from: Endpoint;
  readonly to: Endpoint;
}

/**
 * Decides the fate of each datagram at send time: `true` delivers it unchanged, `false` drops
 * it, a `Route` delivers it with the given source and destination (the hook for NAT models).
 */
export type RouteFn = (from: Endpoint, to: Endpoint) => boolean | Route;

/** Options of a `MemNetwork`. */
export interface MemNetworkOptions {
  /** One-way delay of every datagram, in ms (default 0: delivered on the next timer turn). */
  latencyMs?: number;
  /** Extra uniform random delay in [0, jitterMs), which also reorders datagrams (default 0). */
  jitterMs?: number;
  /** Probability in [0, 1] that a datagram is lost (default 0). */
  lossRate?: number;
  /** Randomness for loss and jitter (default `new SeededRng(seed)`). */
  rng?: Rng;
  /** Seed of the default `rng` (default 1). */
  seed?: number | string;
  /** Larger datagrams are dropped by the sender (default 65507). */
  maxDatagramBytes?: number;
  /** See `RouteFn`. */
  route?: RouteFn;
  /** Told of TTL-limited primers (a NAT model opens its mapping; nothing is delivered). */
  primer?: (from: Endpoint, to: Endpoint) => void;
}

/** What happened to the datagrams sent into a `MemNetwork`. */
export interface MemNetworkStats {
  submitted: number;
  delivered: number;
  /** Dropped by `lossRate`. */
  lost: number;
  /** Dropped by a partition or the route function. */
  blocked: number;
  /** Arrived where nothing is bound (or the receiver closed meanwhile). */
  unreachable: number;
}

interface Partition {
  readonly a: Endpoint;
  readonly b: Endpoint;
}

/**
 * An in-memory datagram network on a `Clock` (a `VirtualClock` in tests and the simulator).
 * The network owns delivery: each datagram is copied at send, may be lost, blocked by a
 * partition or rewritten by `route`, and is delivered by a clock timer after
 * `latencyMs + jitter` (even at zero latency, so handlers never run inside `send`). Equal
 * delivery times keep send order. All randomness comes from the seeded `rng`, so a run is a
 * pure function of the seed and the calls made.
 *
 * Endpoints must be concrete addresses (no 0.0.0.0 or ::) so that replies can be routed.
 * `latencyMs`, `jitterMs`, `lossRate` and `route` may be changed at any time; they apply to
 * datagrams sent afterwards.
 */
export class MemNetwork implements MemFabric {
  latencyMs: number;
  jitterMs: number;
  lossRate: number;
  route: RouteFn | undefined;
  /** See `MemNetworkOptions.primer`. */
  primer: ((from: Endpoint, to: Endpoint) => void) | undefined;
  readonly maxDatagramBytes: number;
  readonly stats: MemNetworkStats = {
    submitted: 0,
    delivered: 0,
    lost: 0,
    blocked: 0,
    unreachable: 0,
  };
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #bound = new Map<string, MemTransport>();
  readonly #nextPort = new Map<string, number>();
  readonly #inFlight = new Set<TimerHandle>();
  #partitions: Partition[] = [];

  constructor(clock: Clock, opts: MemNetworkOptions = {}) {
    this.#clock = clock;
    this.#rng = opts.rng ?? new SeededRng(opts.seed ?? 1);
    this.latencyMs = opts.latencyMs ?? 0;
    this.jitterMs = opts.jitterMs ?? 0;
    this.lossRate = opts.lossRate ?? 0;
    this.route = opts.route;
    this.primer = opts.primer;
    this.maxDatagramBytes = opts.maxDatagramBytes ?? MAX_UDP_PAYLOAD_BYTES;
  }

  /**
   * Binds a transport to `local` (port 0 picks a free port). Throws like the real transport
   * ("Cannot listen on HOST:PORT: Address already in use") when the endpoint is taken.
   */
  bind(local: Endpoint): MemTransport {
    if (local.host === "0.0.0.0" || local.host === "::") {
      throw new Error(`Cannot listen on ${formatEndpoint(local)}: MemNetwork needs an address`);
    }
    const port = local.port === 0 ? this.#freePort(local) : local.port;
    const ep: Endpoint = Object.freeze({ host: local.host, port, family: local.family });
    const key = keyOf(ep);
    if (this.#bound.has(key)) {
      throw new Error(`Cannot listen on ${formatEndpoint(ep)}: Address already in use`);
    }
    const t = new MemTransport(ep, this.maxDatagramBytes, this);
    this.#bound.set(key, t);
    return t;
  }

  /**
   * Blocks datagrams between `a` and `b`, both ways, until healed. A port of 0 matches every
   * port of that host. Checked on the endpoints as sent, before `route`.
   */
  partition(a: Endpoint, b: Endpoint): void {
    this.#partitions.push({ a, b });
  }

  /** Removes the partitions between `a` and `b`, or all partitions when called without them. */
  heal(a?: Endpoint, b?: Endpoint): void {
    if (!a || !b) {
      this.#partitions = [];
      return;
    }
    this.#partitions = this.#partitions.filter((p) =>
      !((sameSide(p.a, a) && sameSide(p.b, b)) || (sameSide(p.a, b) && sameSide(p.b, a)))
    );
  }

  /** True when a partition blocks datagrams between `a` and `b`. */
  isPartitioned(a: Endpoint, b: Endpoint): boolean {
    for (const p of this.#partitions) {
      if ((matches(p.a, a) && matches(p.b, b)) || (matches(p.a, b) && matches(p.b, a))) return true;
    }
    return false;
  }

  /** Datagrams sent but not yet delivered or dropped. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Cancels every datagram in flight (so a real clock has no timers left). */
  close(): void {
    for (const h of this.#inFlight) h.cancel();
    this.#inFlight.clear();
  }

  /** Part of `MemFabric`: a primer opens NAT state (through `primer`) and is never delivered. */
  prime(from: Endpoint, to: Endpoint): void {
    this.primer?.(from, to);
  }

  /** Part of `MemFabric`: called by `MemTransport.send` with a private copy of the datagram. */
  submit(from: Endpoint, to: Endpoint, data: Uint8Array): void {
    this.stats.submitted++;
    if (this.lossRate > 0 && this.#float() < this.lossRate) {
      this.stats.lost++;
      return;
    }
    if (this.#partitions.length > 0 && this.isPartitioned(from, to)) {
      this.stats.blocked++;
      return;
    }
    let src = from;
    let dst = to;
    if (this.route) {
      const r = this.route(from, to);
      if (r === false) {
        this.stats.blocked++;
        return;
      }
      if (r !== true) {
        src = r.from;
        dst = r.to;
      }
    }
    const delay = this.latencyMs + (this.jitterMs > 0 ? this.#float() * this.jitterMs : 0);
    const handle = this.#clock.setTimer(delay, () => {
      this.#inFlight.delete(handle);
      const target = this.#bound.get(keyOf(dst));
      if (target && target.deliver(data, src)) this.stats.delivered++;
      else this.stats.unreachable++;
    });
    this.#inFlight.add(handle);
  }

  /** Part of `MemFabric`: frees a closed transport's endpoint. */
  release(transport: MemTransport): void {
    const key = keyOf(transport.localEndpoint);
    if (this.#bound.get(key) === transport) this.#bound.delete(key);
  }

  #float(): number {
    return this.#rng.uint32() / 4294967296;
  }

  #freePort(local: Endpoint): number {
    let port = this.#nextPort.get(local.host) ?? EPHEMERAL_PORT_FIRST;
    for (let tries = 0; tries < 65536 - EPHEMERAL_PORT_FIRST; tries++) {
      const candidate = port;
      port = port === 65535 ? EPHEMERAL_PORT_FIRST : port + 1;
      if (!this.#bound.has(keyOf({ ...local, port: candidate }))) {
        this.#nextPort.set(local.host, port);
        return candidate;
      }
    }
    throw new Error(`Cannot listen on ${formatEndpoint(local)}: No free port`);
  }
}

function keyOf(ep: Endpoint): string {
  return `${ep.host}|${ep.port}`;
}

/** True when partition side `side` covers `ep` (port 0 covers the whole host). */
function matches(side: Endpoint, ep: Endpoint): boolean {
  return side.host === ep.host && (side.port === 0 || side.port === ep.port);
}

function sameSide(x: Endpoint, y: Endpoint): boolean {
  return x.host === y.host && x.port === y.port;
}
