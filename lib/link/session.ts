import type { Aead } from "../crypto/aead.ts";
import {
  DATA_HEADER_BYTES,
  DATA_OVERHEAD_BYTES,
  DATA_TAG_BYTES,
  type DataType,
  readCounter,
  writeDataHeader,
} from "../wire/data_message.ts";
import { REJECT_AFTER_TIME_MS } from "./constants.ts";
import { ReplayWindow } from "./replay_window.ts";

/** Why `Session.open` refused a data message. */
export type OpenFailure = "replayed" | "expired" | "unauthenticated";

/**
 * One set of transport keys agreed by a handshake, identified on the wire by the index each side
 * chose for it. A session is used to send only while young enough and under its message limit.
 */
export class Session {
  /** The next counter to send. */
  sendCounter = 0;
  /** Filters replayed and stale counters on receive. */
  readonly replay = new ReplayWindow();

  constructor(
    /** Our index: peers put it in the data messages they send us. */
    readonly localIndex: number,
    /** The peer's index: we put it in the data messages we send. */
    readonly remoteIndex: number,
    readonly sendKey: Uint8Array,
    readonly recvKey: Uint8Array,
    /** True when we sent the initiation that made this session. */
    readonly isInitiator: boolean,
    /** Clock time at creation, ms. */
    readonly createdAt: number,
  ) {}

  /** Age in ms at `now`. */
  age(now: number): number {
    return now - this.createdAt;
  }

  /**
   * Seals `payload` as a data message of `type` with the next counter and returns the datagram.
   * When `payload` has `DATA_HEADER_BYTES` free before it and `DATA_TAG_BYTES` after it in its
   * buffer (a `Tun` guarantees that), it is sealed in place; otherwise in a scratch buffer shared
   * by the process. Either way the result is valid until the next seal: send (copy) it at once.
   */
  seal(aead: Aead, payload: Uint8Array, type: DataType): Uint8Array {
    const buf = payload.buffer as ArrayBuffer;
    const inPlace = payload.byteOffset >= DATA_HEADER_BYTES &&
      payload.byteOffset + payload.length + DATA_TAG_BYTES <= buf.byteLength;
    let msg: Uint8Array;
    if (inPlace) {
      const start = payload.byteOffset - DATA_HEADER_BYTES;
      msg = new Uint8Array(buf, start, payload.length + DATA_OVERHEAD_BYTES);
    } else {
      msg = sealScratch(payload.length + DATA_OVERHEAD_BYTES);
      msg.set(payload, DATA_HEADER_BYTES);
    }
    const counter = this.sendCounter++;
    writeDataHeader(msg, type, this.remoteIndex, counter);
    const body = msg.subarray(DATA_HEADER_BYTES);
    const header = msg.subarray(0, DATA_HEADER_BYTES);
    aead.seal(this.sendKey, counter, header, body.subarray(0, payload.length), body);
    return msg;
  }

  /**
   * Opens the data message `data` (for this session) in place: checks the counter against the
   * replay window, decrypts, and records the counter. Returns the plaintext length (the
   * plaintext starts at `DATA_HEADER_BYTES`), or why the message must be dropped.
   */
  open(aead: Aead, data: Uint8Array, now: number): number | OpenFailure {
    const counter = readCounter(data);
    if (!this.replay.mayAccept(counter)) return "replayed";
    if (this.age(now) >= REJECT_AFTER_TIME_MS) return "expired";
    const body = data.subarray(DATA_HEADER_BYTES);
    const n = aead.open(this.recvKey, counter, data.subarray(0, DATA_HEADER_BYTES), body, body);
    if (n < 0) return "unauthenticated";
    return this.replay.accept(counter) ? n : "replayed";
  }
}

let scratch = new Uint8Array(2048);

/**
 * A view of `size` bytes of a buffer shared by every session in the process (one thread): one
 * buffer rather than one per link layer keeps a simulator with 10,000 nodes small.
 */
function sealScratch(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, scratch.length * 2));
  return scratch.subarray(0, size);
}
