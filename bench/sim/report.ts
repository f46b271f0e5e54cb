/**
 * The figures of one simulation run and how they are printed: a human table, a markdown row
 * (for docs/simulation.md) and the JSON object of `--json`.
 *
 * @module
 */
import { formatPairLinks, type NatReport } from "./nat_mix.ts";

/** Probe counts of one batch. */
export type ProbeCounts = Record<string, number>;

/** Everything one run measured (snake_case: this object is the `--json` output). */
export interface SimResult {
  nodes: number;
  seed: number;
  /** Fraction of nodes replaced per simulated minute (0 = no churn). */
  churn: number;
  /** Virtual time the last node started, s. */
  join_s: number;
  /** Virtual time the ring first was 100% consistent, s (null: never, within the wait). */
  converge_s: number | null;
  converged: boolean;
  /** Fraction of nodes whose nearest connections are their true neighbours, at convergence. */
  ring_consistency: number;
  /** Exact-mode probes delivered / counted, after convergence. */
  routing_success: number;
  /** Nearest-mode probes delivered at the brute-force nearest node / counted. */
  nearest_success: number;
  hops_mean: number;
  hops_p50: number;
  hops_p99: number;
  hops_max: number;
  /** Mean virtual delivery latency of the exact probes, ms. */
  probe_latency_ms: number;
  probes: ProbeCounts;
  connections_mean: number;
  connections_max: number;
  connections_by_kind: Record<string, number>;
  estimated_size_mean: number | null;
  /** Transport-level datagrams sent per node per second over the whole run. */
  msgs_per_node_s: number;
  /** Transport-level bytes sent per node per second over the whole run. */
  bytes_per_node_s: number;
  /** The same in the quiet window after convergence (ring maintenance only). */
  idle_msgs_per_node_s: number;
  idle_bytes_per_node_s: number;
  /** Transport-level datagrams per node per second over the run, by wire message type. */
  datagrams_by_type_per_node_s: Record<string, number>;
  churn_duration_s: number | null;
  /** Exact-mode probes delivered / counted during churn (both ends settled). */
  churn_routing_success: number | null;
  churn_routing_worst_minute: number | null;
  churn_probes: ProbeCounts | null;
  churn_left: number | null;
  churn_crashed: number | null;
  churn_joined: number | null;
  /** Virtual time from the end of churn until the ring was 100% consistent, s. */
  recovery_s: number | null;
  post_churn_routing_success: number | null;
  final_ring_consistency: number;
  /** A few inconsistent nodes when the ring did not converge (see `describeInconsistent`). */
  inconsistent_sample: string[];
  /** The same at the end of the run. */
  final_inconsistent_sample: string[];
  virtual_s: number;
  /** Datagrams handed to the fake network. */
  datagrams: number;
  /** Exceptions thrown by node code out of clock callbacks. */
  errors: number;
  first_errors: string[];
  wall_phases_s: Record<string, number>;
  wall_s: number;
  /** NAT figures at the end of the run (only with a NAT mix). */
  nat?: NatReport;
}

/** Header of the markdown results table (matches `markdownRow`). */
export const MARKDOWN_HEADER = [
  "| nodes | seed | churn | converge s | ring | routing | nearest | hops mean/p50/p99 " +
  "| msgs/node/s | bytes/node/s | churn routing | recovery s | wall s |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
].join("\n");

/** One row of the markdown results table. */
export function markdownRow(r: SimResult): string {
  return "| " + [
    r.nodes,
    r.seed,
    r.churn > 0 ? `${pct(r.churn, 0)}/min × ${r.churn_duration_s}s` : "—",
    r.converge_s ?? `no (${pct(r.ring_consistency)})`,
    pct(r.ring_consistency),
    pct(r.routing_success),
    pct(r.nearest_success),
    `${r.hops_mean} / ${r.hops_p50} / ${r.hops_p99}`,
    `${r.msgs_per_node_s} (idle ${r.idle_msgs_per_node_s})`,
    `${r.bytes_per_node_s} (idle ${r.idle_bytes_per_node_s})`,
    r.churn_routing_success === null ? "—" : pct(r.churn_routing_success),
    r.recovery_s ?? (r.churn > 0 ? "no" : "—"),
    r.wall_s,
  ].join(" | ") + " |";
}

/** The human-readable report: one `name  value` line per figure. */
export function formatTable(r: SimResult): string {
  const rows: [string, string][] = [
    ["nodes", String(r.nodes)],
    ["seed", String(r.seed)],
    ["join (last start), virtual s", String(r.join_s)],
    ["converged at, virtual s", r.converge_s === null ? "never" : String(r.converge_s)],
    ["ring consistency", pct(r.ring_consistency)],
    ["routing success (exact)", `${pct(r.routing_success)}  ${counts(r.probes)}`],
    ["routing success (nearest)", pct(r.nearest_success)],
    [
      "hops mean / p50 / p99 / max",
      `${r.hops_mean} / ${r.hops_p50} / ${r.hops_p99} / ${r.hops_max}`,
    ],
    ["probe latency mean, virtual ms", String(r.probe_latency_ms)],
    ["connections per node mean / max", `${r.connections_mean} / ${r.connections_max}`],
    ["connections by kind", JSON.stringify(r.connections_by_kind)],
    ["estimated size (mean of nodes)", String(r.estimated_size_mean)],
    ["datagrams per node per s (all / idle)", `${r.msgs_per_node_s} / ${r.idle_msgs_per_node_s}`],
    ["bytes per node per s (all / idle)", `${r.bytes_per_node_s} / ${r.idle_bytes_per_node_s}`],
    ["datagrams per node per s by type", JSON.stringify(r.datagrams_by_type_per_node_s)],
  ];
  if (r.churn > 0) {
    rows.push(
      ["churn", `${pct(r.churn, 0)} per min for ${r.churn_duration_s} s`],
      ["churn left / crashed / joined", `${r.churn_left} / ${r.churn_crashed} / ${r.churn_joined}`],
      [
        "routing success during churn",
        `${pct(r.churn_routing_success ?? NaN)} (worst minute ${
          pct(r.churn_routing_worst_minute ?? NaN)
        })  ${counts(r.churn_probes ?? {})}`,
      ],
      ["ring consistent again after, virtual s", String(r.recovery_s ?? "never")],
      ["routing success after churn", pct(r.post_churn_routing_success ?? NaN)],
    );
  }
  if (r.nat) {
    const n = r.nat;
    rows.push(
      ["NAT mix (public, cone, symmetric)", n.mix],
      ["hosts by NAT type", JSON.stringify(n.hosts_by_type)],
      ["connections direct / relayed", `${pct(n.direct_share)} / ${pct(n.relayed_share)}`],
      ...formatPairLinks(n.successor_links).map((l): [string, string] => [
        "  link to ring successor",
        l,
      ]),
      ...formatPairLinks(n.predecessor_links).map((l): [string, string] => [
        "  link to ring predecessor",
        l,
      ]),
      ["NAT fabric", JSON.stringify(n.fabric)],
    );
  }
  rows.push(
    ...r.inconsistent_sample.map((l): [string, string] => ["  inconsistent at convergence", l]),
    ["final ring consistency", pct(r.final_ring_consistency)],
    ...r.final_inconsistent_sample.map((l): [string, string] => ["  inconsistent at the end", l]),
    ["virtual time, s", String(r.virtual_s)],
    ["datagrams", String(r.datagrams)],
    ["node errors", r.errors === 0 ? "0" : `${r.errors}: ${r.first_errors.join(" | ")}`],
    ["wall s by phase", JSON.stringify(r.wall_phases_s)],
    ["wall s", String(r.wall_s)],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

function pct(x: number, digits = 2): string {
  return Number.isNaN(x) ? "n/a" : `${(x * 100).toFixed(digits)}%`;
}

function counts(c: ProbeCounts): string {
  return Object.entries(c).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(" ");
}
