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
