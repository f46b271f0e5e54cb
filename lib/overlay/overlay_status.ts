import { formatEndpoint } from "../transport/endpoint.ts";
import { addressToHex } from "./address.ts";
import type { ConnectionKind } from "./connection.ts";
import type { OverlayNode } from "./overlay_node.ts";

/** One connection as status shows it. */
export interface ConnectionStatus {
  kind: ConnectionKind;
  /** Overlay address, 40 hex digits. */
  address: string;
  /** `HOST:PORT` of the link, or null. */
  endpoint: string | null;
  /** Handshake round-trip time in ms (snake_case: the name the status JSON promises). */
  rtt_ms: number | null;
  ageMs: number;
  rxBytes: number;
  txBytes: number;
  /** For a relayed neighbour (kind "relay"): the node the traffic goes through, 40 hex digits. */
  via?: string;
}

/** A node's overlay state: a plain object, shown by `ipop status` and read by the simulator. */
export interface OverlayStatus {
  /** This node's overlay address, 40 hex digits. */
  address: string;
  /** The number of nodes estimated from neighbour density. */
  estimatedSize: number;
  /** Connections that are up. */
  connections: ConnectionStatus[];
  /** On-demand shortcut requests this node has sent since it started. */
  shortcutsRequested: number;
}

/** Builds the status of `node`. */
export function overlayStatus(node: OverlayNode, estimatedSize: number): OverlayStatus {
  const now = node.now();
  return {
    address: addressToHex(node.address),
    estimatedSize: Math.round(estimatedSize),
    connections: [...node.upByAddress].map(([address, c]): ConnectionStatus => {
      const relayed = address !== c.address;
      return {
        kind: relayed ? "relay" : c.kind,
        address: addressToHex(address),
        endpoint: !relayed && c.peer.endpoint ? formatEndpoint(c.peer.endpoint) : null,
        rtt_ms: relayed || c.peer.rttMs === null ? null : Math.round(c.peer.rttMs * 1000) / 1000,
        ageMs: Math.round(now - c.since),
        rxBytes: relayed ? 0 : c.peer.counters.rxBytes,
        txBytes: relayed ? 0 : c.peer.counters.txBytes,
        ...(relayed ? { via: addressToHex(c.address) } : {}),
      };
    }),
    shortcutsRequested: node.shortcuts.requested,
  };
}
