/**
 * A stand-in node for measuring the harness itself: every node knows every other through a
 * shared directory, sends each message straight to its destination (1 hop) over its transport,
 * and reports exactly its true ring neighbours. Not an overlay: a baseline and a harness test.
 *
 * Frame: `dst (20 bytes) || src (20 bytes) || payload`.
 *
 * @module
 */
import type { Endpoint } from "../../lib/transport/endpoint.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import type { Clock } from "../../lib/clock/clock.ts";
import {
  ADDRESS_BYTES,
  addressFromBytes,
  addressOfKey,
  addressToBytes,
  addressToHex,
} from "../../lib/overlay/address.ts";
import { bruteNearest, sortAddresses } from "./metrics.ts";
import type {
  SimDelivery,
  SimNode,
  SimNodeFactory,
  SimStatus,
  SimUnreachable,
} from "./sim_node.ts";

/** Who is up where: shared by all `IdealNode`s of one world. */
export class IdealDirectory {
  readonly #endpoints = new Map<bigint, Endpoint>();
  #sorted: bigint[] | null = null;

  /** Registers a live node. */
  add(address: bigint, ep: Endpoint): void {
    this.#endpoints.set(address, ep);
    this.#sorted = null;
  }

  /** Removes a node. */
  remove(address: bigint): void {
    this.#endpoints.delete(address);
    this.#sorted = null;
  }

  /** The endpoint of a live node. */
  endpointOf(address: bigint): Endpoint | undefined {
    return this.#endpoints.get(address);
  }

  /** Live addresses, ascending. */
  sorted(): bigint[] {
    return this.#sorted ??= sortAddresses(this.#endpoints.keys());
  }
}

/** A node that cheats through an `IdealDirectory` (see the module doc). */
export class IdealNode implements SimNode {
  readonly address: bigint;
  #deliver: (m: SimDelivery) => void = () => {};
  #unreachable: (m: SimUnreachable) => void = () => {};
  #up = false;

  constructor(
    publicKey: Uint8Array,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly dir: IdealDirectory,
  ) {
    this.address = addressOfKey(publicKey);
  }

  start(_bootstrap: Endpoint[]): void {
    this.#up = true;
    this.dir.add(this.address, this.transport.localEndpoint);
    this.transport.onReceive((data) => {
      if (!this.#up || data.length < 2 * ADDRESS_BYTES) return;
      this.#deliver({
        dst: addressFromBytes(data, 0),
        src: addressFromBytes(data, ADDRESS_BYTES),
        hops: 1,
        payload: data.slice(2 * ADDRESS_BYTES),
      });
    });
  }

  send(dst: bigint, mode: "exact" | "nearest", payload: Uint8Array): void {
    const sorted = this.dir.sorted();
    const target = mode === "exact" ? dst : sorted.length ? bruteNearest(sorted, dst) : dst;
    const ep = this.dir.endpointOf(target);
    if (!ep) {
      const copy = payload.slice();
      this.clock.setTimer(0, () => this.#unreachable({ dst, payload: copy }));
      return;
    }
    const frame = new Uint8Array(2 * ADDRESS_BYTES + payload.length);
    frame.set(addressToBytes(dst), 0);
    frame.set(addressToBytes(this.address), ADDRESS_BYTES);
    frame.set(payload, 2 * ADDRESS_BYTES);
    this.transport.send(ep, frame);
  }

  onDeliver(handler: (m: SimDelivery) => void): void {
    this.#deliver = handler;
  }

  onUnreachable(handler: (m: SimUnreachable) => void): void {
    this.#unreachable = handler;
  }

  status(): SimStatus {
    const sorted = this.dir.sorted();
    let i = 0;
    for (let hi = sorted.length; i < hi;) {
      const mid = (i + hi) >> 1;
      if (sorted[mid]! < this.address) i = mid + 1;
      else hi = mid;
    }
    if (sorted[i] !== this.address || sorted.length < 2) return { connections: [] };
    const n = sorted.length;
    const near = new Set([sorted[(i + 1) % n]!, sorted[(i - 1 + n) % n]!]);
    return {
      connections: [...near].map((a) => ({ kind: "near", address: addressToHex(a) })),
      estimatedSize: n,
    };
  }

  leave(): void {
    this.close();
  }

  close(): void {
    this.#up = false;
    this.dir.remove(this.address);
  }
}

/** A factory of `IdealNode`s sharing one fresh directory. */
export function idealNodeFactory(): SimNodeFactory {
  const dir = new IdealDirectory();
  return (parts) => new IdealNode(parts.identity.publicKey, parts.transport, parts.clock, dir);
}
