/**
 * Routing probes: a routed message from a source node to a destination address, identified by
 * an id in its payload, counted when the destination's `onDeliver` sees it.
 *
 * Payload (8 bytes):
 * ```
 *  0       4               8
 * +-------+---------------+
 * | "SIMP"| probe id, u32 |
 * +-------+---------------+
 * ```
 *
 * @module
 */
import type { SimHost, SimWorld } from "./world.ts";

const MAGIC = 0x53494d50; // "SIMP"
/** Probe payload size in bytes. */
export const PROBE_PAYLOAD_BYTES = 8;

/** Where a probe ended up. */
export type ProbeOutcome =
  | "pending"
  | "delivered"
  | "misdelivered"
  | "unreachable"
  | "lost"
  | "excluded";

interface Probe {
  readonly id: number;
  readonly batch: string;
  readonly src: SimHost;
  /** The host that must receive it. */
  readonly expected: SimHost;
  readonly sentAtMs: number;
  outcome: ProbeOutcome;
  hops: number;
  deliveries: number;
}

/** Counts for one batch of probes. */
export interface ProbeTally {
  readonly sent: number;
  readonly delivered: number;
  readonly misdelivered: number;
  readonly unreachable: number;
  readonly lost: number;
  /** Not counted: the source or destination ended before it was delivered. */
  readonly excluded: number;
  /** Extra deliveries of a probe already delivered (should be 0: no amplification). */
  readonly duplicates: number;
  /** delivered / (sent - excluded), 1 when nothing counts. */
  readonly success: number;
  /** Hop counts of the delivered probes. */
  readonly hops: number[];
  /** Mean delivery latency in virtual ms. */
  readonly latencyMeanMs: number;
}

/** Encodes the probe payload. */
export function encodeProbe(id: number): Uint8Array {
  const out = new Uint8Array(PROBE_PAYLOAD_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC);
  v.setUint32(4, id >>> 0);
  return out;
}

/** Decodes a probe id from a payload, or null if it is not a probe. */
export function decodeProbe(payload: Uint8Array): number | null {
  if (payload.length !== PROBE_PAYLOAD_BYTES) return null;
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return v.getUint32(0) === MAGIC ? v.getUint32(4) : null;
}

/** Sends probes through a world's nodes and tallies them by batch. */
export class ProbeTracker {
  readonly #probes = new Map<number, Probe>();
  readonly #latencyMs = new Map<number, number>();
  #nextId = 1;
  #duplicates = new Map<string, number>();
  readonly #pending = new Map<string, number>();

  constructor(private readonly world: SimWorld) {
    world.onDeliver = (host, m) => {
      const id = decodeProbe(m.payload);
      if (id === null) return;
      const p = this.#probes.get(id);
      if (!p) return;
      p.deliveries++;
      if (p.outcome === "pending") this.#settle(p);
      if (p.deliveries > 1) {
        this.#duplicates.set(p.batch, (this.#duplicates.get(p.batch) ?? 0) + 1);
        return;
      }
      if (host === p.expected) {
        p.outcome = "delivered";
        p.hops = m.hops;
        this.#latencyMs.set(id, world.clock.now() - p.sentAtMs);
      } else {
        p.outcome = "misdelivered";
      }
    };
    world.onUnreachable = (_host, m) => {
      const id = decodeProbe(m.payload);
      const p = id === null ? undefined : this.#probes.get(id);
      if (p && p.outcome === "pending") {
        this.#settle(p);
        p.outcome = "unreachable";
      }
    };
  }

  /** Probes still pending in `batch`. */
  pending(batch: string): number {
    return this.#pending.get(batch) ?? 0;
  }

  /** Sends an exact-mode probe from `src` to `dst`'s address. */
  sendExact(batch: string, src: SimHost, dst: SimHost): void {
    this.#send(batch, src, dst, dst.address, "exact");
  }

  /** Sends a nearest-mode probe from `src` to `key`, which `expected` is closest to. */
  sendNearest(batch: string, src: SimHost, key: bigint, expected: SimHost): void {
    this.#send(batch, src, expected, key, "nearest");
  }

  /**
   * Closes `batch`: a probe not delivered whose source or destination ended before its deadline
   * (`sent + deadlineMs`) is excluded; other undelivered ones count as failures (lost when
   * still pending). Call after the deadline. Forgets the batch's probes.
   */
  tally(batch: string, deadlineMs: number): ProbeTally {
    let sent = 0, delivered = 0, misdelivered = 0, unreachable = 0, lost = 0, excluded = 0;
    let latencySum = 0;
    const hops: number[] = [];
    for (const [id, p] of this.#probes) {
      if (p.batch !== batch) continue;
      sent++;
      const deadline = p.sentAtMs + deadlineMs;
      const ended = (p.src.endedAtMs ?? Infinity) <= deadline ||
        (p.expected.endedAtMs ?? Infinity) <= deadline;
      if (p.outcome === "delivered") {
        delivered++;
        hops.push(p.hops);
        latencySum += this.#latencyMs.get(id) ?? 0;
      } else if (ended) excluded++;
      else if (p.outcome === "misdelivered") misdelivered++;
      else if (p.outcome === "unreachable") unreachable++;
      else lost++;
      this.#probes.delete(id);
      this.#latencyMs.delete(id);
    }
    const counted = sent - excluded;
    const duplicates = this.#duplicates.get(batch) ?? 0;
    this.#duplicates.delete(batch);
    this.#pending.delete(batch);
    return {
      sent,
      delivered,
      misdelivered,
      unreachable,
      lost,
      excluded,
      duplicates,
      success: counted === 0 ? 1 : delivered / counted,
      hops,
      latencyMeanMs: delivered === 0 ? NaN : latencySum / delivered,
    };
  }

  #send(batch: string, src: SimHost, expected: SimHost, dst: bigint, mode: "exact" | "nearest") {
    const id = this.#nextId++;
    this.#probes.set(id, {
      id,
      batch,
      src,
      expected,
      sentAtMs: this.world.clock.now(),
      outcome: "pending",
      hops: 0,
      deliveries: 0,
    });
    this.#pending.set(batch, (this.#pending.get(batch) ?? 0) + 1);
    src.node.send(dst, mode, encodeProbe(id));
  }

  #settle(p: Probe): void {
    this.#pending.set(p.batch, (this.#pending.get(p.batch) ?? 1) - 1);
  }
}
