import type { DhtStatus as Status, HeldRecord } from "./dht_message.ts";
import { DhtStatus } from "./dht_message.ts";
import { majorityOf } from "./replica_set.ts";

/** One replica's answer to a coordinator. */
export interface ReplicaAnswer {
  status: Status;
  records: HeldRecord[];
}

/** What a coordinator tells the client. */
export type Outcome = ReplicaAnswer;

/**
 * A write (put, create, renew, delete) succeeds when a majority of the `replicaCount` replicas
 * stored it. Otherwise the most telling failure is reported: another owner holds the key
 * (taken, with that owner's records), a replica is full, the record was refused, or too few
 * replicas answered (noQuorum).
 */
export function decideWrite(replicaCount: number, answers: readonly ReplicaAnswer[]): Outcome {
  const ok = answers.filter((a) => a.status === DhtStatus.Ok).length;
  if (ok >= majorityOf(replicaCount)) return { status: DhtStatus.Ok, records: [] };
  const taken = answers.filter((a) => a.status === DhtStatus.Taken);
  if (taken.length > 0) {
    return { status: DhtStatus.Taken, records: newestPerOwner(taken.flatMap((a) => a.records)) };
  }
  for (const status of [DhtStatus.Full, DhtStatus.Rejected]) {
    if (answers.some((a) => a.status === status)) return { status, records: [] };
  }
  return { status: DhtStatus.NoQuorum, records: [] };
}

/**
 * A get returns, per owner, the newest version that at least half of the answering replicas
 * vouch for, a replica vouching for every version up to the one it holds (it held each of them
 * before the owner replaced it). A replica that joined a moment ago and has not been handed the
 * record yet is outvoted; so is one that missed a delete, and so is a newer version that reached
 * only a minority (a write that failed). Of the winning version the longest remaining lifetime
 * any holder reported is returned. The outcome (records sorted by owner) does not depend on the
 * order of `answers`.
 * `notFound` when nothing qualifies; `noQuorum` when nobody answered.
 */
export function decideGet(answers: readonly ReplicaAnswer[]): Outcome {
  if (answers.length === 0) return { status: DhtStatus.NoQuorum, records: [] };
  // Per owner: each answer's newest copy (one per answer, so one vote per replica).
  const byOwner = new Map<string, HeldRecord[]>();
  for (const answer of answers) {
    for (const held of newestPerOwner(answer.records)) {
      const owner = held.record.owner.toHex();
      const copies = byOwner.get(owner);
      if (copies) copies.push(held);
      else byOwner.set(owner, [held]);
    }
  }
  const needed = Math.ceil(answers.length / 2);
  const records: HeldRecord[] = [];
  for (const [, copies] of [...byOwner].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
    // Newest first: the copy at index `needed - 1` is the newest version `needed` replicas
    // hold at least.
    copies.sort((a, b) => b.record.seq - a.record.seq);
    const seq = copies[needed - 1]?.record.seq;
    if (seq === undefined) continue;
    let best: HeldRecord | undefined;
    for (const held of copies) {
      if (held.record.seq !== seq) continue;
      if (best === undefined || held.remainingMs > best.remainingMs) best = held;
    }
    records.push(best!);
  }
  return { status: records.length > 0 ? DhtStatus.Ok : DhtStatus.NotFound, records };
}

/** The newest record of each owner. */
export function newestPerOwner(records: readonly HeldRecord[]): HeldRecord[] {
  const byOwner = new Map<string, HeldRecord>();
  for (const held of records) {
    const owner = held.record.owner.toHex();
    const seen = byOwner.get(owner);
    if (!seen || held.record.seq > seen.record.seq) byOwner.set(owner, held);
  }
  return [...byOwner.values()];
}
