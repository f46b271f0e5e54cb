/**
 * Shortcut formation benchmark (root: network namespaces). Twelve real agents lease addresses
 * over the DHT; for up to `--pairs` pairs of agents with no direct link (each agent in at most
 * one measured pair at a time, pairs measured one after another), the source pings the
 * destination at 10 packets/s and the benchmark measures:
 *
 *   - formation: from the ping's start to the source's status listing a "shortcut" connection
 *     to the destination (status polled over the control socket every 100 ms);
 *   - first reply after the switch: to the first echo reply received after the poll that saw
 *     the source's router send a packet directly;
 *   - RTT over the overlay (1 ping/s, below the threshold) and over the shortcut.
 *
 * Usage: deno run -A bench/shortcut_bench.ts [--pairs 10] [--agents 12] [--json]
 *
 * @module
 */
import { percentileOf as percentile } from "./sim/metrics.ts";
import { parseArgs } from "node:util";
import {
  directlyLinked,
  measureFormation,
  median,
  pingRtts,
  type ShortcutFormation,
  type ShortcutNet,
  startLeasedNet,
  statusesOf,
  unlinkedPairs,
} from "./_shortcut_rig.ts";
import { canUseNetns } from "../tests/helpers/netns.ts";

/** One measured pair. */
interface PairResult extends ShortcutFormation {
  src: string;
  dst: string;
  /** RTTs (ms) at 1 ping/s before, over the overlay. */
  rttsOverlay: number[];
}

function fmt(x: number, digits = 0): string {
  return Number.isNaN(x) ? "-" : x.toFixed(digits);
}

async function measurePairs(net: ShortcutNet, wanted: number): Promise<PairResult[]> {
  const results: PairResult[] = [];
  const used = new Set<string>();
  while (results.length < wanted) {
    const statuses = await statusesOf(net.agents);
    // A fresh pair each time: neither side linked to the other, and not measured before.
    const pair = unlinkedPairs(statuses).find(([i, j]) => !used.has(`${i}-${j}`));
    if (pair === undefined) break;
    const [src, dst] = pair;
    used.add(`${src}-${dst}`);
    const rig = net.hosts.rig;
    const a = net.agents[src]!;
    await pingRtts(rig, a.ns, net.ips[dst]!, 1, 1); // resolve the address first
    const rttsOverlay = await pingRtts(rig, a.ns, net.ips[dst]!, 3, 1);
    const [sa, sb] = await statusesOf([a, net.agents[dst]!]);
    if (directlyLinked(sa!, sb!)) continue; // linked meanwhile (ring maintenance): skip it
    const f = await measureFormation(net, src, dst, {
      pps: 10,
      windowMs: 12_000,
      pollMs: 100,
      afterMs: 2_000,
    });
    const r = { src: net.ips[src]!, dst: net.ips[dst]!, rttsOverlay, ...f };
    results.push(r);
    console.error(
      `  ${r.src} -> ${r.dst}: formed ${fmt(r.formedMs ?? NaN)} ms, first reply after switch ` +
        `${fmt(r.firstReplyAfterSwitchMs ?? NaN)} ms, RTT ${fmt(median(rttsOverlay), 2)} -> ` +
        `${fmt(median(r.rttsAfter), 2)} ms`,
    );
  }
  return results;
}

async function main(): Promise<void> {
  const args = parseArgs({
    options: {
      pairs: { type: "string", default: "10" },
      agents: { type: "string", default: "12" },
      json: { type: "boolean", default: false },
    },
  });
  if (!canUseNetns()) {
    console.error("shortcut_bench needs root (network namespaces)");
    Deno.exit(2);
  }
  const agentCount = Number(args.values.agents);
  const pairCount = Number(args.values.pairs);
  const net = await startLeasedNet(agentCount);
  let results: PairResult[];
  try {
    console.error(`${agentCount} agents leased in ${fmt(net.leasedAfterMs / 1000, 1)} s`);
    results = await measurePairs(net, pairCount);
  } finally {
    await net.hosts.rig.close();
  }
  const formed = results.filter((r) => r.formedMs !== null);
  const formedMs = formed.map((r) => r.formedMs!);
  const replyMs = results.flatMap((r) =>
    r.firstReplyAfterSwitchMs === null ? [] : [r.firstReplyAfterSwitchMs]
  );
  const overlayRtt = results.map((r) => median(r.rttsOverlay)).filter((x) => !Number.isNaN(x));
  const shortcutRtt = results.map((r) => median(r.rttsAfter)).filter((x) => !Number.isNaN(x));
  const summary = {
    agents: agentCount,
    pairs: results.length,
    formed: formed.length,
    formation_ms_p50: percentile(formedMs, 50),
    formation_ms_p99: percentile(formedMs, 99),
    first_reply_after_switch_ms_p50: percentile(replyMs, 50),
    first_reply_after_switch_ms_p99: percentile(replyMs, 99),
    rtt_overlay_ms_p50: percentile(overlayRtt, 50),
    rtt_shortcut_ms_p50: percentile(shortcutRtt, 50),
    remote_kind_shortcut: results.filter((r) => r.remoteKind === "shortcut").length,
  };
  if (args.values.json) {
    console.log(JSON.stringify({ summary, results }, null, 2));
    return;
  }
  console.log(
    `shortcuts: ${summary.formed}/${summary.pairs} pairs formed a shortcut under 10 pings/s ` +
      `(${agentCount} agents)\n` +
      `  formation (first packet -> "shortcut" in status): p50 ${
        fmt(summary.formation_ms_p50)
      } ms, p99 ${fmt(summary.formation_ms_p99)} ms\n` +
      `  first reply after the switch: p50 ${fmt(summary.first_reply_after_switch_ms_p50)} ms, ` +
      `p99 ${fmt(summary.first_reply_after_switch_ms_p99)} ms\n` +
      `  RTT p50 over the overlay ${fmt(summary.rtt_overlay_ms_p50, 2)} ms, over the shortcut ${
        fmt(summary.rtt_shortcut_ms_p50, 2)
      } ms\n` +
      `  destination lists the link as "shortcut": ${summary.remote_kind_shortcut}/${summary.pairs}`,
  );
}

if (import.meta.main) await main();
