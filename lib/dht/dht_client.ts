import type { TimerHandle } from "../clock/clock.ts";
import {
  type DhtMessage,
  DhtMessageType,
  type DhtOp,
  DhtStatus,
  type HeldRecord,
} from "./dht_message.ts";
import type { DhtHost } from "./dht_host.ts";
import type { DhtTuning } from "./dht_tuning.ts";
import type { Outcome } from "./quorum.ts";

/** Called once with the outcome of a request. */
export type OutcomeHandler = (outcome: Outcome) => void;

interface Pending {
  message: DhtMessage;
  attempts: number;
  timer: TimerHandle | null;
  done: OutcomeHandler;
}

/**
 * The client side: a request is routed (nearest delivery) to the node nearest to the key's
 * position, which coordinates it; the reply comes back routed exactly. Unanswered requests are
 * sent again (`requestAttempts` sends `requestTimeoutMs` apart; writes are idempotent at the
 * replicas), then end as `noQuorum`.
 */
export class DhtClient {
  readonly #host: DhtHost;
  readonly #tuning: DhtTuning;
  readonly #send: (message: DhtMessage) => void;
  readonly #pending = new Map<number, Pending>();

  constructor(host: DhtHost, tuning: DhtTuning, send: (m: DhtMessage) => void) {
    this.#host = host;
    this.#tuning = tuning;
    this.#send = send;
  }

  /** Requests waiting for a reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Starts a request; `done` is called exactly once (possibly before this returns). */
  request(op: DhtOp, key: Uint8Array, records: HeldRecord[], done: OutcomeHandler): void {
    if (this.#pending.size >= this.#tuning.maxPendingRequests) {
      return done({ status: DhtStatus.Full, records: [] });
    }
    let requestId: number;
    do requestId = this.#host.rng.uint32(); while (this.#pending.has(requestId));
    const message: DhtMessage = {
      type: DhtMessageType.Request,
      requestId,
      op,
      status: DhtStatus.Ok,
      key,
      records,
    };
    const pending: Pending = { message, attempts: 0, timer: null, done };
    this.#pending.set(requestId, pending);
    this.#attempt(pending);
  }

  /** A coordinator's reply reached us. */
  reply(m: DhtMessage): void {
    const pending = this.#pending.get(m.requestId);
    if (!pending || pending.message.op !== m.op) return;
    this.#end(pending, { status: m.status, records: m.records });
  }

  /** Ends every request with `noQuorum`. */
  close(): void {
    for (const p of [...this.#pending.values()]) {
      this.#end(p, { status: DhtStatus.NoQuorum, records: [] });
    }
  }

  #attempt(pending: Pending): void {
    pending.attempts++;
    pending.timer = this.#host.clock.setTimer(this.#tuning.requestTimeoutMs, () => {
      if (pending.attempts >= this.#tuning.requestAttempts) {
        this.#end(pending, { status: DhtStatus.NoQuorum, records: [] });
      } else this.#attempt(pending);
    });
    // Sent after the timer is set: a local coordinator may answer inside this call.
    this.#send(pending.message);
  }

  #end(pending: Pending, outcome: Outcome): void {
    if (this.#pending.get(pending.message.requestId) !== pending) return;
    this.#pending.delete(pending.message.requestId);
    pending.timer?.cancel();
    pending.done(outcome);
  }
}
