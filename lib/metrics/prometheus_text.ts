/**
 * An agent's status as Prometheus metrics: a pure function from the plain `AgentStatus` object
 * (the one `ipop status` shows) to the text exposition format, version 0.0.4:
 *
 *   # HELP ipop_transport_datagrams_sent_total UDP datagrams sent on the underlay.
 *   # TYPE ipop_transport_datagrams_sent_total counter
 *   ipop_transport_datagrams_sent_total 10
 *   # HELP ipop_links Overlay connections that are up, by kind.
 *   # TYPE ipop_links gauge
 *   ipop_links{kind="near"} 1
 *
 * Every family has one HELP and one TYPE line and at least one sample; counters end in `_total`,
 * units are in the names (`_bytes`, `_seconds`), label values are escaped (`\\`, `\"`, `\n`).
 * Camel-case reasons from the status object become snake_case label values
 * (`unknownSession` → `unknown_session`). Families that have nothing to report (the TUN
 * counters of an agent without a TUN, per-peer series with no peers) are left out.
 */
import type { AgentStatus, PeerStatus } from "../agent/agent_status.ts";
import type { ConnectionKind } from "../overlay/connection.ts";

/** The Content-Type of the text exposition format this module writes. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Every overlay connection kind, reported even when zero so that series do not come and go. */
export const LINK_KINDS: readonly ConnectionKind[] = [
  "near",
  "far",
  "shortcut",
  "relay",
  "leaf",
  "fixed",
  "other",
];

/** The lease states `LeaseClient` goes through, reported as a 0/1 state set. */
export const LEASE_STATES: readonly string[] = [
  "waiting",
  "claiming",
  "bound",
  "refused",
  "released",
];

/** Router counters that count forwarded packets (label `path`); the rest count drops. */
const ROUTER_PATHS: readonly string[] = ["direct", "routed"];

const MS_PER_SECOND = 1000;

/** A Prometheus metric type this module writes. */
export type MetricType = "counter" | "gauge";

/** One sample: its labels (name → raw value, escaped on output) and its value. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/** One metric family: a name, a type, a one-line help text and its samples. */
export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes a HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as Prometheus writes it: integers plainly, `NaN`, `+Inf`, `-Inf`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** `unknownSession` → `unknown_session`. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Writes families in the text exposition format; families without samples are skipped. */
export function formatFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {});
      const text = labels.length === 0
        ? ""
        : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
      lines.push(`${f.name}${text} ${formatValue(s.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function one(name: string, type: MetricType, help: string, value: number): MetricFamily {
  return { name, type, help, samples: [{ value }] };
}

function seconds(ms: number): number {
  return ms / MS_PER_SECOND;
}

function transportFamilies(s: AgentStatus): MetricFamily[] {
  const t = s.transport;
  return [
    one(
      "ipop_transport_datagrams_sent_total",
      "counter",
      "UDP datagrams sent on the underlay.",
      t.datagramsSent,
    ),
    one(
      "ipop_transport_datagrams_received_total",
      "counter",
      "UDP datagrams received on the underlay.",
      t.datagramsReceived,
    ),
    one("ipop_transport_sent_bytes_total", "counter", "UDP payload bytes sent.", t.bytesSent),
    one(
      "ipop_transport_received_bytes_total",
      "counter",
      "UDP payload bytes received.",
      t.bytesReceived,
    ),
    one(
      "ipop_transport_send_drops_total",
      "counter",
      "UDP datagrams the socket refused to send.",
      t.sendDrops,
    ),
  ];
}

function tunFamilies(s: AgentStatus): MetricFamily[] {
  const t = s.tun;
  if (!t) return [];
  const dev = { device: t.name };
  return [
    {
      name: "ipop_tun_packets_read_total",
      type: "counter",
      help: "IP packets read from the TUN interface.",
      samples: [{ labels: dev, value: t.packetsRead }],
    },
    {
      name: "ipop_tun_packets_written_total",
      type: "counter",
      help: "IP packets written to the TUN interface.",
      samples: [{ labels: dev, value: t.packetsWritten }],
    },
    {
      name: "ipop_tun_write_drops_total",
      type: "counter",
      help: "IP packets the TUN interface refused.",
      samples: [{ labels: dev, value: t.writeDrops }],
    },
    {
      name: "ipop_tun_mtu_bytes",
      type: "gauge",
      help: "MTU of the TUN interface.",
      samples: [{ labels: dev, value: t.mtu }],
    },
  ];
}

function dropFamilies(s: AgentStatus): MetricFamily[] {
  const samples = Object.entries(s.drops)
    .filter(([reason]) => reason !== "total")
    .map(([reason, value]) => ({ labels: { reason: snakeCase(reason) }, value }));
  return [{
    name: "ipop_drops_total",
    type: "counter",
    help: "Incoming datagrams and packets dropped, by reason.",
    samples,
  }];
}

function overlayFamilies(s: AgentStatus): MetricFamily[] {
  const byKind = new Map<string, number>(LINK_KINDS.map((k) => [k, 0]));
  for (const c of s.connections) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
  return [
    {
      name: "ipop_links",
      type: "gauge",
      help: "Overlay connections that are up, by kind.",
      samples: [...byKind].map(([kind, value]) => ({ labels: { kind }, value })),
    },
    one(
      "ipop_overlay_estimated_size",
      "gauge",
      "Number of overlay nodes, estimated from neighbour density.",
      s.estimatedSize,
    ),
    one(
      "ipop_shortcuts_requested_total",
      "counter",
      "On-demand shortcut requests sent.",
      s.shortcutsRequested,
    ),
  ];
}

function peerFamilies(s: AgentStatus): MetricFamily[] {
  const states = new Map<string, number>([["connecting", 0], ["established", 0]]);
  for (const p of s.peers) states.set(p.state, (states.get(p.state) ?? 0) + 1);
  const per = (pick: (p: PeerStatus) => number | null): Sample[] =>
    s.peers.flatMap((p) => {
      const value = pick(p);
      return value === null ? [] : [{ labels: { peer: p.publicKey }, value }];
    });
  return [
    {
      name: "ipop_peers",
      type: "gauge",
      help: "Peers known to the link layer, by session state.",
      samples: [...states].map(([state, value]) => ({ labels: { state }, value })),
    },
    {
      name: "ipop_peer_sessions",
      type: "gauge",
      help: "Live sessions (current, previous and pending) with a peer.",
      samples: per((p) => p.sessions),
    },
    {
      name: "ipop_peer_last_handshake_age_seconds",
      type: "gauge",
      help: "Seconds since the last completed handshake with a peer.",
      samples: per((p) => p.lastHandshakeAgoMs === null ? null : seconds(p.lastHandshakeAgoMs)),
    },
    {
      name: "ipop_peer_received_bytes_total",
      type: "counter",
      help: "Inner (decrypted) payload bytes received from a peer.",
      samples: per((p) => p.rxBytes),
    },
    {
      name: "ipop_peer_sent_bytes_total",
      type: "counter",
      help: "Inner payload bytes sent to a peer.",
      samples: per((p) => p.txBytes),
    },
    {
      name: "ipop_peer_received_packets_total",
      type: "counter",
      help: "Data packets received from a peer.",
      samples: per((p) => p.rxPackets),
    },
    {
      name: "ipop_peer_sent_packets_total",
      type: "counter",
      help: "Data packets sent to a peer.",
      samples: per((p) => p.txPackets),
    },
  ];
}

function leaseFamilies(s: AgentStatus): MetricFamily[] {
  const l = s.lease;
  const states = LEASE_STATES.includes(l.state) ? LEASE_STATES : [...LEASE_STATES, l.state];
  const families: MetricFamily[] = [
    one(
      "ipop_lease_bound",
      "gauge",
      "1 while the virtual address lease is bound, else 0.",
      l.state === "bound" ? 1 : 0,
    ),
    {
      name: "ipop_lease_state",
      type: "gauge",
      help: "1 for the lease client's current state, 0 for the others.",
      samples: states.map((state) => ({ labels: { state }, value: state === l.state ? 1 : 0 })),
    },
    one(
      "ipop_lease_collisions_total",
      "counter",
      "Addresses found taken while claiming a lease.",
      l.collisions,
    ),
  ];
  if (l.expiresInMs !== null) {
    families.push(
      one(
        "ipop_lease_expires_seconds",
        "gauge",
        "Seconds until the lease runs out unless renewed.",
        seconds(l.expiresInMs),
      ),
    );
  }
  return families;
}

function resolverFamilies(s: AgentStatus): MetricFamily[] {
  const r = s.resolver;
  const byKind = new Map<string, number>([["positive", 0], ["negative", 0]]);
  for (const e of r.entries) byKind.set(e.kind, (byKind.get(e.kind) ?? 0) + 1);
  return [
    one("ipop_resolver_hits_total", "counter", "Resolver cache hits.", r.hits),
    one("ipop_resolver_misses_total", "counter", "Resolver cache misses.", r.misses),
    one(
      "ipop_resolver_lookups_total",
      "counter",
      "Resolver lookups sent to the DHT.",
      r.lookups,
    ),
    {
      name: "ipop_resolver_entries",
      type: "gauge",
      help: "Resolver cache entries, by kind.",
      samples: [...byKind].map(([kind, value]) => ({ labels: { kind }, value })),
    },
  ];
}

function dhtFamilies(s: AgentStatus): MetricFamily[] {
  const d = s.dht;
  return [
    one(
      "ipop_dht_records",
      "gauge",
      "DHT records held as a replica (tombstones included).",
      d.records,
    ),
    one("ipop_dht_requests_total", "counter", "DHT requests this node handled.", d.requests),
    one(
      "ipop_dht_coordinated_total",
      "counter",
      "DHT operations this node coordinated.",
      d.coordinated,
    ),
    one(
      "ipop_dht_replica_requests_total",
      "counter",
      "DHT replica requests this node answered.",
      d.replicaRequests,
    ),
    one(
      "ipop_dht_handoffs_received_total",
      "counter",
      "DHT record handoffs received.",
      d.handoffsReceived,
    ),
    one("ipop_dht_dropped_total", "counter", "DHT messages dropped.", d.dropped),
  ];
}

function routerFamilies(s: AgentStatus): MetricFamily[] {
  const entries = Object.entries(s.router);
  const pick = (forwarded: boolean) =>
    entries.filter(([k]) => ROUTER_PATHS.includes(k) === forwarded);
  return [
    {
      name: "ipop_router_packets_total",
      type: "counter",
      help: "Virtual-IP packets forwarded, by path (direct to the owner or routed via others).",
      samples: pick(true).map(([path, value]) => ({ labels: { path }, value })),
    },
    {
      name: "ipop_router_drops_total",
      type: "counter",
      help: "Virtual-IP packets the router dropped, by reason.",
      samples: pick(false).map(([k, value]) => ({ labels: { reason: snakeCase(k) }, value })),
    },
  ];
}

/** The metric families of an agent's status, in output order. */
export function agentMetricFamilies(status: AgentStatus): MetricFamily[] {
  return [
    {
      name: "ipop_build_info",
      type: "gauge",
      help: "Always 1; labelled with the ipop version and the AEAD in use.",
      samples: [{ labels: { version: status.version, aead: status.aead }, value: 1 }],
    },
    one(
      "ipop_uptime_seconds",
      "gauge",
      "Seconds since the agent started.",
      seconds(status.uptimeMs),
    ),
    ...(status.handshakes
      ? [
        one(
          "ipop_handshakes_initiated_total",
          "counter",
          "Link handshake initiations sent (hole-punching tries included).",
          status.handshakes.initiated,
        ),
        one(
          "ipop_handshakes_completed_total",
          "counter",
          "Link handshakes that gave a session, as initiator or responder.",
          status.handshakes.completed,
        ),
      ]
      : []),
    ...transportFamilies(status),
    ...tunFamilies(status),
    ...dropFamilies(status),
    ...overlayFamilies(status),
    ...peerFamilies(status),
    ...leaseFamilies(status),
    ...resolverFamilies(status),
    ...dhtFamilies(status),
    ...routerFamilies(status),
  ];
}

/** Renders an agent's status in the Prometheus text exposition format 0.0.4. */
export function renderPrometheus(status: AgentStatus): string {
  return formatFamilies(agentMetricFamilies(status));
}
