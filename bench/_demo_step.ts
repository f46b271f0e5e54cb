/**
 * What the steps of `deno task demo` share: the error that fails a step, an abortable sleep, and
 * the agents' leased addresses as the live view last saw them.
 *
 * @module
 */
import type { LiveView } from "./_demo_live.ts";
import { leasedIp } from "./_demo_view.ts";

/** A step that failed; the tour ends unless --keep-going. */
export class StepFailed extends Error {
  override name = "StepFailed";
}

/** Sleeps `ms`, or less when `signal` aborts; clears its timer either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** Each agent's leased address as last polled ("0.0.0.0" where there is none). */
export function ipsOf(v: LiveView): string[] {
  return v.statuses.map((s) => leasedIp(s) ?? "0.0.0.0");
}
