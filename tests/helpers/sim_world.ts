/**
 * A simulated world of real overlay nodes (production code, fast native crypto) on the
 * in-memory network and a virtual clock, for the small simulation tests.
 */
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import { overlayNodeFactory } from "../../bench/sim/overlay_factory.ts";
import type { SimNodeFactory } from "../../bench/sim/sim_node.ts";
import { SimWorld } from "../../bench/sim/world.ts";

/** The network and nodes of a test world. */
export interface TestWorldOptions {
  seed: number;
  /** One-way latency, virtual ms. */
  latencyMs: number;
  /** Extra random latency in [0, jitterMs), virtual ms (default 0). */
  jitterMs?: number;
  /** Nodes (default: `OverlayNode` with default tuning). */
  factory?: SimNodeFactory;
}

/** A world whose nodes are real overlay nodes. */
export function overlayWorld(opts: TestWorldOptions): SimWorld {
  return new SimWorld({
    seed: opts.seed,
    factory: opts.factory ?? overlayNodeFactory(),
    aead: loadFastAead(),
    x25519: loadFastX25519(),
    latencyMs: opts.latencyMs,
    jitterMs: opts.jitterMs ?? 0,
  });
}
