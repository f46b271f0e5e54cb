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
  /** Filter permissions: remote key (host, or host|port) -> last use in ms. */
  readonly permits: Map<string, number>;
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
        permits: new Map(),
      };
      this.#byPort.set(port, m);
      this.#byFlow.set(flowKey, m);
    }
    m.lastUsedMs = nowMs;
    const permit = this.#permitKey(dest);
    if (permit !== null) {
      // Re-insert so the permit map stays in last-use order (lets `sweep` stop early).
      m.permits.delete(permit);
      m.permits.set(permit, nowMs);
    }
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
    const permit = this.#permitKey(sender);
    if (permit !== null) {
      const last = m.permits.get(permit);
      if (last === undefined) return "filtered";
      if (!this.#live(last, nowMs)) {
        m.permits.delete(permit);
        return "filtered";
      }
      if (refresh) {
        m.permits.delete(permit);
        m.permits.set(permit, nowMs);
      }
    }
    if (refresh) m.lastUsedMs = nowMs;
    return m.privateEndpoint;
  }

  /** Removes expired mappings and permissions; returns how many mappings were removed. */
  sweep(nowMs: number): number {
    let removed = 0;
    for (const m of [...this.#byPort.values()]) {
      if (!this.#live(m.lastUsedMs, nowMs)) {
        this.#remove(m);
        removed++;
        continue;
      }
      for (const [key, last] of m.permits) {
        if (this.#live(last, nowMs)) break;
        m.permits.delete(key);
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
  }

  #flowKey(privateEp: Endpoint, dest: Endpoint): string {
    const src = `${privateEp.host}|${privateEp.port}`;
    return this.type === "symmetric" ? `${src}>${dest.host}|${dest.port}` : src;
  }

  /** The filter key a remote must match, or null when the filter lets everyone in. */
  #permitKey(remote: Endpoint): string | null {
    switch (this.type) {
      case "full-cone":
        return null;
      case "address-restricted":
        return remote.host;
      case "port-restricted":
      case "symmetric":
        return `${remote.host}|${remote.port}`;
    }
  }

  /** `preferred` if free, else a random free port in [1024, 65535]; null when all are live. */
  #allocate(preferred: number | null, nowMs: number): number | null {
    if (preferred !== null && preferred > 0 && this.#free(preferred, nowMs)) return preferred;
    const start = this.rng.uint32() % NAT_PORT_COUNT;
    for (let i = 0; i < NAT_PORT_COUNT; i++) {
      const port = NAT_PORT_FIRST + (start + i) % NAT_PORT_COUNT;
      if (this.#free(port, nowMs)) return port;
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
