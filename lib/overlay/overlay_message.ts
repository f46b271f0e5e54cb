import { addressFromBytes, type OverlayAddress, writeAddress } from "./address.ts";

/**
 * Overlay messages, carried in link data messages of type 5 (so already authenticated and
 * encrypted hop by hop).
 *
 * ```
 *  0        1        2        3
 * +--------+--------+--------+--------+
 * |  kind  | flags  |  hops  |  ttl   |
 * +--------+--------+--------+--------+
 * |   source address (20 bytes)       |
 * +-----------------------------------+
 * |   destination address (20 bytes)  |
 * +-----------------------------------+
 * |   body (kind-specific)            |
 * +-----------------------------------+
 * ```
 * flags: bit 0 = nearest (deliver at the node closest to the destination; else exact), bit 1 =
 * not to the source (the closest node other than the sender: how a joining node finds the node
 * that will be its neighbour), bit 2 = second chance taken, bit 3 = hop ack requested, bit 4 =
 * relay hop (the sender relays to a node linked to us: see `FLAG_RELAY_HOP`). `hops` counts
 * forwards so far; a message is dropped when it reaches `ttl`.
 */

/** Message kinds. */
export const OverlayKind = {
  /** Connect-To-Me: please link to me (body: `ctm_body.ts`). Routed. */
  ConnectRequest: 1,
  /** The answer to a Connect-To-Me. Routed back exactly. */
  ConnectReply: 2,
  /** My nearest neighbours (body: node list). One hop. */
  Neighbours: 3,
  /** Application payload (IP packets, probes). Routed. */
  Data: 4,
  /** An exact-mode message found no node with its destination (body: that address). Routed. */
  Unreachable: 5,
  /** I am leaving; here are my neighbours (body: node list). One hop. */
  Leave: 6,
  /** I am closing our link: I no longer need it. One hop. */
  Close: 7,
  /** My neighbour list, in answer to a Neighbours from a node that is not among mine. One hop. */
  NeighboursAnswer: 8,
  /** A DHT message (body: `lib/dht/dht_message.ts`). Routed. */
  Dht: 9,
  /** An IPv4 packet between virtual addresses (body: the packet). Routed exactly. */
  Ip: 10,
  /** "I got your message": the answer to `FLAG_HOP_ACK` (empty body). One hop. */
  HopAck: 11,
  /**
   * Routed to a waypoint, which hands the inner message to a node it is linked to (body: that
   * node's address, 20 bytes, then the inner overlay message). See `OverlayNode.sendVia`.
   */
  Forward: 12,
  /** Overlay ping (body: `echo.ts`). Routed exactly. */
  EchoRequest: 13,
  /** The answer to an echo request. Routed exactly. */
  EchoReply: 14,
  /** An echo request's hop limit ran out: where (body: `echo.ts`). Routed exactly. */
  Expired: 15,
} as const;

/** Kinds that are routed (the others travel one hop, between linked nodes). */
export const ROUTED_KINDS: ReadonlySet<number> = new Set([
  OverlayKind.ConnectRequest,
  OverlayKind.ConnectReply,
  OverlayKind.Data,
  OverlayKind.Unreachable,
  OverlayKind.Dht,
  OverlayKind.Ip,
  OverlayKind.Forward,
  OverlayKind.EchoRequest,
  OverlayKind.EchoReply,
  OverlayKind.Expired,
]);

/** The routed kinds a service above the overlay receives through `OverlayNode.onKind`. */
export type ServiceKind = typeof OverlayKind.Dht | typeof OverlayKind.Ip;

/** Flag: deliver at the node nearest to the destination. */
export const FLAG_NEAREST = 1;
/** Flag: never deliver at (or through) the source itself. */
export const FLAG_NOT_TO_SOURCE = 2;
/** Flag: an exact-mode message already had its second chance (see `OverlayNode.route`). */
export const FLAG_SECOND_CHANCE = 4;
/** Flag: the next hop must answer with a `HopAck` (see `hop_watch.ts`); cleared each hop. */
export const FLAG_HOP_ACK = 8;
/**
 * Flag: the sender chose, as next step, a node it reaches through us (a relayed neighbour), so
 * the message stands, as greedy routing sees it, at that node. We take it on over our own links
 * only (not our relays), where one of them is at least that close: so every step still brings
 * it to a real node nearer the destination, and relayed hops cannot go round in a cycle
 * (X relays through Y, Y through Z, Z through X). Cleared each hop.
 */
export const FLAG_RELAY_HOP = 16;
/** Bytes before the body. */
export const OVERLAY_HEADER_BYTES = 44;
/** Default hop limit. */
export const DEFAULT_TTL = 64;

/** A decoded overlay message (`body` is a view into the received bytes). */
export interface OverlayMessage {
  kind: number;
  flags: number;
  hops: number;
  ttl: number;
  src: OverlayAddress;
  dst: OverlayAddress;
  body: Uint8Array;
}

/** Encodes a message. */
export function encodeOverlayMessage(m: OverlayMessage): Uint8Array {
  const out = new Uint8Array(OVERLAY_HEADER_BYTES + m.body.length);
  out[0] = m.kind;
  out[1] = m.flags;
  out[2] = m.hops;
  out[3] = m.ttl;
  writeAddress(out, 4, m.src);
  writeAddress(out, 24, m.dst);
  out.set(m.body, OVERLAY_HEADER_BYTES);
  return out;
}

/** Decodes a message, or null when it is too short or its kind is unknown. */
export function decodeOverlayMessage(bytes: Uint8Array): OverlayMessage | null {
  if (bytes.length < OVERLAY_HEADER_BYTES) return null;
  const kind = bytes[0]!;
  if (kind < OverlayKind.ConnectRequest || kind > OverlayKind.Expired) return null;
  return {
    kind,
    flags: bytes[1]!,
    hops: bytes[2]!,
    ttl: bytes[3]!,
    src: addressFromBytes(bytes, 4),
    dst: addressFromBytes(bytes, 24),
    body: bytes.subarray(OVERLAY_HEADER_BYTES),
  };
}
