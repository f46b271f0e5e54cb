/**
 * Simulator nodes that run the whole address stack: the production `OverlayNode`, a `DhtNode`
 * on it (records signed with XEdDSA) and a `LeaseClient` claiming a virtual address. The
 * factory keeps every node's parts by overlay address so that a harness can read leases and
 * issue DHT operations.
 *
 * @module
 */
import { xeddsaSign, xeddsaVerify } from "../../lib/crypto/xeddsa.ts";
import { LeaseClient, type LeaseTuning } from "../../lib/dhcp/lease_client.ts";
import type { Subnet } from "../../lib/dhcp/subnet.ts";
import { DhtNode } from "../../lib/dht/dht_node.ts";
import type { DhtTuning } from "../../lib/dht/dht_tuning.ts";
import { OverlayNode } from "../../lib/overlay/overlay_node.ts";
import type { OverlayTuning } from "../../lib/overlay/tuning.ts";
import type { SimNodeFactory } from "./sim_node.ts";

/** One simulated node's stack. */
export interface LeasedNode {
  readonly overlay: OverlayNode;
  readonly dht: DhtNode;
  readonly lease: LeaseClient;
}

/** Options of `leasedNodeFactory`. */
export interface LeasedFactoryOptions {
  network: string;
  subnet: Subnet;
  /** Extra gate before a joined node claims (e.g. "all claim at the same moment"). */
  mayClaim?: () => boolean;
  overlay?: Partial<OverlayTuning>;
  dht?: Partial<DhtTuning>;
  lease?: Partial<LeaseTuning>;
}

/** A factory and the registry of the nodes it made (ended nodes stay in it). */
export function leasedNodeFactory(
  opts: LeasedFactoryOptions,
): { factory: SimNodeFactory; nodes: Map<bigint, LeasedNode> } {
  const nodes = new Map<bigint, LeasedNode>();
  const mayClaim = opts.mayClaim ?? (() => true);
  const factory: SimNodeFactory = (parts) => {
    const overlay = new OverlayNode({ ...parts, tuning: opts.overlay });
    const { identity, rng, clock } = parts;
    const dht = new DhtNode({
      host: overlay,
      signer: {
        publicKey: identity.publicKey,
        sign: (m) => xeddsaSign(identity.privateKey, m, rng.fill(new Uint8Array(64))),
      },
      verify: xeddsaVerify,
      tuning: opts.dht,
    });
    const lease = new LeaseClient({
      dht,
      clock,
      rng,
      network: opts.network,
      subnet: opts.subnet,
      publicKey: identity.publicKey,
      ready: () => overlay.settled && mayClaim(),
      alone: () => overlay.upAddresses.length === 0,
      onLease: () => {},
      tuning: opts.lease,
    });
    lease.start();
    nodes.set(overlay.address, { overlay, dht, lease });
    // Ending the overlay node ends its DHT and lease client too (no timers left behind).
    const leave = overlay.leave.bind(overlay);
    const close = overlay.close.bind(overlay);
    overlay.leave = () => {
      lease.release(); // the delete is on its way before the goodbye
      lease.close();
      dht.close();
      leave();
    };
    overlay.close = () => {
      lease.close();
      dht.close();
      close();
    };
    return overlay;
  };
  return { factory, nodes };
}
