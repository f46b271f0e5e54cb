import type { TimerHandle } from "../clock/clock.ts";
import type { OverlayAddress } from "../overlay/address.ts";
import { dhtKeyPosition } from "./dht_record.ts";
import {
  type DhtMessage,
  DhtMessageType,
  DhtOp,
  DhtStatus,
  fittingRecords,
  type HeldRecord,
} from "./dht_message.ts";
import type { DhtHost } from "./dht_host.ts";
import type { DhtTuning } from "./dht_tuning.ts";
import { decideGet, decideWrite, type Outcome, type ReplicaAnswer } from "./quorum.ts";
import { nearestTo } from "./replica_set.ts";

/** One client request being carried out over the replicas. */
interface Operation {
  client: OverlayAddress;
  clientRequestId: number;
  op: DhtOp;
  key: Uint8Array;
  records: HeldRecord[];
  keyHex: string;
  /** Our id of the replica round (set when it starts). */
  roundId: number;
  replicas: OverlayAddress[];
  answers: Map<OverlayAddress, ReplicaAnswer>;
  timer: TimerHandle | null;
}

/** What the coordinator needs besides the host. */
export interface CoordinatorParts {
  host: DhtHost;
  tuning: DhtTuning;
  /** Carries out `op` on this node's own store (this node is one of the replicas). */
  applyLocally(op: DhtOp, key: Uint8Array, records: HeldRecord[]): ReplicaAnswer;
  /** Sends a DHT message to `dst` (exact delivery). */
  send(dst: OverlayAddress, message: DhtMessage): void;
}

/**
 * The node nearest to a key's ring position coordinates every operation on the key: it picks
 * the replicas (itself and the connections nearest to the position), asks each of them, and
 * answers the client with the majority's outcome (`quorum.ts`). Operations on one key run one
 * at a time, in arrival order, so two creates of the same key through the same coordinator
 * cannot both win; a replica that does not answer within `replicaTimeoutMs` counts as a no.
 */
export class Coordinator {
  readonly #parts: CoordinatorParts;
  readonly #rounds = new Map<number, Operation>();
  /** Per key: the running operation first, then those waiting for it. */
  readonly #queues = new Map<string, Operation[]>();
  #operations = 0;

  constructor(parts: CoordinatorParts) {
    this.#parts = parts;
  }

  /** Operations running or queued. */
  get size(): number {
    return this.#operations;
  }

  /** A client's request reached us, the nearest node to its key. */
  request(client: OverlayAddress, m: DhtMessage): void {
    const keyHex = m.key.toHex();
    const queue = this.#queues.get(keyHex);
    const { maxQueuedPerKey, maxCoordinating } = this.#parts.tuning;
    if (this.#operations >= maxCoordinating || (queue?.length ?? 0) > maxQueuedPerKey) {
      return this.#reply(client, m.requestId, m.op, m.key, { status: DhtStatus.Full, records: [] });
    }
    const op: Operation = {
      client,
      clientRequestId: m.requestId,
      op: m.op,
      key: m.key,
      records: m.records,
      keyHex,
      roundId: 0,
      replicas: [],
      answers: new Map(),
      timer: null,
    };
    this.#operations++;
    if (queue) return void queue.push(op);
    this.#queues.set(keyHex, [op]);
    this.#start(op);
  }

  /** A replica answered one of our rounds. */
  replicaReply(replica: OverlayAddress, m: DhtMessage): void {
    const op = this.#rounds.get(m.requestId);
    if (!op || !op.replicas.includes(replica) || op.answers.has(replica)) return;
    op.answers.set(replica, { status: m.status, records: m.records });
    if (op.answers.size === op.replicas.length) this.#finish(op);
  }

  /** Stops every round (answers nobody). */
  close(): void {
    for (const op of this.#rounds.values()) op.timer?.cancel();
    this.#rounds.clear();
    this.#queues.clear();
    this.#operations = 0;
  }

  #start(op: Operation): void {
    const { host, tuning } = this.#parts;
    const position = dhtKeyPosition(op.key);
    op.replicas = nearestTo(position, [host.address, ...host.upAddresses], tuning.replicas);
    do op.roundId = host.rng.uint32(); while (this.#rounds.has(op.roundId));
    this.#rounds.set(op.roundId, op);
    op.timer = host.clock.setTimer(tuning.replicaTimeoutMs, () => this.#finish(op));
    for (const replica of op.replicas) {
      if (replica === host.address) continue;
      this.#parts.send(replica, {
        type: DhtMessageType.ReplicaRequest,
        requestId: op.roundId,
        op: op.op,
        status: DhtStatus.Ok,
        key: op.key,
        records: op.records,
      });
    }
    if (op.replicas.includes(host.address)) {
      op.answers.set(host.address, this.#parts.applyLocally(op.op, op.key, op.records));
    }
    if (op.answers.size === op.replicas.length) this.#finish(op);
  }

  #finish(op: Operation): void {
    if (this.#rounds.get(op.roundId) !== op) return;
    op.timer?.cancel();
    this.#rounds.delete(op.roundId);
    this.#operations--;
    const answers = [...op.answers.values()];
    const outcome = op.op === DhtOp.Get
      ? decideGet(answers)
      : decideWrite(op.replicas.length, answers);
    if (op.op === DhtOp.Get) this.#repair(op, outcome);
    const queue = this.#queues.get(op.keyHex)!;
    queue.shift();
    const next = queue[0];
    if (!next) this.#queues.delete(op.keyHex);
    // Reply before starting the next round: the reply may re-enter us (a local client).
    this.#reply(op.client, op.clientRequestId, op.op, op.key, outcome);
    if (next) this.#start(next);
  }

  /** Hands the records a get settled on to the replicas that answered without them. */
  #repair(op: Operation, outcome: Outcome): void {
    for (const [replica, answer] of op.answers) {
      if (replica === this.#parts.host.address) continue;
      const have = new Set(answer.records.map(({ record: r }) => `${r.owner.toHex()}/${r.seq}`));
      const missing = outcome.records.filter(({ record: r }) =>
        !have.has(`${r.owner.toHex()}/${r.seq}`)
      );
      for (const held of missing) {
        this.#parts.send(replica, {
          type: DhtMessageType.Handoff,
          requestId: 0,
          op: DhtOp.Put,
          status: DhtStatus.Ok,
          key: op.key,
          records: [held],
        });
      }
    }
  }

  #reply(client: OverlayAddress, requestId: number, op: DhtOp, key: Uint8Array, o: Outcome) {
    this.#parts.send(client, {
      type: DhtMessageType.Reply,
      requestId,
      op,
      status: o.status,
      key,
      records: fittingRecords(key, o.records),
    });
  }
}
