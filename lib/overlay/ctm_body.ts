import { ADDRESS_BYTES, addressFromBytes, addressToBytes, type OverlayAddress } from "./address.ts";
import type { NodeInfo } from "./node_info.ts";
import { nodeInfoBytes, readNodeInfo, writeNodeInfo } from "./node_info.ts";
import { nodeListBytes, readNodeList, writeNodeList } from "./node_list.ts";

/**
 * The body of Connect-To-Me requests and replies.
 *
 * ```
 * +---------+-------------+----------------------+------------------------------------+
 * | purpose | token (u32) | sender's node info   | reply only: neighbour hints (list) |
 * +---------+-------------+----------------------+------------------------------------+
 * ```
 * A reply may end with a second list: the answerer's other direct links (`links`), which a
 * requester that cannot link to it may relay through; they are not near candidates.
 * purpose: what the requester wants the link for (near, far, shortcut). The token ties a reply
 * to its request. A request may end with the 20-byte address of the requester's first hop
 * (`via`): a node linked to the requester, through which the reply is sent too (a requester
 * behind a NAT may not be reachable by routing to its address yet).
 */
export const ConnectPurpose = { Near: 1, Far: 2, Shortcut: 3 } as const;

/** One of the `ConnectPurpose` values. */
export type ConnectPurpose = typeof ConnectPurpose[keyof typeof ConnectPurpose];

/** A decoded Connect-To-Me body. */
export interface ConnectBody {
  purpose: ConnectPurpose;
  token: number;
  sender: NodeInfo;
  /** Nodes near the requester's target, in replies. */
  hints: NodeInfo[];
  /** Replies: the answerer's other direct links (empty when absent). */
  links?: NodeInfo[];
  /** Requests: the requester's first hop, or null. */
  via?: OverlayAddress | null;
}

/** Encodes a request (no hints) or a reply. */
export function encodeConnectBody(b: ConnectBody, withHints: boolean): Uint8Array {
  const viaBytes = !withHints && b.via != null ? ADDRESS_BYTES : 0;
  const links = withHints && b.links && b.links.length > 0 ? b.links : null;
  const size = 5 + nodeInfoBytes(b.sender) + (withHints ? nodeListBytes(b.hints) : 0) +
    (links ? nodeListBytes(links) : 0) + viaBytes;
  const out = new Uint8Array(size);
  out[0] = b.purpose;
  new DataView(out.buffer).setUint32(1, b.token, true);
  const at = writeNodeInfo(out, 5, b.sender);
  if (withHints) {
    const end = writeNodeList(out, at, b.hints);
    if (links) writeNodeList(out, end, links);
  } else if (b.via != null) out.set(addressToBytes(b.via), at);
  return out;
}

/** Decodes a body; null when malformed. */
export function decodeConnectBody(bytes: Uint8Array, withHints: boolean): ConnectBody | null {
  if (bytes.length < 5) return null;
  const purpose = bytes[0]!;
  if (purpose < ConnectPurpose.Near || purpose > ConnectPurpose.Shortcut) return null;
  const token = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1, true);
  const sender = readNodeInfo(bytes, 5);
  if (!sender) return null;
  let hints: NodeInfo[] = [];
  let links: NodeInfo[] = [];
  let via: OverlayAddress | null = null;
  if (withHints) {
    const list = readNodeList(bytes, sender.next);
    if (!list) return null;
    hints = list.list;
    if (list.next < bytes.length) {
      const more = readNodeList(bytes, list.next);
      if (!more || more.next !== bytes.length) return null;
      links = more.list;
    }
  } else if (bytes.length === sender.next + ADDRESS_BYTES) {
    via = addressFromBytes(bytes, sender.next);
  } else if (bytes.length !== sender.next) return null;
  return { purpose: purpose as ConnectPurpose, token, sender: sender.info, hints, links, via };
}
