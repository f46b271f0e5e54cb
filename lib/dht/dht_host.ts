import type { Clock, Rng } from "../clock/clock.ts";
import type { OverlayAddress } from "../overlay/address.ts";
import type { Delivery } from "../overlay/overlay_node.ts";
import type { OverlayKind } from "../overlay/overlay_message.ts";

/**
 * The slice of `OverlayNode` the DHT needs: its address, time, randomness, who it is linked to,
 * and routed messages of the DHT kind. A handler may be called synchronously from inside
 * `sendKind` when the message is for this node (the node is the nearest to a key).
 */
export interface DhtHost {
  readonly address: OverlayAddress;
  readonly clock: Clock;
  readonly rng: Rng;
  /** Addresses of the connections that are up (the coordinator picks replicas among them). */
  readonly upAddresses: readonly OverlayAddress[];
  onKind(kind: typeof OverlayKind.Dht, handler: (d: Delivery) => void): void;
  sendKind(
    kind: typeof OverlayKind.Dht,
    dst: OverlayAddress,
    mode: "exact" | "nearest",
    body: Uint8Array,
  ): void;
}
