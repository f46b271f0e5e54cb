/**
 * The production `OverlayNode` as a simulator node.
 *
 * @module
 */
import { OverlayNode } from "../../lib/overlay/overlay_node.ts";
import type { OverlayTuning } from "../../lib/overlay/tuning.ts";
import type { SimNode, SimNodeFactory } from "./sim_node.ts";

/** A factory of real overlay nodes with the given tuning overrides. */
export function overlayNodeFactory(tuning: Partial<OverlayTuning> = {}): SimNodeFactory {
  return (parts): SimNode => new OverlayNode({ ...parts, tuning });
}
