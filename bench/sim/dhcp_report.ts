/**
 * The figures of one DHCP simulation run and how they are printed: a human table, a markdown
 * row (for docs/dhcp.md) and the JSON object of `--json`.
 *
 * @module
 */

/** Median, 99th percentile and maximum of a list of durations, ms (null when empty). */
export interface TimeStats {
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

/** Everything one DHCP run measured (snake_case: this object is the `--json` output). */
export interface DhcpSimResult {
  nodes: number;
  seed: number;
  subnet: string;
  /** Fraction of nodes replaced per simulated minute (0 = no churn). */
  churn: number;
  /** Virtual time the ring was first 100% consistent, s (null: not within the wait). */
  converge_s: number | null;
  /** Virtual time the claim gate opened, s. */
  gate_s: number;
  /** After the simultaneous claim: live nodes bound, of `claim_live`. */
  claim_bound: number;
  claim_live: number;
  claim_distinct: number;
  /** Addresses held by two or more nodes at the end of the claim phase. */
  claim_duplicates: number;
  /** Sum of `LeaseClient.collisions` over the nodes (addresses found taken while claiming). */
  claim_collisions: number;
  /** boundAt − gate time, over the bound nodes. */
  claim_time: TimeStats;
  /** Virtual s from the gate until every live node was bound (null: not within the wait). */
  all_bound_s: number | null;
  churn_duration_s: number | null;
  churn_left: number | null;
  churn_crashed: number | null;
  churn_joined: number | null;
  /** Per-second checks from the gate to the end (claim, churn and quiet phases). */
  checks: number;
  /** Checks (seconds) that saw a duplicate address, and the most duplicates at one check. */
  duplicate_seconds: number;
  max_duplicates: number;
  duplicated_ips: number;
  /** Live nodes seen without their lease, or with another address, after being bound. */
  lost_nodes: number;
  changed_nodes: number;
  /** First bind − spawn time of the nodes started during churn (a re-bind does not count). */
  join_to_lease: TimeStats;
  /** Of which: claimStartedAt − spawn time (joining the ring), and boundAt − claimStartedAt. */
  join_to_claim: TimeStats;
  churn_claim_time: TimeStats;
  /** Churn-joined nodes alive at the end that never got a lease. */
  churn_joined_unbound: number | null;
  /** The final check, after the quiet window. */
  final_live: number;
  final_bound: number;
  final_distinct: number;
  final_duplicates: number;
  /** DHT messages each node sent (end to end, before overlay forwarding) per node-second. */
  dht_msgs_per_node_s: number;
  /** Transport datagrams (everything: handshakes, keepalives, overlay, DHT) per node-second. */
  datagrams_per_node_s: number;
  /** The same two over the churn phase alone (null without churn). */
  churn_dht_msgs_per_node_s: number | null;
  churn_datagrams_per_node_s: number | null;
  /** Described incidents (duplicates, lost and changed leases), the first few. */
  incidents: string[];
  virtual_s: number;
  errors: number;
  first_errors: string[];
  wall_phases_s: Record<string, number>;
  wall_s: number;
}

/** Header of the markdown results table (matches `dhcpMarkdownRow`). */
export const DHCP_MARKDOWN_HEADER = [
  "| nodes | churn | bound | collisions | claim ms p50/p99/max | duplicates (s / max) " +
  "| lost / changed | join-to-lease ms p50/p99/max | DHT msgs/node/s | datagrams/node/s | wall s |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
].join("\n");

/** One row of the markdown results table. */
export function dhcpMarkdownRow(r: DhcpSimResult): string {
  return "| " + [
    r.nodes.toLocaleString("en-US"),
    r.churn > 0 ? `${pct(r.churn)}/min × ${r.churn_duration_s} s` : "—",
    `${r.claim_bound}/${r.claim_live}`,
    r.claim_collisions,
    times(r.claim_time),
    `${r.duplicate_seconds} / ${r.max_duplicates}`,
    `${r.lost_nodes} / ${r.changed_nodes}`,
    r.churn > 0 ? times(r.join_to_lease) : "—",
    r.dht_msgs_per_node_s,
    r.datagrams_per_node_s,
    r.wall_s,
  ].join(" | ") + " |";
}

/** The human-readable report: one `name  value` line per figure. */
export function formatDhcpTable(r: DhcpSimResult): string {
  const rows: [string, string][] = [
    ["nodes", String(r.nodes)],
    ["seed", String(r.seed)],
    ["subnet", r.subnet],
    ["ring consistent at, virtual s", r.converge_s === null ? "never" : String(r.converge_s)],
    ["claim gate opened at, virtual s", String(r.gate_s)],
    ["bound after the claim / live", `${r.claim_bound} / ${r.claim_live}`],
    ["distinct addresses / duplicates", `${r.claim_distinct} / ${r.claim_duplicates}`],
    ["collisions (addresses found taken)", String(r.claim_collisions)],
    ["claim time ms p50 / p99 / max", times(r.claim_time)],
    ["all bound after, virtual s", r.all_bound_s === null ? "never" : String(r.all_bound_s)],
  ];
  if (r.churn > 0) {
    rows.push(
      ["churn", `${pct(r.churn)} per min for ${r.churn_duration_s} s`],
      ["churn left / crashed / joined", `${r.churn_left} / ${r.churn_crashed} / ${r.churn_joined}`],
      ["join-to-lease ms p50 / p99 / max", times(r.join_to_lease)],
      ["  of which joining the ring (to first claim)", times(r.join_to_claim)],
      ["  of which claiming (first claim to lease)", times(r.churn_claim_time)],
      ["churn-joined nodes never bound (live)", String(r.churn_joined_unbound)],
      [
        "DHT msgs / datagrams per node per s in churn",
        `${r.churn_dht_msgs_per_node_s} / ${r.churn_datagrams_per_node_s}`,
      ],
    );
  }
  rows.push(
    ["checks (one per virtual s from the gate)", String(r.checks)],
    ["seconds with duplicates / most at once", `${r.duplicate_seconds} / ${r.max_duplicates}`],
    ["addresses ever duplicated", String(r.duplicated_ips)],
    ["nodes that lost / changed their lease", `${r.lost_nodes} / ${r.changed_nodes}`],
    [
      "final live / bound / distinct / duplicates",
      `${r.final_live} / ${r.final_bound} / ${r.final_distinct} / ${r.final_duplicates}`,
    ],
    ["DHT msgs per node per s (whole run)", String(r.dht_msgs_per_node_s)],
    ["datagrams per node per s (whole run)", String(r.datagrams_per_node_s)],
    ...r.incidents.map((l): [string, string] => ["  incident", l]),
    ["virtual time, s", String(r.virtual_s)],
    ["node errors", r.errors === 0 ? "0" : `${r.errors}: ${r.first_errors.join(" | ")}`],
    ["wall s by phase", JSON.stringify(r.wall_phases_s)],
    ["wall s", String(r.wall_s)],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

function times(t: TimeStats): string {
  return t.count === 0 ? "n/a" : `${t.p50_ms} / ${t.p99_ms} / ${t.max_ms}`;
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}
