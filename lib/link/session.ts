import { ReplayWindow } from "./replay_window.ts";

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
}
