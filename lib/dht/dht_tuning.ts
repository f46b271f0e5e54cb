/** Tuning knobs of the DHT. Durations in milliseconds. */
export interface DhtTuning {
  /** Replicas per key: the nodes nearest to the key's ring position. */
  replicas: number;
  /** How long a coordinator waits for its replicas before it decides with the answers it has. */
  replicaTimeoutMs: number;
  /** How long a client waits for the coordinator's reply before it sends the request again. */
  requestTimeoutMs: number;
  /** Sends of one request before the client gives up (`noQuorum`). */
  requestAttempts: number;
  /** How often stored records are swept and handed to replicas that lack them. */
  syncMs: number;
  /** Requests a coordinator queues per key behind the one in progress. */
  maxQueuedPerKey: number;
  /** Operations a coordinator runs or queues at once, all keys together. */
  maxCoordinating: number;
  /** Client requests waiting for a reply at once. */
  maxPendingRequests: number;
}

/** The defaults: 5 replicas (writes need 3), answers within a few seconds under churn. */
export const DEFAULT_DHT_TUNING: DhtTuning = {
  replicas: 5,
  replicaTimeoutMs: 1_500,
  requestTimeoutMs: 2_500,
  requestAttempts: 3,
  syncMs: 5_000,
  maxQueuedPerKey: 16,
  maxCoordinating: 4_096,
  maxPendingRequests: 4_096,
};
