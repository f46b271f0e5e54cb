import type { OverlayAddress } from "../overlay/address.ts";
import { dhtKeyPosition } from "./dht_record.ts";
import type { DhtHost } from "./dht_host.ts";
import { type DhtMessage, DhtMessageType, DhtOp, DhtStatus } from "./dht_message.ts";
import type { RecordStore } from "./record_store.ts";
import { nearestTo } from "./replica_set.ts";

/** Rounds after which every record is handed to its replicas again. */
export const FULL_RESYNC_ROUNDS = 12;

/**
 * Keeps every stored record on the replicas it belongs on as the ring changes. Each round it
 * sweeps expired records, works out each record's replica set from what this node knows (itself
 * and its up connections) and hands the record, with its remaining lifetime, to members it has
 * not handed this version to yet: a node that joins next to a key, or replaces a crashed
 * replica, is handed the key's records within one round. Traffic is bounded by the store's
 * bound; a version is handed to each member once per `FULL_RESYNC_ROUNDS` rounds (so a member
 * that lost its records, by a restart with the same key, gets them again).
 */
export class ReplicaSync {
  readonly #host: DhtHost;
  readonly #store: RecordStore;
  readonly #replicas: number;
  readonly #send: (dst: OverlayAddress, m: DhtMessage) => void;
  /** Per record version (key/owner/seq): the members it was handed to. */
  #handed = new Map<string, Set<OverlayAddress>>();
  #rounds = 0;
  /** Records handed to other nodes so far. */
  handoffs = 0;

  constructor(
    host: DhtHost,
    store: RecordStore,
    replicas: number,
    send: (dst: OverlayAddress, m: DhtMessage) => void,
  ) {
    this.#host = host;
    this.#store = store;
    this.#replicas = replicas;
    this.#send = send;
  }

  /** One round: sweep, then hand records to the replicas that lack them. */
  round(): void {
    const now = this.#host.clock.now();
    this.#store.sweep(now);
    const known = [this.#host.address, ...this.#host.upAddresses];
    const handed = new Map<string, Set<OverlayAddress>>();
    if (++this.#rounds % FULL_RESYNC_ROUNDS === 0) this.#handed.clear();
    for (const { record, expiresAt } of this.#store.entries(now)) {
      const version = `${record.key.toHex()}/${record.owner.toHex()}/${record.seq}`;
      const before = this.#handed.get(version) ?? new Set<OverlayAddress>();
      handed.set(version, before);
      const members = nearestTo(dhtKeyPosition(record.key), known, this.#replicas);
      for (const member of members) {
        if (member === this.#host.address || before.has(member)) continue;
        before.add(member);
        this.handoffs++;
        this.#send(member, {
          type: DhtMessageType.Handoff,
          requestId: 0,
          op: DhtOp.Put,
          status: DhtStatus.Ok,
          key: record.key,
          records: [{ record, remainingMs: expiresAt - now }],
        });
      }
    }
    this.#handed = handed; // versions no longer stored are forgotten
  }
}
