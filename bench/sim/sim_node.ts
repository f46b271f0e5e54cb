/**
 * The slice of `OverlayNode` (lib/overlay/overlay_node.ts) the simulator drives, and how the
 * simulator makes one. The harness codes against this structural interface only, so it can
 * also drive a stand-in (`IdealNode`) to measure its own overhead.
 *
 * @module
 */
import type { LinkEnvironment } from "../../lib/link/link_layer.ts";
import type { Endpoint } from "../../lib/transport/endpoint.ts";

/** A routed message as handed to the application at its destination. */
export interface SimDelivery {
  readonly src: bigint;
  readonly dst: bigint;
  readonly hops: number;
  readonly payload: Uint8Array;
}

/** An exact-mode message that found no node with its destination address. */
export interface SimUnreachable {
  readonly dst: bigint;
  readonly payload: Uint8Array;
}

/** One entry of `status().connections` (only the fields the simulator reads). */
export interface SimConnection {
  readonly kind: string;
  /** 40 hex characters. */
  readonly address: string;
}

/** What the simulator reads of `OverlayNode.status()`. */
export interface SimStatus {
  readonly connections: readonly SimConnection[];
  readonly estimatedSize?: number;
}

/** The overlay node API the simulator drives (a structural subset of `OverlayNode`). */
export interface SimNode {
  readonly address: bigint;
  /**
   * Optional fast path: the addresses of the connections that are up, the same set as
   * `status().connections` (read instead of building the status on every consistency check).
   */
  readonly upAddresses?: readonly bigint[];
  start(bootstrap: Endpoint[]): void;
  send(dst: bigint, mode: "exact" | "nearest", payload: Uint8Array): void;
  onDeliver(handler: (m: SimDelivery) => void): void;
  onUnreachable(handler: (m: SimUnreachable) => void): void;
  status(): SimStatus;
  /** Clean exit: tells neighbours, then closes. */
  leave(): void;
  /** Abrupt exit (crash): no goodbye. */
  close(): void;
}

/** Everything a simulated node is built from (`OverlayNodeOptions` minus tuning). */
export type SimNodeParts = LinkEnvironment;

/** Builds one node from its parts (closing over tuning and any other choices). */
export type SimNodeFactory = (parts: SimNodeParts) => SimNode;
