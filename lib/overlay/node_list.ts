import { type NodeInfo, nodeInfoBytes, readNodeInfo, writeNodeInfo } from "./node_info.ts";

/**
 * A list of node infos: `count (1) | node info × count`. Used by Neighbours, Leave and the
 * neighbour hints in a Connect-To-Me reply.
 */

/** The most nodes one list carries. */
export const MAX_LIST_NODES = 16;

/** Bytes `list` takes. */
export function nodeListBytes(list: readonly NodeInfo[]): number {
  return 1 + list.slice(0, MAX_LIST_NODES).reduce((n, i) => n + nodeInfoBytes(i), 0);
}

/** Writes `list` at `off`; returns the offset after it. */
export function writeNodeList(out: Uint8Array, off: number, list: readonly NodeInfo[]): number {
  const items = list.slice(0, MAX_LIST_NODES);
  out[off] = items.length;
  let at = off + 1;
  for (const info of items) at = writeNodeInfo(out, at, info);
  return at;
}

/** Encodes `list` alone. */
export function encodeNodeList(list: readonly NodeInfo[]): Uint8Array {
  const out = new Uint8Array(nodeListBytes(list));
  writeNodeList(out, 0, list);
  return out;
}

/** Reads a list at `off`; null when truncated, too long or malformed. */
export function readNodeList(
  bytes: Uint8Array,
  off: number,
): { list: NodeInfo[]; next: number } | null {
  if (off >= bytes.length) return null;
  const count = bytes[off]!;
  if (count > MAX_LIST_NODES) return null;
  const list: NodeInfo[] = [];
  let at = off + 1;
  for (let i = 0; i < count; i++) {
    const r = readNodeInfo(bytes, at);
    if (!r) return null;
    list.push(r.info);
    at = r.next;
  }
  return { list, next: at };
}

/**
 * The body of Neighbours and NeighboursAnswer: a list, then one byte of the sender's own flags
 * (bit 0: behind a NAT). A body without that byte is read as "not behind a NAT".
 */
export function encodeNeighbours(list: readonly NodeInfo[], senderBehindNat: boolean): Uint8Array {
  const out = new Uint8Array(nodeListBytes(list) + 1);
  const at = writeNodeList(out, 0, list);
  out[at] = senderBehindNat ? 1 : 0;
  return out;
}

/** Reads a Neighbours body; null when malformed (unknown flag bits included). */
export function readNeighbours(
  body: Uint8Array,
): { list: NodeInfo[]; senderBehindNat: boolean } | null {
  const r = readNodeList(body, 0);
  if (!r) return null;
  if (r.next === body.length) return { list: r.list, senderBehindNat: false };
  if (r.next + 1 !== body.length || (body[r.next]! & ~1) !== 0) return null;
  return { list: r.list, senderBehindNat: body[r.next] === 1 };
}
