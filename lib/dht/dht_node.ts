import type { TimerHandle } from "../clock/clock.ts";
import type { OverlayAddress } from "../overlay/address.ts";
import { OverlayKind } from "../overlay/overlay_message.ts";
import type { Delivery } from "../overlay/overlay_node.ts";
import { DhtClient, type OutcomeHandler } from "./dht_client.ts";
import type { DhtHost } from "./dht_host.ts";
import {
  decodeDhtMessage,
  type DhtMessage,
  DhtMessageType,
  DhtOp,
  DhtStatus,
  encodeDhtMessage,
  fittingRecords,
  type HeldRecord,
} from "./dht_message.ts";
import { bytesEqual, dhtKeyPosition, type DhtRecord, signRecord } from "./dht_record.ts";
import { Coordinator } from "./coordinator.ts";
import type { ReplicaAnswer } from "./quorum.ts";
import { RecordStore } from "./record_store.ts";
import { ReplicaSync } from "./replica_sync.ts";
import { DEFAULT_DHT_TUNING, type DhtTuning } from "./dht_tuning.ts";

/** Signs with this node's identity key (XEdDSA in the agent). */
export interface RecordSigner {
  /** The node's X25519 public key: the owner of the records it writes. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** What a `DhtNode` needs. */
export interface DhtNodeOptions {
  host: DhtHost;
  signer: RecordSigner;
  /** Checks a record's signature against its owner key. */
  verify: (owner: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  tuning?: Partial<DhtTuning>;
  maxRecords?: number;
}

/** What a write stores, before it is signed. */
export interface RecordDraft {
  key: Uint8Array;
  value: Uint8Array;
  ttlSeconds: number;
}

/** Counters for status and metrics. */
export interface DhtStats {
  requests: number;
  coordinated: number;
  replicaRequests: number;
  handoffsReceived: number;
  dropped: number;
}

const OP_NAMES = {
  [DhtOp.Put]: "put",
  [DhtOp.Create]: "create",
  [DhtOp.Renew]: "renew",
  [DhtOp.Delete]: "delete",
} as const;

/**
 * A DHT on the ring: this node is a client (get, put, create, renew, delete with signed
 * records), a coordinator for the keys it is nearest to, and a replica for keys it is among the
 * nearest `replicas` nodes of. See `docs/dht.md` for the protocol.
 */
export class DhtNode {
  readonly stats: DhtStats = {
    requests: 0,
    coordinated: 0,
    replicaRequests: 0,
    handoffsReceived: 0,
    dropped: 0,
  };
  readonly store: RecordStore;
  readonly tuning: DhtTuning;
  readonly #opts: DhtNodeOptions;
  readonly #client: DhtClient;
  readonly #coordinator: Coordinator;
  readonly #sync: ReplicaSync;
  #timer: TimerHandle | null = null;
  #lastSeq = 0;

  constructor(opts: DhtNodeOptions) {
    this.#opts = opts;
    this.tuning = { ...DEFAULT_DHT_TUNING, ...opts.tuning };
    const { host } = opts;
    this.store = new RecordStore({ verify: opts.verify, maxRecords: opts.maxRecords });
    const send = (dst: OverlayAddress, m: DhtMessage) =>
      host.sendKind(OverlayKind.Dht, dst, "exact", encodeDhtMessage(m));
    this.#client = new DhtClient(host, this.tuning, (m) => {
      this.stats.requests++;
      host.sendKind(OverlayKind.Dht, dhtKeyPosition(m.key), "nearest", encodeDhtMessage(m));
    });
    this.#coordinator = new Coordinator({
      host,
      tuning: this.tuning,
      applyLocally: (op, key, records) => this.#apply(op, key, records),
      send,
    });
    this.#sync = new ReplicaSync(host, this.store, this.tuning.replicas, send);
    host.onKind(OverlayKind.Dht, (d) => this.#receive(d));
    this.#schedule();
  }

  /** Records of `key` (newest per owner, voted by the replicas). */
  get(key: Uint8Array, done: OutcomeHandler): void {
    this.#client.request(DhtOp.Get, key, [], done);
  }

  /** Stores our record under `key` beside other owners' records. */
  put(draft: RecordDraft, done: OutcomeHandler): void {
    this.#write(DhtOp.Put, draft, done);
  }

  /** Stores our record under `key` unless another owner holds a live one (then `taken`). */
  create(draft: RecordDraft, done: OutcomeHandler): void {
    this.#write(DhtOp.Create, draft, done);
  }

  /** Extends our record (a new version, same rules as create). */
  renew(draft: RecordDraft, done: OutcomeHandler): void {
    this.#write(DhtOp.Renew, draft, done);
  }

  /** Deletes our record of `key` (a signed tombstone that lives `ttlSeconds`). */
  delete(key: Uint8Array, ttlSeconds: number, done: OutcomeHandler): void {
    this.#write(DhtOp.Delete, { key, value: new Uint8Array(0), ttlSeconds }, done);
  }

  /** Requests waiting for replies, operations being coordinated. */
  get pending(): { requests: number; coordinating: number } {
    return { requests: this.#client.pending, coordinating: this.#coordinator.size };
  }

  /** Stops timers; outstanding requests end as `noQuorum`. */
  close(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#coordinator.close();
    this.#client.close();
  }

  #write(op: DhtOp, draft: RecordDraft, done: OutcomeHandler): void {
    // seq: wall-clock ms, strictly increasing (a restarted node's clock is assumed to move on).
    const seq = Math.max(Math.floor(this.#opts.host.clock.wallNow()), this.#lastSeq + 1);
    this.#lastSeq = seq;
    const record: DhtRecord = signRecord({
      key: draft.key,
      value: draft.value,
      owner: this.#opts.signer.publicKey,
      ttlSeconds: draft.ttlSeconds,
      seq,
      deleted: op === DhtOp.Delete,
    }, (bytes) => this.#opts.signer.sign(bytes));
    this.#client.request(op, draft.key, [{ record, remainingMs: draft.ttlSeconds * 1000 }], done);
  }

  #receive(d: Delivery): void {
    const m = decodeDhtMessage(d.payload);
    if (!m) return void this.stats.dropped++;
    switch (m.type) {
      case DhtMessageType.Request:
        this.stats.coordinated++;
        return this.#coordinator.request(d.src, m);
      case DhtMessageType.Reply:
        return this.#client.reply(m);
      case DhtMessageType.ReplicaRequest: {
        this.stats.replicaRequests++;
        const answer = this.#apply(m.op, m.key, m.records);
        const reply = encodeDhtMessage({
          ...m,
          type: DhtMessageType.ReplicaReply,
          status: answer.status,
          records: fittingRecords(m.key, answer.records),
        });
        return this.#opts.host.sendKind(OverlayKind.Dht, d.src, "exact", reply);
      }
      case DhtMessageType.ReplicaReply:
        return this.#coordinator.replicaReply(d.src, m);
      case DhtMessageType.Handoff: {
        const now = this.#opts.host.clock.now();
        for (const { record, remainingMs } of m.records) {
          this.stats.handoffsReceived++;
          this.store.accept(record, remainingMs, now);
        }
      }
    }
  }

  /** Carries out an operation on our own store, as a replica. */
  #apply(op: DhtOp, key: Uint8Array, records: HeldRecord[]): ReplicaAnswer {
    const now = this.#opts.host.clock.now();
    if (op === DhtOp.Get) {
      return {
        status: DhtStatus.Ok,
        records: this.store.versions(key, now).map((record) => ({
          record,
          remainingMs: this.store.remainingMs(record, now),
        })),
      };
    }
    const name = OP_NAMES[op as keyof typeof OP_NAMES];
    const held = records[0];
    if (!name || records.length !== 1 || !held || !bytesEqual(held.record.key, key)) {
      return { status: DhtStatus.Rejected, records: [] };
    }
    const result = this.store.apply(name, held.record, now);
    return {
      status: result.status,
      records: result.records.map((record) => ({
        record,
        remainingMs: this.store.remainingMs(record, now),
      })),
    };
  }

  #schedule(): void {
    const jitterMs = this.#opts.host.rng.uint32() % 1000;
    this.#timer = this.#opts.host.clock.setTimer(this.tuning.syncMs + jitterMs, () => {
      this.#sync.round();
      this.#schedule();
    });
  }
}
