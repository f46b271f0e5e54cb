/**
 * NAT-to-NAT direct-link setup benchmark (issue 5; root: network namespaces). Real agents behind
 * the real NATs of the NAT rig, a fresh rig for every run so that nothing carries over:
 *
 *   - `--runs` masquerade <-> masquerade runs and `--symmetric-runs` symmetric <-> masquerade
 *     runs (birthday punching), the NATs kept apart while the agents join, A's address look-up
 *     and three 1/s pings over the relay done before: from the first packet of a 5/s ping from
 *     A to B, the time until A's status lists a direct link to B at B's NAT, and until the first
 *     echo reply received after that; the RTT (p50 per run) over the relay before and over the
 *     direct link after;
 *   - `--relayed-runs` symmetric <-> symmetric runs: whether a direct link forms under a 5/s
 *     ping (it cannot), and the relayed RTT.
 *
 * See `_nat_bench_run.ts` for one run.
 *
 * Usage: deno run -A bench/nat_bench.ts [--runs 10] [--symmetric-runs 10] [--relayed-runs 3]
 *   [--json]
 *
 * @module
 */
import { percentileOf as percentile } from "./sim/metrics.ts";
import { parseArgs } from "node:util";
import {
  type DirectRun,
  measureDirectRun,
  measureRelayedRun,
  type RelayedRun,
} from "./_nat_bench_run.ts";
import { canUseNetns } from "../tests/helpers/netns.ts";
import type { NatKind } from "../tests/helpers/nat_rig.ts";

function fmt(x: number | null, digits = 0): string {
  return x === null || Number.isNaN(x) ? "-" : x.toFixed(digits);
}

/** p50/p99/min/max of some numbers. */
function stats(xs: readonly number[]): { p50: number; p99: number; min: number; max: number } {
  return {
    p50: percentile(xs, 50),
    p99: percentile(xs, 99),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
  };
}

function line(name: string, xs: readonly number[], digits = 0): string {
  const s = stats(xs);
  return `  ${name} (n=${xs.length}): p50 ${fmt(s.p50, digits)}, p99 ${fmt(s.p99, digits)}, ` +
    `min ${fmt(s.min, digits)}, max ${fmt(s.max, digits)} ms`;
}

/** The summary of the direct runs of one pair of NAT kinds. */
function directSummary(runs: DirectRun[]) {
  const nn = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  const p50s = (xs: number[][]) => xs.map((x) => percentile(x, 50)).filter((x) => !isNaN(x));
  const kinds = runs.map((r) => r.link.split("@")[0]!);
  return {
    runs: runs.length,
    linked: nn(runs.map((r) => r.linkMs)).length,
    link_kinds: Object.fromEntries(
      [...new Set(kinds)].map((k) => [k, kinds.filter((x) => x === k).length]),
    ),
    link_ms: nn(runs.map((r) => r.linkMs)),
    first_reply_after_link_ms: nn(runs.map((r) => r.firstReplyAfterLinkMs)),
    rtt_relay_ms_p50: p50s(runs.map((r) => r.rttsRelay)),
    rtt_direct_ms_p50: p50s(runs.map((r) => r.rttsDirect)),
  };
}

async function directRuns(kindA: NatKind, count: number): Promise<DirectRun[]> {
  const out: DirectRun[] = [];
  for (let i = 0; i < count; i++) {
    const r = await measureDirectRun(kindA);
    out.push(r);
    console.error(
      `  ${kindA}<->masq run ${i + 1}: leased ${fmt(r.leasedAfterMs)} ms; direct link ${
        fmt(r.linkMs)
      } ms (${r.link}), first reply after ${fmt(r.firstReplyAfterLinkMs)} ms; RTT relay ${
        fmt(percentile(r.rttsRelay, 50), 2)
      } -> direct ${fmt(percentile(r.rttsDirect, 50), 2)} ms; ${r.received}/${r.transmitted}`,
    );
  }
  return out;
}

function directLines(title: string, s: ReturnType<typeof directSummary>): string[] {
  return [
    `${title}: ${s.linked}/${s.runs} runs formed a direct link (kinds: ${
      JSON.stringify(s.link_kinds)
    })`,
    line("first 5/s packet -> direct link in A's status", s.link_ms),
    line("first 5/s packet -> first reply after that", s.first_reply_after_link_ms),
    line("RTT over the relay, 1/s (per-run p50)", s.rtt_relay_ms_p50, 2),
    line("RTT over the direct link (per-run p50)", s.rtt_direct_ms_p50, 2),
  ];
}

async function main(): Promise<void> {
  const args = parseArgs({
    options: {
      runs: { type: "string", default: "10" },
      "symmetric-runs": { type: "string", default: "10" },
      "relayed-runs": { type: "string", default: "3" },
      json: { type: "boolean", default: false },
    },
  });
  if (!canUseNetns()) {
    console.error("nat_bench needs root (network namespaces)");
    Deno.exit(2);
  }
  const counts = [args.values.runs, args.values["symmetric-runs"], args.values["relayed-runs"]]
    .map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 0)) {
    console.error("--runs, --symmetric-runs and --relayed-runs take whole numbers");
    Deno.exit(2);
  }
  const [runs, symmetricRuns, relayedRuns] = counts as [number, number, number];
  const t0 = performance.now();
  const masq = await directRuns("masquerade", runs);
  const sym = await directRuns("symmetric", symmetricRuns);
  const relayed: RelayedRun[] = [];
  for (let i = 0; i < relayedRuns; i++) {
    const r = await measureRelayedRun("symmetric", "symmetric");
    relayed.push(r);
    console.error(
      `  sym<->sym run ${i + 1}: leased ${fmt(r.leasedAfterMs)} ms; direct link: ${
        r.direct ? "YES" : "no"
      }; A->B seen [${r.seen.join(", ")}]; RTT ${fmt(percentile(r.rtts, 50), 2)} ms; ` +
        `${r.received}/${r.transmitted}`,
    );
  }
  const wallS = (performance.now() - t0) / 1000;
  const symRtt = relayed.map((r) => percentile(r.rtts, 50)).filter((x) => !isNaN(x));
  const leaseMs = [...masq, ...sym, ...relayed].map((r) => r.leasedAfterMs);
  const masqSummary = directSummary(masq);
  const symSummary = directSummary(sym);
  const summary = {
    masquerade: masqSummary,
    symmetric_masquerade: symSummary,
    relayed_runs: relayed.length,
    relayed_direct_links: relayed.filter((r) => r.direct).length,
    rtt_symmetric_relayed_ms_p50: stats(symRtt),
    lease_ms: stats(leaseMs),
    wall_s: wallS,
  };
  if (args.values.json) {
    console.log(JSON.stringify({ summary, masq, sym, relayed }, null, 2));
    return;
  }
  console.log(
    [
      ...directLines("masquerade <-> masquerade", masqSummary),
      ...directLines("symmetric <-> masquerade (birthday punching)", symSummary),
      `symmetric <-> symmetric: ${summary.relayed_direct_links}/${relayed.length} runs formed ` +
      `a direct link`,
      line("RTT relayed, 5/s (per-run p50)", symRtt, 2),
      line("lease of all three agents", leaseMs),
      `  wall ${wallS.toFixed(0)} s`,
    ].join("\n"),
  );
}

if (import.meta.main) await main();
