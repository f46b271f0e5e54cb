/**
 * One simulated NAT box: its mapping table, port allocation and inbound filter, in RFC 4787
 * terms. `NatFabric` (mem_nat.ts) owns the NATs and decides which datagrams cross which one;
 * this file only answers "which public port does this flow use" and "may this datagram in".
 *
 * @module
 */
import type { Rng } from "../clock/clock.ts";
import type { Endpoint } from "./endpoint.ts";

/**
 * NAT behaviours, named as in RFC 3489 and defined by RFC 4787:
 * - `full-cone`: endpoint-independent mapping and filtering;
 * - `address-restricted`: endpoint-independent mapping, address-dependent filtering;
 * - `port-restricted`: endpoint-independent mapping, address-and-port-dependent filtering;
 * - `symmetric`: address-and-port-dependent mapping and filtering.
 */
export type NatType = "full-cone" | "address-restricted" | "port-restricted" | "symmetric";

/** Every `NatType`, in order of increasing strictness. */
export const NAT_TYPES: readonly NatType[] = [
  "full-cone",
  "address-restricted",
  "port-restricted",
  "symmetric",
];

/** The lowest public port a NAT hands out when it cannot keep the private port. */
export const NAT_PORT_FIRST = 1024;
/** The highest public port. */
export const NAT_PORT_LAST = 65535;
const NAT_PORT_COUNT = NAT_PORT_LAST - NAT_PORT_FIRST + 1;
/** Random port guesses before falling back to a scan. */
const RANDOM_PORT_PROBES = 16;
/** Words of the port bitmap (64,512 ports is exactly 2,016 words of 32 bits). */
const PORT_WORDS = NAT_PORT_COUNT / 32;
const FULL_WORD = 0xffffffff;

/** A read-only view of one mapping (for tests and status). */
export interface NatMapping {
  readonly privateEndpoint: Endpoint;
  readonly publicPort: number;
  /** The one destination of a symmetric mapping; null for endpoint-independent mappings. */
  readonly destination: Endpoint | null;
  /** Virtual time of the last datagram that refreshed the mapping, in ms. */
  readonly lastUsedMs: number;
}

interface MappingState {
  readonly privateEndpoint: Endpoint;
  readonly publicPort: number;
  readonly destination: Endpoint | null;
  /** Key of this mapping in `#byFlow`. */
  readonly flowKey: string;
  lastUsedMs: number;
  /**
   * Filter permissions of restricted-cone mappings: remote key (host, or host|port) -> last
   * use in ms. Null for full cone (no filter) and symmetric (the filter is `destination`).
   */
  readonly permits: Map<string, number> | null;
}

/** Why `Nat.inbound` refused a datagram. */
export type InboundRefusal = "no-mapping" | "filtered";

/**
 * A NAT with one public IPv4 address. Times are passed in by the caller (virtual ms), so the
 * table itself has no clock; `timeoutMs` is how long a mapping or a filter permission may stay
 * idle before it expires (idle time strictly greater than `timeoutMs` expires it).
 *
 * Memory: expired entries are removed lazily when touched, when their port is needed, and by
 * `sweep`; the table never holds more than one mapping per public port (64,512 at most).
 */
export class Nat {
  readonly #byPort = new Map<number, MappingState>();
  readonly #byFlow = new Map<string, MappingState>();
  /** One bit per port of [NAT_PORT_FIRST, NAT_PORT_LAST] that has a (maybe expired) mapping. */
  readonly #used = new Uint32Array(PORT_WORDS);
  #usedCount = 0;
  /** When `#allocate` last found every port live (skips repeated full sweeps). */
  #fullCheckedAtMs = Number.NaN;

  constructor(
    /** The NAT's public IPv4 address. */
    readonly publicHost: string,
    readonly type: NatType,
    readonly timeoutMs: number,
    readonly rng: Rng,
  ) {}

  /** Stored mappings, including expired ones not yet swept. */
  get size(): number {
    return this.#byPort.size;
  }

  /** The live mappings (a snapshot). */
  mappings(nowMs: number): NatMapping[] {
    const out: NatMapping[] = [];
    for (const m of this.#byPort.values()) {
      if (this.#live(m.lastUsedMs, nowMs)) out.push(view(m));
    }
    return out;
  }

  /**
   * The live mapping `privateEp` would use toward `dest`, without creating or refreshing one;
   * undefined when there is none.
   */
  find(privateEp: Endpoint, dest: Endpoint, nowMs: number): NatMapping | undefined {
    const m = this.#liveFlow(this.#flowKey(privateEp, dest), nowMs);
    return m ? view(m) : undefined;
  }

  /**
   * An outbound datagram from `privateEp` to `dest`: finds or creates the mapping, refreshes
   * it and opens the filter for `dest`. Returns the public port, or null when every port is
   * taken by a live mapping (the datagram must be dropped).
   */
  outbound(privateEp: Endpoint, dest: Endpoint, nowMs: number): number | null {
    const flowKey = this.#flowKey(privateEp, dest);
    let m = this.#liveFlow(flowKey, nowMs);
    if (!m) {
      const preferred = this.type === "symmetric" ? null : privateEp.port;
      const port = this.#allocate(preferred, nowMs);
      if (port === null) return null;
      m = {
        privateEndpoint: privateEp,
        publicPort: port,
        destination: this.type === "symmetric" ? dest : null,
        flowKey,
        lastUsedMs: nowMs,
        permits: this.type === "address-restricted" || this.type === "port-restricted"
          ? new Map()
          : null,
      };
      this.#byPort.set(port, m);
      this.#byFlow.set(flowKey, m);
      this.#mark(port, true);
    }
    m.lastUsedMs = nowMs;
    m.permits?.set(this.#permitKey(dest), nowMs);
    return m.publicPort;
  }

  /**
   * An inbound datagram from `sender` to this NAT's `publicPort`: returns the private endpoint
   * to deliver to, or why it is refused. An accepted datagram refreshes the mapping and the
   * permission it used when `refresh` is true (as Linux conntrack does).
   */
  inbound(
    publicPort: number,
    sender: Endpoint,
    nowMs: number,
    refresh: boolean,
  ): Endpoint | InboundRefusal {
    const m = this.#byPort.get(publicPort);
    if (!m) return "no-mapping";
    if (!this.#live(m.lastUsedMs, nowMs)) {
      this.#remove(m);
      return "no-mapping";
    }
    if (m.destination !== null) {
      if (m.destination.port !== sender.port || m.destination.host !== sender.host) {
        return "filtered";
      }
    } else if (m.permits !== null) {
      const permit = this.#permitKey(sender);
      const last = m.permits.get(permit);
      if (last === undefined) return "filtered";
      if (!this.#live(last, nowMs)) {
        m.permits.delete(permit);
        return "filtered";
      }
      if (refresh) m.permits.set(permit, nowMs);
    }
    if (refresh) m.lastUsedMs = nowMs;
    return m.privateEndpoint;
  }

  /** Removes expired mappings and permissions; returns how many mappings were removed. */
  sweep(nowMs: number): number {
    let removed = 0;
    for (const m of this.#byPort.values()) {
      if (!this.#live(m.lastUsedMs, nowMs)) {
        this.#remove(m);
        removed++;
        continue;
      }
      if (m.permits === null) continue;
      for (const [key, last] of m.permits) {
        if (!this.#live(last, nowMs)) m.permits.delete(key);
      }
    }
    return removed;
  }

  #live(lastUsedMs: number, nowMs: number): boolean {
    return nowMs - lastUsedMs <= this.timeoutMs;
  }

  #liveFlow(flowKey: string, nowMs: number): MappingState | undefined {
    const m = this.#byFlow.get(flowKey);
    if (m && !this.#live(m.lastUsedMs, nowMs)) {
      this.#remove(m);
      return undefined;
    }
    return m;
  }

  #remove(m: MappingState): void {
    this.#byPort.delete(m.publicPort);
    this.#byFlow.delete(m.flowKey);
    this.#mark(m.publicPort, false);
  }

  /** Keeps the bitmap in step with `#byPort` (ports below NAT_PORT_FIRST are not tracked). */
  #mark(port: number, used: boolean): void {
    if (port < NAT_PORT_FIRST) return;
    const i = port - NAT_PORT_FIRST;
    const bit = 1 << (i & 31);
    const word = this.#used[i >>> 5]!;
    if (((word & bit) !== 0) === used) return;
    this.#used[i >>> 5] = used ? word | bit : word & ~bit;
    this.#usedCount += used ? 1 : -1;
  }

  #flowKey(privateEp: Endpoint, dest: Endpoint): string {
    const src = `${privateEp.host}|${privateEp.port}`;
    return this.type === "symmetric" ? `${src}>${dest.host}|${dest.port}` : src;
  }

  /** The key of `remote` in a restricted cone's permissions. */
  #permitKey(remote: Endpoint): string {
    return this.type === "address-restricted" ? remote.host : `${remote.host}|${remote.port}`;
  }

  /** `preferred` if free, else a random free port in [1024, 65535]; null when all are live. */
  #allocate(preferred: number | null, nowMs: number): number | null {
    if (preferred !== null && preferred > 0 && this.#free(preferred, nowMs)) return preferred;
    if (this.#usedCount >= NAT_PORT_COUNT) {
      // Full: only expired mappings can give a port back; look for them once per instant.
      if (this.#fullCheckedAtMs === nowMs || this.sweep(nowMs) === 0) {
        this.#fullCheckedAtMs = nowMs;
        return null;
      }
    }
    // Random probes first (fast while the table is not nearly full), then a bitmap scan from a
    // random word, which finds a free port whenever one exists.
    for (let i = 0; i < RANDOM_PORT_PROBES; i++) {
      const port = NAT_PORT_FIRST + this.rng.uint32() % NAT_PORT_COUNT;
      if (this.#free(port, nowMs)) return port;
    }
    const start = this.rng.uint32() % PORT_WORDS;
    for (let n = 0; n < PORT_WORDS; n++) {
      const w = (start + n) % PORT_WORDS;
      const word = this.#used[w]!;
      if (word === FULL_WORD) continue;
      const lowestFree = ~word & (word + 1);
      return NAT_PORT_FIRST + w * 32 + (31 - Math.clz32(lowestFree));
    }
    return null;
  }

  /** True when `port` has no live mapping (an expired one is removed on the way). */
  #free(port: number, nowMs: number): boolean {
    const m = this.#byPort.get(port);
    if (!m) return true;
    if (this.#live(m.lastUsedMs, nowMs)) return false;
    this.#remove(m);
    return true;
  }
}

function view(m: MappingState): NatMapping {
  return {
    privateEndpoint: m.privateEndpoint,
    publicPort: m.publicPort,
    destination: m.destination,
    lastUsedMs: m.lastUsedMs,
  };
}
