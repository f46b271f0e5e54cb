/**
 * DHT messages, carried as the body of overlay messages.
 *
 * ```
 *  0        1                                   5        6        7        8
 * +--------+-----------------------------------+--------+--------+--------+
 * |  type  |      requestId (u32, big-endian)  |   op   | status | keyLen |
 * +--------+-----------------------------------+--------+--------+--------+
 * |  key (keyLen bytes, 0..128)                                           |
 * +--------+--------------------------------------------------------------+
 * | count  |  count held records, back to back:                            |
 * +--------+--------------------------------------------------------------+
 * |  remaining lifetime, ms (u32, big-endian) | record (dht_record.ts)    |
 * +-------------------------------------------+---------------------------+
 * ```
 * A replica reports how long it will still keep each record (the signed TTL bounds the lifetime
 * at the writer; handed-off copies keep the remaining part, so reads and hand-offs never extend
 * a record's life). In requests it is the TTL itself. A message holds at most 16 records and is
 * at most `MAX_DHT_MESSAGE_BYTES` in all (it fits one datagram); nothing may follow the last
 * record. The key may be empty where it means nothing (a Handoff of records of many keys).
 * Every message carries a known op; a Handoff uses `DhtOp.Put` by convention.
 *
 * @module
 */
import { decodeRecord, type DhtRecord, encodeRecord, recordWireBytes } from "./dht_record.ts";

/** Message types. */
export const DhtMessageType = {
  /** Client -> coordinator. */
  Request: 1,
  /** Coordinator -> client. */
  Reply: 2,
  /** Coordinator -> replica. */
  ReplicaRequest: 3,
  /** Replica -> coordinator. */
  ReplicaReply: 4,
  /** Records for the receiver to store; no reply. */
  Handoff: 5,
} as const;
/** A message type value. */
export type DhtMessageType = typeof DhtMessageType[keyof typeof DhtMessageType];

/** Operations. */
export const DhtOp = {
  Get: 1,
  Put: 2,
  Create: 3,
  Renew: 4,
  Delete: 5,
} as const;
/** An operation value. */
export type DhtOp = typeof DhtOp[keyof typeof DhtOp];

/** Outcomes, carried in replies (requests and handoffs send `Ok`). */
export const DhtStatus = {
  Ok: 0,
  /** Another owner holds a live record of the key (create/renew). */
  Taken: 1,
  NotFound: 2,
  /** Bad signature, stale seq or an invalid record. */
  Rejected: 3,
  /** A store or per-key bound was reached. */
  Full: 4,
  /** Too few replicas answered in time. */
  NoQuorum: 5,
} as const;
/** A status value. */
export type DhtStatus = typeof DhtStatus[keyof typeof DhtStatus];

/** Most records one message carries. */
export const MAX_MESSAGE_RECORDS = 16;
/** Largest encoded message, in bytes: one overlay message in one datagram at MTU 1280. */
export const MAX_DHT_MESSAGE_BYTES = 1200;
/** Bytes before each record: its remaining lifetime. */
export const HELD_PREFIX_BYTES = 4;
/** Bytes before the key. */
export const DHT_MESSAGE_HEADER_BYTES = 8;
/** Longest key a message carries, in bytes. */
export const MAX_MESSAGE_KEY_BYTES = 128;

/** A record with how long its holder keeps it (ms, 0..2^32-1). */
export interface HeldRecord {
  record: DhtRecord;
  remainingMs: number;
}

/** A DHT message. Decoded messages own their arrays (they never alias the input). */
export interface DhtMessage {
  type: DhtMessageType;
  /** Chosen by the requester, echoed in the reply; 0..2^32-1. */
  requestId: number;
  op: DhtOp;
  status: DhtStatus;
  /** 0..`MAX_MESSAGE_KEY_BYTES` (128) bytes. */
  key: Uint8Array;
  /** At most `MAX_MESSAGE_RECORDS`. */
  records: HeldRecord[];
}

function isType(v: number): v is DhtMessageType {
  return v >= DhtMessageType.Request && v <= DhtMessageType.Handoff;
}
function isOp(v: number): v is DhtOp {
  return v >= DhtOp.Get && v <= DhtOp.Delete;
}
function isStatus(v: number): v is DhtStatus {
  return v >= DhtStatus.Ok && v <= DhtStatus.NoQuorum;
}

/**
 * Encoded size of `m` in bytes, so a sender can pack records up to `MAX_DHT_MESSAGE_BYTES`.
 * Assumes the records are valid.
 */
export function dhtMessageBytes(m: Pick<DhtMessage, "key" | "records">): number {
  let n = DHT_MESSAGE_HEADER_BYTES + m.key.length + 1;
  for (const r of m.records) n += HELD_PREFIX_BYTES + recordWireBytes(r.record);
  return n;
}

/**
 * Encodes a message (a fresh array). RangeError when a field is out of range, a record is
 * invalid, there are more than 16 records, or the result would exceed `MAX_DHT_MESSAGE_BYTES`.
 */
export function encodeDhtMessage(m: DhtMessage): Uint8Array {
  if (!isType(m.type) || !isOp(m.op) || !isStatus(m.status)) {
    throw new RangeError("Unknown DHT message type, op or status");
  }
  if (!Number.isInteger(m.requestId) || m.requestId < 0 || m.requestId > 0xffff_ffff) {
    throw new RangeError("DHT request id must be a u32");
  }
  if (m.key.length > MAX_MESSAGE_KEY_BYTES) throw new RangeError("DHT key is too long");
  if (m.records.length > MAX_MESSAGE_RECORDS) {
    throw new RangeError(`A DHT message carries at most ${MAX_MESSAGE_RECORDS} records`);
  }
  const encoded = m.records.map((r) => encodeRecord(r.record));
  let total = DHT_MESSAGE_HEADER_BYTES + m.key.length + 1;
  for (const e of encoded) total += HELD_PREFIX_BYTES + e.length;
  if (total > MAX_DHT_MESSAGE_BYTES) {
    throw new RangeError(`A DHT message is at most ${MAX_DHT_MESSAGE_BYTES} bytes`);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = m.type;
  view.setUint32(1, m.requestId);
  out[5] = m.op;
  out[6] = m.status;
  out[7] = m.key.length;
  out.set(m.key, DHT_MESSAGE_HEADER_BYTES);
  let p = DHT_MESSAGE_HEADER_BYTES + m.key.length;
  out[p++] = encoded.length;
  for (const [i, e] of encoded.entries()) {
    view.setUint32(p, clampU32(m.records[i]!.remainingMs));
    out.set(e, p + HELD_PREFIX_BYTES);
    p += HELD_PREFIX_BYTES + e.length;
  }
  return out;
}

/**
 * Decodes a whole message, or null when it is longer than `MAX_DHT_MESSAGE_BYTES`, truncated,
 * has an unknown type/op/status, a key over `MAX_MESSAGE_KEY_BYTES`, more than 16 records, a
 * malformed record, or trailing bytes. Never throws.
 * Record signatures are NOT verified.
 */
export function decodeDhtMessage(bytes: Uint8Array): DhtMessage | null {
  if (bytes.length < DHT_MESSAGE_HEADER_BYTES + 1 || bytes.length > MAX_DHT_MESSAGE_BYTES) {
    return null;
  }
  const type = bytes[0]!;
  const op = bytes[5]!;
  const status = bytes[6]!;
  if (!isType(type) || !isOp(op) || !isStatus(status)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const requestId = view.getUint32(1);
  const keyLen = bytes[7]!;
  if (keyLen > MAX_MESSAGE_KEY_BYTES) return null;
  let p = DHT_MESSAGE_HEADER_BYTES + keyLen;
  if (p + 1 > bytes.length) return null;
  const key = bytes.slice(DHT_MESSAGE_HEADER_BYTES, p);
  const count = bytes[p++]!;
  if (count > MAX_MESSAGE_RECORDS) return null;
  const records: HeldRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (p + HELD_PREFIX_BYTES > bytes.length) return null;
    const remainingMs = view.getUint32(p);
    const got = decodeRecord(bytes, p + HELD_PREFIX_BYTES);
    if (got === null) return null;
    records.push({ record: got.record, remainingMs });
    p = got.end;
  }
  if (p !== bytes.length) return null;
  return { type, requestId, op, status, key, records };
}

function clampU32(ms: number): number {
  return Math.max(0, Math.min(0xffff_ffff, Math.floor(ms)));
}

/** The longest prefix of `records` that fits one message with `key`. */
export function fittingRecords(key: Uint8Array, records: readonly HeldRecord[]): HeldRecord[] {
  const out: HeldRecord[] = [];
  let n = DHT_MESSAGE_HEADER_BYTES + key.length + 1;
  for (const r of records) {
    n += HELD_PREFIX_BYTES + recordWireBytes(r.record);
    if (n > MAX_DHT_MESSAGE_BYTES || out.length >= MAX_MESSAGE_RECORDS) break;
    out.push(r);
  }
  return out;
}
