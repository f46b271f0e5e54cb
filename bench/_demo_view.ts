/**
 * What `deno task demo` shows: the per-agent table, the events it derives from successive status
 * polls ("B leased 100.64.0.7 in 1.2 s", "C -> F relayed via A"), the ping matrix and routes
 * named by agent. Pure: statuses in, text out; no I/O and no clock (times are passed in).
 *
 * @module
 */
import type { AgentStatus } from "../lib/agent/agent_status.ts";

/** Where an agent sits: on a public address or behind a NAT of some kind. */
export type DemoPlace = "public" | "masquerade" | "symmetric";

/** One agent of the demo as the view names it. */
export interface DemoAgent {
  /** One letter, "A", "B", … */
  name: string;
  place: DemoPlace;
  /** The namespace's site: "core", or "nat1", "nat2", … for the NAT it sits behind. */
  site: string;
  /** Its underlay listen endpoint, "198.19.1.10:5800". */
  underlay: string;
  /** When its process was started, ms on the demo's clock. */
  startedAtMs: number;
}

/** Links of one agent by kind. */
export interface LinkCounts {
  near: number;
  far: number;
  shortcut: number;
  relay: number;
  /** Any other kind (leaf, fixed, other). */
  other: number;
}

/** Counts `s`'s up connections by kind. */
export function linkCounts(s: AgentStatus): LinkCounts {
  const n: LinkCounts = { near: 0, far: 0, shortcut: 0, relay: 0, other: 0 };
  for (const c of s.connections) {
    if (c.kind === "near" || c.kind === "far" || c.kind === "shortcut" || c.kind === "relay") {
      n[c.kind]++;
    } else n.other++;
  }
  return n;
}

function pad(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd());
}

function placeText(a: DemoAgent): string {
  return a.place === "public" ? "public" : `${a.site} ${a.place}`;
}

/** The table of agents: name, place, underlay, lease, links by kind ("?" when no status). */
export function renderTable(
  agents: readonly DemoAgent[],
  statuses: readonly (AgentStatus | undefined)[],
): string[] {
  const rows = [["AGENT", "NAT", "UNDERLAY", "LEASE", "NEAR", "FAR", "SHORTCUT", "RELAY", "OTHER"]];
  agents.forEach((a, i) => {
    const s = statuses[i];
    if (s === undefined) {
      rows.push([a.name, placeText(a), a.underlay, "(no status yet)"]);
      return;
    }
    const lease = s.lease.address === null ? s.lease.state : `${s.lease.state} ${s.lease.address}`;
    const n = linkCounts(s);
    rows.push([
      a.name,
      placeText(a),
      a.underlay,
      lease,
      ...[n.near, n.far, n.shortcut, n.relay, n.other].map(String),
    ]);
  });
  return pad(rows);
}

/** The leased address (without prefix) of a status, or undefined. */
export function leasedIp(s: AgentStatus | undefined): string | undefined {
  return s?.lease.state === "bound" ? s.lease.address?.split("/")[0] : undefined;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Turns successive polls into events. Direct links are reported once per pair ("A <-> B linked
 * (near)") and again when they close; a shortcut and a relay are reported per direction.
 */
export class EventTracker {
  readonly #agents: readonly DemoAgent[];
  /** Overlay address (lowercase hex) -> agent name, learned from the statuses. */
  readonly #names = new Map<string, string>();
  readonly #leased = new Set<number>();
  /** Per agent: peer address -> "kind" or "relay via NAME". */
  readonly #links: Map<string, string>[];
  /** Start of the demo's traffic (ms on the demo's clock), for the shortcut events. */
  trafficStartMs: number | undefined;

  /** Tracks `agents` (statuses are passed in the same order). */
  constructor(agents: readonly DemoAgent[]) {
    this.#agents = agents;
    this.#links = agents.map(() => new Map());
  }

  /** The name of the agent with overlay address `hex`, or its first 8 hex digits. */
  nameOf(hex: string): string {
    return this.#names.get(hex.toLowerCase()) ?? hex.slice(0, 8);
  }

  #direct(i: number, peer: string): boolean {
    const k = this.#links[i]?.get(peer);
    return k !== undefined && !k.startsWith("relay");
  }

  /**
   * The events between the last poll and this one (`nowMs` on the demo's clock). `readAtMs[i]`,
   * when given, is when status i arrived (default `nowMs`); a new shortcut is timed from it less
   * the connection's age.
   */
  update(
    nowMs: number,
    statuses: readonly (AgentStatus | undefined)[],
    readAtMs: readonly number[] = [],
  ): string[] {
    const events: string[] = [];
    statuses.forEach((s, i) => {
      if (s !== undefined) this.#names.set(s.address.toLowerCase(), this.#agents[i]!.name);
    });
    const indexOf = (hex: string) => statuses.findIndex((s) => s?.address.toLowerCase() === hex);
    statuses.forEach((s, i) => {
      const me = this.#agents[i]!;
      if (s === undefined) return;
      const ip = leasedIp(s);
      if (ip !== undefined && !this.#leased.has(i)) {
        this.#leased.add(i);
        events.push(`${me.name} leased ${ip} in ${seconds(nowMs - me.startedAtMs)}`);
      }
      const now = new Map<string, string>();
      const ageMs = new Map<string, number>();
      for (const c of s.connections) {
        const peer = c.address.toLowerCase();
        now.set(peer, c.kind === "relay" ? `relay via ${this.nameOf(c.via ?? "?")}` : c.kind);
        ageMs.set(peer, c.ageMs ?? 0);
      }
      const before = this.#links[i]!;
      for (const [peer, kind] of now) {
        const old = before.get(peer);
        if (old === kind) continue;
        const other = this.nameOf(peer);
        const j = indexOf(peer);
        if (kind === "shortcut") {
          // When it came up: the poll's time less the connection's age.
          const upMs = (readAtMs[i] ?? nowMs) - (ageMs.get(peer) ?? 0);
          const after = this.trafficStartMs === undefined
            ? ""
            : ` ${seconds(Math.max(0, upMs - this.trafficStartMs))} after first packet`;
          events.push(`${me.name} -> ${other} direct link (shortcut)${after}`);
        } else if (kind.startsWith("relay")) {
          events.push(`${me.name} -> ${other} ${kind.replace("relay", "relayed")}`);
        } else if (old === undefined || old.startsWith("relay")) {
          if (j < 0 || !this.#direct(j, s.address.toLowerCase())) {
            events.push(`${me.name} <-> ${other} linked (${kind})`);
          }
        }
      }
      for (const [peer, kind] of before) {
        if (now.has(peer)) continue;
        const j = indexOf(peer);
        const other = this.nameOf(peer);
        if (kind.startsWith("relay")) events.push(`${me.name} -> ${other} relay ended`);
        else if (j < 0 || !this.#direct(j, s.address.toLowerCase())) {
          events.push(`${me.name} x ${other} link closed`);
        }
      }
      this.#links[i] = now;
    });
    return events;
  }
}

/** One ping of the matrix: answered at once, answered only on a retry ("late"), or never. */
export type PingCell = "ok" | "late" | "fail";

const CELL_TEXT: Record<PingCell, string> = { ok: "ok", late: "ok*", fail: "FAIL" };

/**
 * The ping matrix: rows ping columns, "ok", "ok*" (answered only on a retry) or "FAIL" (also
 * for a missing cell), "-" on the diagonal.
 */
export function renderMatrix(
  names: readonly string[],
  cells: readonly (readonly PingCell[])[],
): string[] {
  const rows = [["from\\to", ...names]];
  names.forEach((n, i) => {
    rows.push([n, ...names.map((_, j) => i === j ? "-" : CELL_TEXT[cells[i]?.[j] ?? "fail"])]);
  });
  return pad(rows);
}

/** A route of overlay addresses (hex, null for a silent hop) as agent names: "A -> D". */
export function routeByName(
  route: readonly (string | null)[],
  nameOf: (hex: string) => string,
): string {
  return route.length === 0
    ? "(none)"
    : route.map((h) => h === null ? "?" : nameOf(h)).join(" -> ");
}
