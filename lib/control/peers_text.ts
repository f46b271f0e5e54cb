/**
 * The human form of `ipop peers` and `ipop ping`.
 */
import type { PingAnswer } from "../agent/agent_control.ts";
import type { PeerStatus } from "../agent/agent_status.ts";
import type { ConnectionStatus } from "../overlay/overlay_status.ts";
import { formatBytes, formatDuration, PEER_KEY_PREFIX_CHARS, table } from "./status_text.ts";

/** The answer of `peers`. */
export interface PeersAnswer {
  peers: PeerStatus[];
  connections: ConnectionStatus[];
}

/** True when `value` has the shape of a `PeersAnswer`. */
export function isPeersAnswer(value: unknown): value is PeersAnswer {
  if (typeof value !== "object" || value === null) return false;
  const a = value as Partial<Record<keyof PeersAnswer, unknown>>;
  return Array.isArray(a.peers) && Array.isArray(a.connections);
}

/** Connections (direct and relayed) and link-level peers, as two tables. */
export function formatPeers(answer: PeersAnswer): string {
  const lines: string[] = [];
  if (answer.connections.length === 0) lines.push("no overlay connections");
  else {
    const rows = [["KIND", "NODE", "PATH", "RTT", "AGE", "RX", "TX"]];
    for (const c of answer.connections) {
      rows.push([
        c.kind,
        c.address.slice(0, 12),
        c.via ? `via ${c.via.slice(0, 12)}` : c.endpoint ?? "-",
        c.rtt_ms === null ? "-" : `${c.rtt_ms.toFixed(2)}ms`,
        formatDuration(c.ageMs),
        formatBytes(c.rxBytes),
        formatBytes(c.txBytes),
      ]);
    }
    lines.push(...table(rows));
  }
  lines.push("");
  if (answer.peers.length === 0) lines.push("no peers");
  else {
    const rows = [["PEER", "ENDPOINT", "STATE", "HANDSHAKE"]];
    for (const p of answer.peers) {
      rows.push([
        p.publicKey.slice(0, PEER_KEY_PREFIX_CHARS),
        p.endpoint ?? "-",
        p.state,
        p.lastHandshakeAgoMs === null ? "never" : `${formatDuration(p.lastHandshakeAgoMs)} ago`,
      ]);
    }
    lines.push(...table(rows));
  }
  return `${lines.join("\n")}\n`;
}

/** One line: who holds the address, the round trip, and the route. */
export function formatPing(a: PingAnswer): string {
  if (a.owner === null) return `${a.ip} is not leased by anybody`;
  if (a.result !== "reply") return `${a.ip} (node ${a.owner.slice(0, 12)}): no answer`;
  const route = a.route.map((hop) => hop === null ? "?" : hop.slice(0, 12)).join(" -> ");
  const hops = a.route.length === 1 ? "1 hop" : `${a.route.length} hops`;
  return `${a.ip} (node ${a.owner.slice(0, 12)}): reply in ${a.rttMs} ms over ${hops}: ${route}`;
}
