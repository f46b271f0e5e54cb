/**
 * `deno task demo` (as root): a newcomer's tour of ipop on one machine. Builds a small network of
 * agents in network namespaces (some public, the others behind masquerade and symmetric NAT
 * routers; see `_demo_net.ts`), shows them joining and leasing addresses in a live view
 * (`_demo_live.ts`), pings every agent from every other, waits for two agents with no direct link
 * (`_demo_pair.ts`), sends 10 pings/s between them while the view shows the shortcut forming
 * (with `ipop ping`'s route before and after; the final summary says whether it formed, how long
 * after the first packet, and the RTT before and after; see `_demo_traffic.ts`), keeps the view
 * up until `--seconds`, then stops the agents and removes every namespace it made, also on Ctrl-C
 * or a failure. Exit: 0 all steps passed, 1 a step failed or
 * the machine lacks something, 2 a bad flag, 130 Ctrl-C.
 *
 * @module
 */
import { NETNS_PREFIX, run } from "../tests/helpers/netns.ts";
import type { NatRig } from "../tests/helpers/nat_rig.ts";
import { DEMO_USAGE, type DemoOptions, parseDemoArgs } from "./_demo_args.ts";
import { LiveView } from "./_demo_live.ts";
import { pingMatrix } from "./_demo_matrix.ts";
import {
  buildDemoRig,
  type DemoMember,
  namespaceCount,
  startDemoAgents,
  stopDemoAgents,
} from "./_demo_net.ts";
import type { PairChoice } from "./_demo_pair.ts";
import { type ShortcutOutcome, shortcutVerdict } from "./_demo_shortcut.ts";
import { ipsOf, sleep, StepFailed } from "./_demo_step.ts";
import { shortcutStep, waitForPair } from "./_demo_traffic.ts";
import { leasedIp, renderMatrix } from "./_demo_view.ts";

/** Bound for every agent to hold a lease, from the last start. */
export const DEMO_LEASE_TIMEOUT_MS = 60_000;
/** The tools the demo runs. */
export const DEMO_TOOLS = ["ip", "iptables", "ping"] as const;

/** What the demo needs from its surroundings (a seam for the cheap tests). */
export interface DemoIo {
  /** The effective user id. */
  uid(): number;
  /** True when `tool` is an executable on the PATH. */
  hasTool(tool: string): boolean;
  /** Writes a line to stdout / stderr. */
  out(line: string): void;
  err(line: string): void;
  /** Writes raw text to stdout. */
  raw(text: string): void;
  isTty: boolean;
}

/** True when `name` is an executable file in a directory of `PATH`. */
export function onPath(name: string, path = Deno.env.get("PATH") ?? ""): boolean {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Parses the flags, checks the machine, runs the tour; returns the exit code. */
export async function runDemo(args: string[], io: DemoIo): Promise<number> {
  const parsed = parseDemoArgs(args);
  if (parsed.kind === "help") {
    io.out(DEMO_USAGE.trimEnd());
    return 0;
  }
  if (parsed.kind === "error") {
    io.err(`demo: ${parsed.message} (see: deno task demo --help)`);
    return 2;
  }
  if (io.uid() !== 0) {
    io.err("demo: needs root to build network namespaces; run it as root (sudo deno task demo)");
    return 1;
  }
  const missing = DEMO_TOOLS.filter((t) => !io.hasTool(t));
  for (const t of missing) io.err(`demo: needs the "${t}" tool on the PATH, which is missing`);
  if (missing.length > 0) return 1;
  return await tour(parsed.options, io);
}

async function tour(options: DemoOptions, io: DemoIo): Promise<number> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) return io.err("demo: still cleaning up, please wait");
    io.err("\ndemo: interrupted, stopping the agents and cleaning up");
    stop.abort();
    view?.silence();
  };
  let nat: NatRig | undefined;
  let view: LiveView | undefined;
  let members: DemoMember[] = [];
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let failed = false;
  let outcome: ShortcutOutcome | undefined;
  let pair: PairChoice | undefined;
  try {
    io.out(`demo: building ${options.agents} hosts, 3 NAT routers and a core router`);
    const built = await buildDemoRig(options.agents);
    nat = built.nat;
    if (stop.signal.aborted) return 130;
    io.out("demo: starting the agents (the first founds the overlay)");
    members = await startDemoAgents(nat, built.hosts, now, (a) => {
      io.out(`demo: started ${a.name} on ${a.underlay} (${a.place})`);
    });
    view = new LiveView(members, { line: io.out, raw: io.raw, isTty: io.isTty }, now);
    if (stop.signal.aborted) return 130;
    view.start();
    const steps: [string, (v: LiveView) => Promise<void>][] = [
      ["waiting for every agent to lease an address", (v) => waitLeased(v, members, stop.signal)],
      [
        "every agent pings every other (ping -c 1 -W 2)",
        (v) => matrixStep(v, nat!, members, stop.signal),
      ],
      [
        "choosing two agents with no direct link",
        async (v) => {
          pair = await waitForPair(v, members, stop.signal);
        },
      ],
      [
        "10 pings/s between them: an on-demand shortcut forms",
        (v) => shortcutStep(v, nat!, members, pair!, now, stop.signal, (o) => outcome = o),
      ],
    ];
    for (const [i, [title, step]] of steps.entries()) {
      if (stop.signal.aborted) break;
      view.phase(`step ${i + 1}/${steps.length}: ${title}`);
      try {
        await step(view);
      } catch (e) {
        if (stop.signal.aborted) break;
        failed = true;
        view.note(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
        if (!(e instanceof StepFailed)) throw e;
        if (!options.keepGoing || i === 0) break;
      }
    }
    if (!stop.signal.aborted && (!failed || options.keepGoing)) {
      view.phase(`tour done; live view until ${options.seconds} s (Ctrl-C stops now)`);
      const left = options.seconds * 1000 - now();
      if (left > 0) await sleep(left, stop.signal);
    }
    await view.stop();
    if (!stop.signal.aborted) {
      for (const l of view.table()) io.out(l);
      if (outcome !== undefined) io.out(shortcutVerdict(outcome));
    }
    view = undefined;
    return stop.signal.aborted ? 130 : failed ? 1 : 0;
  } catch (e) {
    io.err(`demo: failed: ${e instanceof Error ? e.message : String(e)}`);
    return stop.signal.aborted ? 130 : 1;
  } finally {
    await view?.stop();
    io.out("demo: stopping the agents (SIGTERM) and removing the namespaces");
    if (nat !== undefined) {
      await stopDemoAgents(members).catch(() => {});
      await nat.close();
      io.out(`removed ${namespaceCount(nat)} namespaces`);
    }
    const left = await leftovers();
    if (left.length > 0) io.err(`demo: still there (remove with ip netns del): ${left.join(" ")}`);
    else io.out("nothing left behind (ip netns list shows none of the demo's namespaces)");
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

/** Namespaces of this process still listed by `ip netns list`. */
async function leftovers(): Promise<string[]> {
  const r = await run(["ip", "netns", "list"], { timeoutMs: 5_000 });
  const mine = `${NETNS_PREFIX}${Deno.pid}-`;
  return r.stdout.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((n) =>
    n.startsWith(mine)
  );
}

async function waitLeased(v: LiveView, members: DemoMember[], signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + DEMO_LEASE_TIMEOUT_MS;
  while (!signal.aborted) {
    if (v.statuses.every((s) => leasedIp(s) !== undefined)) return;
    if (members.some((m) => !m.proc.alive)) throw new StepFailed("an agent exited");
    if (performance.now() > deadline) {
      const missing = members.filter((_, i) => leasedIp(v.statuses[i]) === undefined);
      throw new StepFailed(
        `no lease within ${DEMO_LEASE_TIMEOUT_MS / 1000} s for ${
          missing.map((m) => m.agent.name).join(", ")
        }`,
      );
    }
    await sleep(250, signal);
  }
}

async function pingOnce(nat: NatRig, ns: string, ip: string): Promise<boolean> {
  const r = await nat.rig.exec(ns, ["ping", "-n", "-c", "1", "-W", "2", ip], { timeoutMs: 5_000 });
  return r.code === 0;
}

async function matrixStep(
  v: LiveView,
  nat: NatRig,
  members: DemoMember[],
  signal: AbortSignal,
): Promise<void> {
  const ips = ipsOf(v);
  const t = performance.now();
  const m = await pingMatrix(members.length, {
    ping: (i, j) => pingOnce(nat, members[i]!.proc.ns, ips[j]!),
    wait: (ms) => sleep(ms, signal),
    stopped: () => signal.aborted,
  });
  const late = m.late > 0 ? `, ${m.late} of them only on a retry (ok*)` : "";
  v.note(
    `ping matrix (${m.answered}/${m.total} ok${late} in ${
      ((performance.now() - t) / 1000).toFixed(1)
    } s):`,
    ...renderMatrix(members.map((m) => m.agent.name), m.cells).map((l) => `  ${l}`),
  );
  if (m.answered < m.total) throw new StepFailed(`${m.total - m.answered} pings got no reply`);
}

if (import.meta.main) {
  const enc = new TextEncoder();
  const code = await runDemo(Deno.args, {
    uid: () => Deno.uid() ?? -1,
    hasTool: (t) => onPath(t),
    out: (l) => console.log(l),
    err: (l) => console.error(l),
    raw: (t) => {
      const bytes = enc.encode(t);
      for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
    },
    isTty: Deno.stdout.isTerminal(),
  });
  Deno.exit(code);
}
