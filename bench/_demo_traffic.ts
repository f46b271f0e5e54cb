/**
 * The last steps of `deno task demo`: wait for two agents with no direct link (`_demo_pair.ts`),
 * then show an on-demand shortcut forming between them. The sender first pings the receiver at
 * 1 packet/s (below the shortcut threshold of 2/s: the traffic stays on the overlay route), then
 * at 10 packets/s for `DEMO_TRAFFIC_MS` while its status is polled (`watchLink`); `ipop ping`
 * shows the route before and after, and the outcome (when the link turned direct, the RTT before
 * and after) goes into the final summary (`shortcutVerdict`).
 *
 * @module
 */
import type { PingAnswer } from "../lib/agent/agent_control.ts";
import type { AgentStatus } from "../lib/agent/agent_status.ts";
import { requestControl, requestStatus } from "../lib/control/control_client.ts";
import { formatPing } from "../lib/control/peers_text.ts";
import type { NatRig } from "../tests/helpers/nat_rig.ts";
import type { LiveView } from "./_demo_live.ts";
import type { DemoMember } from "./_demo_net.ts";
import { chooseShortcutPair, type PairChoice } from "./_demo_pair.ts";
import {
  linkKind,
  median,
  parsePingReplies,
  parsePingSummary,
  readLink,
  type ShortcutOutcome,
  shortcutVerdict,
  splitRtts,
  watchLink,
} from "./_demo_shortcut.ts";
import { ipsOf, sleep, StepFailed } from "./_demo_step.ts";
import { type DemoAgent, routeByName } from "./_demo_view.ts";

/** Length of the fast traffic between the chosen pair. */
export const DEMO_TRAFFIC_MS = 10_000;
/** Time between two requests of that traffic (`ping -i 0.1`: 10 packets/s). */
export const DEMO_TRAFFIC_INTERVAL_MS = 100;
/** Pings at 1/s before the fast traffic (their RTT is the overlay route's). */
export const DEMO_SLOW_PINGS = 3;
/** Bound of the wait for a pair with no direct link, after the ping matrix. */
export const DEMO_PAIR_WAIT_MS = 30_000;
/** Bound of one `ipop ping` request (it traces the route for up to 5 s). */
const IPOP_PING_TIMEOUT_MS = 12_000;
/** Bound of one status request while the traffic runs. */
const STATUS_TIMEOUT_MS = 2_000;

async function ipopPing(v: LiveView, from: DemoMember, ip: string): Promise<string[]> {
  const cmd = `$ ipop ping ${ip}   (on ${from.agent.name})`;
  try {
    const a = await requestControl(from.proc.stateDir, { cmd: "ping", ip }, {
      timeoutMs: IPOP_PING_TIMEOUT_MS,
    }) as PingAnswer;
    return [
      cmd,
      `  ${formatPing(a)}`,
      `  route by name: ${from.agent.name} -> ${routeByName(a.route, (h) => v.tracker.nameOf(h))}`,
    ];
  } catch (e) {
    return [cmd, `  failed: ${e instanceof Error ? e.message : String(e)}`];
  }
}

/**
 * Waits (up to `DEMO_PAIR_WAIT_MS`) for a pair with no direct link that may get a shortcut
 * (`chooseShortcutPair`); the join links of the first minute close as they stop being needed.
 * Without one it says so and returns the fallback pair (already linked).
 */
export async function waitForPair(
  v: LiveView,
  members: DemoMember[],
  signal: AbortSignal,
): Promise<PairChoice> {
  const agents = members.map((m) => m.agent);
  const deadline = performance.now() + DEMO_PAIR_WAIT_MS;
  let choice = chooseShortcutPair(agents, v.statuses);
  while (choice?.unlinked !== true && !signal.aborted && performance.now() < deadline) {
    await sleep(500, signal);
    choice = chooseShortcutPair(agents, v.statuses);
  }
  if (choice === undefined) throw new StepFailed("no two agents to send traffic between");
  const [a, b] = [members[choice.from]!.agent, members[choice.to]!.agent];
  v.note(
    "",
    choice.unlinked
      ? `pair: ${a.name} (${placeOf(a)}) and ${b.name} (${placeOf(b)}) have no direct link`
      : `no pair without a direct link after ` +
        `${DEMO_PAIR_WAIT_MS / 1000} s; traffic between ${a.name} and ${b.name} (linked) instead`,
  );
  return choice;
}

function placeOf(a: DemoAgent): string {
  return a.place === "public" ? "public" : `${a.site} ${a.place}`;
}

/**
 * Pings from one agent of the pair to the other, `DEMO_SLOW_PINGS` at 1/s and then at 10
 * packets/s for `DEMO_TRAFFIC_MS`, while watching the sender's link to the receiver; hands the
 * outcome to `report` (also when the traffic got no reply, which fails the step; a shortcut that
 * does not form does not). When `signal` aborts, the traffic stops at once and nothing is
 * reported.
 */
export async function shortcutStep(
  v: LiveView,
  nat: NatRig,
  members: DemoMember[],
  pair: PairChoice,
  now: () => number,
  signal: AbortSignal,
  report: (o: ShortcutOutcome) => void,
): Promise<void> {
  const { from: i, to: j } = pair;
  const a = members[i]!;
  const b = members[j]!;
  const ip = ipsOf(v)[j]!;
  const peer = () => v.statuses[j]?.address;
  const nameOf = (h: string) => v.tracker.nameOf(h);
  const status = async () =>
    await requestStatus(a.proc.stateDir, { timeoutMs: STATUS_TIMEOUT_MS }) as AgentStatus;
  v.note(
    `traffic: ${a.agent.name} -> ${b.agent.name} ${ip}; link now: ${
      linkKind(v.statuses[i], peer(), nameOf)
    }`,
    ...await ipopPing(v, a, ip),
  );
  if (signal.aborted) return;
  const slow = await nat.rig.exec(a.proc.ns, [
    "ping",
    "-n",
    "-c",
    String(DEMO_SLOW_PINGS),
    "-i",
    "1",
    "-W",
    "2",
    ip,
  ], { timeoutMs: DEMO_SLOW_PINGS * 1_000 + 5_000 });
  const slowRtts = parsePingReplies(slow.stdout).map((r) => r.rttMs);
  const before = linkKind(await status().catch(() => undefined), peer(), nameOf);
  const slowMedian = median(slowRtts);
  v.note(
    `ping at 1/s (below the shortcut threshold), ${slowRtts.length}/${DEMO_SLOW_PINGS} replies, ` +
      `RTT ${
        slowMedian === undefined ? "-" : `${slowMedian.toFixed(2)} ms`
      }; link before: ${before}`,
  );
  const start = now();
  v.tracker.trafficStartMs = start;
  const secs = String(DEMO_TRAFFIC_MS / 1000);
  const interval = (DEMO_TRAFFIC_INTERVAL_MS / 1000).toFixed(1);
  // Spawned, not run: stopping the demo (SIGTERM to it alone) ends the traffic at once.
  const ping = nat.rig.spawn(a.proc.ns, ["ping", "-n", "-i", interval, "-w", secs, ip]);
  const interrupt = () => ping.kill("SIGINT");
  signal.addEventListener("abort", interrupt);
  const ended = ping.wait(DEMO_TRAFFIC_MS + 5_000);
  const read = async () => readLink(await status(), peer(), nameOf);
  const seen = await watchLink(read, ended, now);
  signal.removeEventListener("abort", interrupt);
  if (await ended === undefined) {
    ping.kill("SIGINT");
    if (await ping.wait(3_000) === undefined) ping.kill("SIGKILL");
  }
  // It has exited: `output()` only waits for the rest of its output (the summary comes last).
  const stdout = (await ping.output()).stdout;
  const trafficMs = now() - start;
  if (signal.aborted) return;
  await v.pollNow();
  const pings = parsePingSummary(stdout);
  const directAfterMs = seen === undefined ? undefined : Math.max(0, seen.atMs - start);
  const fast = splitRtts(parsePingReplies(stdout), directAfterMs, DEMO_TRAFFIC_INTERVAL_MS);
  const outcome: ShortcutOutcome = {
    from: a.agent.name,
    to: b.agent.name,
    before,
    directAfterMs,
    directKind: seen?.kind,
    after: linkKind(v.statuses[i], peer(), nameOf),
    trafficMs,
    pings,
    rtts: { before: [...slowRtts, ...fast.before], after: fast.after },
  };
  report(outcome);
  v.note(
    `ping at 10/s for ${secs} s: ${
      pings ? `${pings.received}/${pings.sent} replies` : "no summary"
    }; ` +
      `link after: ${outcome.after}`,
    shortcutVerdict(outcome),
    ...await ipopPing(v, a, ip),
  );
  if (pings === undefined || pings.received === 0) throw new StepFailed("the traffic got no reply");
}
