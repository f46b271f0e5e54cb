/**
 * Handshake payloads: a list of type-length-value items inside the encrypted Noise payload.
 *
 * ```
 * +--------+--------+------------------ - - -+
 * |  type  | length |  value (length bytes)  |   repeated; unknown types are skipped
 * +--------+--------+------------------ - - -+
 * ```
 */

/** Item types. */
export const TlvType = {
  /** u64 LE, strictly increasing per initiator: rejects replayed initiations. */
  Timestamp: 1,
  /** The sender's virtual IPv4 address and prefix length: 4 + 1 bytes. */
  VirtualIpv4: 2,
  /** The endpoint the responder saw the initiator's datagram from (see `endpoint_codec.ts`). */
  ObservedEndpoint: 3,
} as const;

/** Longest handshake payload accepted. */
export const MAX_PAYLOAD_BYTES = 256;

/** Thrown for a payload that does not parse. */
export class TlvError extends Error {
  override name = "TlvError";
}

/** Encodes items in the given order. */
export function encodeTlv(items: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  const size = items.reduce((n, [, v]) => n + 2 + v.length, 0);
  if (size > MAX_PAYLOAD_BYTES) throw new TlvError("Handshake payload too large");
  const out = new Uint8Array(size);
  let off = 0;
  for (const [type, value] of items) {
    if (value.length > 255) throw new TlvError("TLV value too large");
    out[off] = type;
    out[off + 1] = value.length;
    out.set(value, off + 2);
    off += 2 + value.length;
  }
  return out;
}

/** Decodes items into a map from type to the first value of that type. */
export function decodeTlv(payload: Uint8Array): Map<number, Uint8Array> {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new TlvError("Handshake payload too large");
  const out = new Map<number, Uint8Array>();
  let off = 0;
  while (off < payload.length) {
    if (off + 2 > payload.length) throw new TlvError("Truncated TLV header");
    const type = payload[off]!;
    const len = payload[off + 1]!;
    if (off + 2 + len > payload.length) throw new TlvError("Truncated TLV value");
    if (!out.has(type)) out.set(type, payload.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}
