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
 * A get returns, per owner, the newest version any answering replica holds — tombstones count
 * as versions, so an owner whose newest version is a delete is left out. Signed, strictly
 * increasing sequence numbers make "newest" safe: nobody but the owner can make one. A replica
 * that joined a moment ago and has not been handed the record yet cannot hide it (a false "not
 * found" would cut a live node off for a while), and one that missed a delete is overruled by
 * any replica holding the tombstone. Owners come most-vouched first (replicas holding exactly
 * that version), then oldest first; of a version, the longest remaining lifetime reported wins.
 * The outcome does not depend on the order of `answers`. `notFound` when nothing is left;
 * `noQuorum` when nobody answered.
 */
export function decideGet(answers: readonly ReplicaAnswer[]): Outcome {
  if (answers.length === 0) return { status: DhtStatus.NoQuorum, records: [] };
  const byOwner = new Map<string, { best: HeldRecord; votes: number }>();
  for (const answer of answers) {
    for (const held of newestPerOwner(answer.records)) {
      const owner = held.record.owner.toHex();
      const seen = byOwner.get(owner);
      if (!seen || held.record.seq > seen.best.record.seq) {
        byOwner.set(owner, { best: held, votes: 1 });
      } else if (held.record.seq === seen.best.record.seq) {
        seen.votes++;
        if (held.remainingMs > seen.best.remainingMs) seen.best = held;
      }
    }
  }
  const live = [...byOwner.entries()].filter(([, v]) => !v.best.record.deleted);
  live.sort(([oa, a], [ob, b]) =>
    b.votes - a.votes || a.best.record.seq - b.best.record.seq || (oa < ob ? -1 : 1)
  );
  const records = live.map(([, v]) => v.best);
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
