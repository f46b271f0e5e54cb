import assert from "node:assert/strict";
import type { AgentStatus } from "../../lib/agent/agent_status.ts";
import { encodeKey } from "../../lib/identity/key_text.ts";
import {
  escapeLabelValue,
  formatFamilies,
  formatValue,
  LINK_KINDS,
  renderPrometheus,
} from "../../lib/metrics/prometheus_text.ts";

const PEER_KEY = encodeKey(new Uint8Array(32).fill(0xab));

const SAMPLE_STATUS: AgentStatus = {
  version: "0.1.0",
  publicKey: encodeKey(new Uint8Array(32).fill(9)),
  listen: "198.18.0.1:5800",
  uptimeMs: 83_000,
  tun: {
    name: "ipop0",
    mtu: 1420,
    address: "100.64.0.1/24",
    packetsRead: 5,
    packetsWritten: 6,
    writeDrops: 0,
  },
  transport: {
    datagramsSent: 10,
    datagramsReceived: 11,
    bytesSent: 2048,
    bytesReceived: 100,
    sendDrops: 0,
  },
  address: "0123456789abcdef0123456789abcdef01234567",
  estimatedSize: 12,
  shortcutsRequested: 3,
  connections: [{
    kind: "near",
    address: "89abcdef0123456789abcdef0123456789abcdef",
    endpoint: "198.18.0.2:5800",
    rtt_ms: 0.25,
    ageMs: 61_000,
    rxBytes: 1536,
    txBytes: 12,
  }, {
    kind: "near",
    address: "99abcdef0123456789abcdef0123456789abcdef",
    endpoint: "198.18.0.3:5800",
    rtt_ms: 0.5,
    ageMs: 1_000,
    rxBytes: 0,
    txBytes: 0,
  }, {
    kind: "relay",
    address: "a9abcdef0123456789abcdef0123456789abcdef",
    endpoint: null,
    rtt_ms: null,
    ageMs: 1_000,
    rxBytes: 0,
    txBytes: 0,
    via: "89abcdef0123456789abcdef0123456789abcdef",
  }],
  peers: [{
    publicKey: PEER_KEY,
    endpoint: "198.18.0.2:5800",
    state: "established",
    lastHandshakeAgoMs: 4_200,
    rxBytes: 1536,
    txBytes: 12,
    rxPackets: 3,
    txPackets: 1,
    sessions: 1,
  }],
  drops: {
    malformed: 0,
    unauthenticated: 2,
    replayed: 0,
    unknownSession: 7,
    rateLimited: 0,
    notAllowed: 1,
    total: 10,
  },
  aead: "chacha20-poly1305",
  lease: {
    state: "bound",
    network: "ipop",
    subnet: "100.64.0.0/24",
    address: "100.64.0.1/24",
    expiresInMs: 90_000,
    collisions: 0,
  },
  resolver: {
    entries: [{
      ip: "100.64.0.2",
      owner: "89abcdef0123456789abcdef0123456789abcdef",
      kind: "positive",
      expiresInMs: 30_000,
    }],
    hits: 4,
    misses: 1,
    lookups: 1,
  },
  dht: {
    records: 5,
    requests: 2,
    coordinated: 1,
    replicaRequests: 3,
    handoffsReceived: 4,
    dropped: 0,
  },
  router: {
    noRoute: 0,
    unresolved: 0,
    spoofed: 0,
    notForUs: 0,
    malformed: 0,
    direct: 6,
    routed: 2,
  },
  handshakes: { initiated: 9, completed: 7 },
};

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Parsed {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: ParsedSample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE_LINE = new RegExp(
  `^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)\\})? (-?[0-9.e+]+|NaN|[+-]Inf)$`,
);
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;

function unescapeLabel(v: string): string {
  return v.replace(/\\([\\"n])/g, (_, c: string) => c === "n" ? "\n" : c);
}

/** A strict parser of the 0.0.4 text format: throws on any line it does not recognise. */
function parse(text: string): Parsed {
  assert.ok(text.endsWith("\n"), "exposition ends with a line feed");
  const out: Parsed = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const map = kind === "HELP" ? out.help : out.type;
      assert.ok(!map.has(name), `${kind} for ${name} given once`);
      assert.ok(new RegExp(`^${NAME}$`).test(name), `metric name ${name}`);
      if (kind === "TYPE") assert.ok(rest === "counter" || rest === "gauge", `type of ${name}`);
      else assert.ok(!rest.includes("\n") && rest.length > 0, `help of ${name}`);
      map.set(name, rest);
      continue;
    }
    const m = SAMPLE_LINE.exec(line);
    assert.ok(m, `sample line matches name{labels} value: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(LABEL_PAIR)) labels[k!] = unescapeLabel(v!);
    const name = m[1]!;
    assert.ok(out.type.has(name), `TYPE of ${name} comes before its samples`);
    out.samples.push({ name, labels, value: Number(m[3]) });
  }
  return out;
}

function valueOf(p: Parsed, name: string, labels: Record<string, string> = {}): number {
  const found = p.samples.filter((s) =>
    s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels)
  );
  assert.equal(found.length, 1, `one sample ${name}${JSON.stringify(labels)}`);
  return found[0]!.value;
}

Deno.test("prometheus: every line parses; every family has HELP and TYPE once and samples", () => {
  const p = parse(renderPrometheus(SAMPLE_STATUS));
  assert.deepEqual([...p.help.keys()], [...p.type.keys()]);
  for (const [name, type] of p.type) {
    assert.ok(name.startsWith("ipop_"), name);
    assert.equal(name.endsWith("_total"), type === "counter", `${name} is a ${type}`);
    assert.ok(p.samples.some((s) => s.name === name), `${name} has samples`);
  }
  const seen = new Set(p.samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`));
  assert.equal(seen.size, p.samples.length, "no duplicate series");
});

Deno.test("prometheus: status counters come out under their ipop_ names", () => {
  const p = parse(renderPrometheus(SAMPLE_STATUS));
  assert.equal(valueOf(p, "ipop_transport_datagrams_sent_total"), 10);
  assert.equal(valueOf(p, "ipop_transport_datagrams_received_total"), 11);
  assert.equal(valueOf(p, "ipop_transport_sent_bytes_total"), 2048);
  assert.equal(valueOf(p, "ipop_transport_received_bytes_total"), 100);
  assert.equal(valueOf(p, "ipop_tun_packets_written_total", { device: "ipop0" }), 6);
  assert.equal(valueOf(p, "ipop_drops_total", { reason: "unknown_session" }), 7);
  assert.equal(valueOf(p, "ipop_drops_total", { reason: "not_allowed" }), 1);
  assert.ok(!p.samples.some((s) => s.labels.reason === "total"), "the sum is not a reason");
  assert.equal(valueOf(p, "ipop_links", { kind: "near" }), 2);
  assert.equal(valueOf(p, "ipop_links", { kind: "relay" }), 1);
  assert.equal(valueOf(p, "ipop_links", { kind: "far" }), 0);
  assert.equal(p.samples.filter((s) => s.name === "ipop_links").length, LINK_KINDS.length);
  assert.equal(valueOf(p, "ipop_peers", { state: "established" }), 1);
  assert.equal(valueOf(p, "ipop_peers", { state: "connecting" }), 0);
  assert.equal(valueOf(p, "ipop_peer_last_handshake_age_seconds", { peer: PEER_KEY }), 4.2);
  assert.equal(valueOf(p, "ipop_peer_received_bytes_total", { peer: PEER_KEY }), 1536);
  assert.equal(valueOf(p, "ipop_overlay_estimated_size"), 12);
  assert.equal(valueOf(p, "ipop_shortcuts_requested_total"), 3);
  assert.equal(valueOf(p, "ipop_lease_bound"), 1);
  assert.equal(valueOf(p, "ipop_lease_state", { state: "bound" }), 1);
  assert.equal(valueOf(p, "ipop_lease_state", { state: "claiming" }), 0);
  assert.equal(valueOf(p, "ipop_lease_expires_seconds"), 90);
  assert.equal(valueOf(p, "ipop_resolver_hits_total"), 4);
  assert.equal(valueOf(p, "ipop_resolver_misses_total"), 1);
  assert.equal(valueOf(p, "ipop_resolver_entries", { kind: "positive" }), 1);
  assert.equal(valueOf(p, "ipop_dht_requests_total"), 2);
  assert.equal(valueOf(p, "ipop_dht_replica_requests_total"), 3);
  assert.equal(valueOf(p, "ipop_router_packets_total", { path: "direct" }), 6);
  assert.equal(valueOf(p, "ipop_router_packets_total", { path: "routed" }), 2);
  assert.equal(valueOf(p, "ipop_router_drops_total", { reason: "no_route" }), 0);
  assert.ok(
    !p.samples.some((s) => s.name === "ipop_router_drops_total" && s.labels.reason === "direct"),
  );
  assert.equal(valueOf(p, "ipop_uptime_seconds"), 83);
  assert.equal(valueOf(p, "ipop_handshakes_initiated_total"), 9);
  assert.equal(valueOf(p, "ipop_handshakes_completed_total"), 7);
  assert.equal(
    valueOf(p, "ipop_build_info", { version: "0.1.0", aead: "chacha20-poly1305" }),
    1,
  );
});

Deno.test("prometheus: label values with quotes, backslashes and line feeds are escaped", () => {
  const nasty = 'v1"\\\nx';
  const text = renderPrometheus({ ...SAMPLE_STATUS, version: nasty });
  assert.ok(text.includes('version="v1\\"\\\\\\nx"'), text.split("\n").slice(0, 3).join("\n"));
  const p = parse(text);
  assert.equal(valueOf(p, "ipop_build_info", { version: nasty, aead: "chacha20-poly1305" }), 1);
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

Deno.test("prometheus: an agent without TUN, lease or peers leaves those series out", () => {
  const p = parse(renderPrometheus({
    ...SAMPLE_STATUS,
    tun: null,
    peers: [],
    connections: [],
    lease: { ...SAMPLE_STATUS.lease, state: "claiming", address: null, expiresInMs: null },
  }));
  assert.ok(![...p.type.keys()].some((n) => n.startsWith("ipop_tun_")));
  assert.ok(!p.type.has("ipop_lease_expires_seconds"));
  assert.ok(!p.type.has("ipop_peer_sessions"));
  assert.equal(valueOf(p, "ipop_lease_bound"), 0);
  assert.equal(valueOf(p, "ipop_lease_state", { state: "claiming" }), 1);
  assert.equal(valueOf(p, "ipop_peers", { state: "established" }), 0);
  assert.equal(valueOf(p, "ipop_links", { kind: "near" }), 0);
});

Deno.test("prometheus: special values and empty families are written as the format says", () => {
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(1.5), "1.5");
  assert.equal(formatFamilies([{ name: "x", type: "gauge", help: "h", samples: [] }]), "");
  assert.equal(
    formatFamilies([{ name: "x", type: "gauge", help: "a\\b\nc", samples: [{ value: 1 }] }]),
    "# HELP x a\\\\b\\nc\n# TYPE x gauge\nx 1\n",
  );
});
