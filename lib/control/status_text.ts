/**
 * The human form of an `AgentStatus`, as `ipop status` prints it (without `--json`).
 */
import type { AgentStatus, DropCounters, NatStatus } from "../agent/agent_status.ts";

/** Characters of a peer key shown in the peer table. */
export const PEER_KEY_PREFIX_CHARS = 8;

/** True when `value` has the shape of an `AgentStatus` (enough of it to print). */
export function isAgentStatus(value: unknown): value is AgentStatus {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Partial<Record<keyof AgentStatus, unknown>>;
  return typeof s.publicKey === "string" && typeof s.listen === "string" &&
    Array.isArray(s.peers) && Array.isArray(s.connections) && typeof s.drops === "object" &&
    s.drops !== null &&
    typeof s.transport === "object" && s.transport !== null;
}

/** One line on the NAT in front of the agent. */
function natText(nat: NatStatus): string {
  if (nat.seenAt.length === 0) return "not known yet (no peer has reported our endpoint)";
  const kind = !nat.behindNat
    ? "no NAT"
    : nat.mapsPerDestination
    ? "behind a NAT with a port per destination (birthday punching)"
    : "behind a NAT";
  return `${kind}; peers see us at ${nat.seenAt.join(", ")}`;
}

/** Renders `status` as a short text report ending in a newline. */
export function formatStatus(status: AgentStatus): string {
  const lines: string[] = [];
  const tun = status.tun;
  const t = status.transport;
  lines.push(`key        ${status.publicKey}`);
  lines.push(`overlay    ${status.address} (about ${status.estimatedSize} nodes)`);
  lines.push(`listen     ${status.listen}`);
  lines.push(
    tun === null
      ? "tun        none"
      : `tun        ${tun.name} ${tun.address ?? "(no address)"} mtu ${tun.mtu}` +
        ` (read ${tun.packetsRead} pkts, wrote ${tun.packetsWritten}, write drops ${tun.writeDrops})`,
  );
  lines.push(
    `transport  sent ${t.datagramsSent} dgrams ${formatBytes(t.bytesSent)}, received ` +
      `${t.datagramsReceived} dgrams ${formatBytes(t.bytesReceived)}, send drops ${t.sendDrops}`,
  );
  if (status.nat) lines.push(`nat        ${natText(status.nat)}`);
  const lease = status.lease;
  if (lease) {
    const expiry = lease.expiresInMs === null
      ? ""
      : `, renews before it runs out in ${formatDuration(lease.expiresInMs)}`;
    lines.push(
      `lease      ${lease.address ?? "(none)"} ${lease.state} in network ${lease.network} ` +
        `(${lease.subnet})${expiry}`,
    );
  }
  lines.push(`aead       ${status.aead}`);
  lines.push(`uptime     ${formatDuration(status.uptimeMs)}  (ipop ${status.version})`);
  lines.push("");
  if (status.peers.length === 0) {
    lines.push("no peers");
  } else {
    const rows = [["PEER", "ENDPOINT", "STATE", "RX", "TX", "HANDSHAKE"]];
    for (const p of status.peers) {
      rows.push([
        p.publicKey.slice(0, PEER_KEY_PREFIX_CHARS),
        p.endpoint ?? "-",
        p.state,
        formatBytes(p.rxBytes),
        formatBytes(p.txBytes),
        p.lastHandshakeAgoMs === null ? "never" : `${formatDuration(p.lastHandshakeAgoMs)} ago`,
      ]);
    }
    lines.push(...table(rows));
  }
  lines.push("");
  if (status.connections.length === 0) {
    lines.push("no overlay connections");
  } else {
    const rows = [["KIND", "ADDRESS", "ENDPOINT", "RTT", "AGE", "RX", "TX"]];
    for (const c of status.connections) {
      rows.push([
        c.kind,
        c.address.slice(0, 12),
        c.endpoint ?? "-",
        c.rtt_ms === null ? "-" : `${c.rtt_ms.toFixed(2)}ms`,
        formatDuration(c.ageMs),
        formatBytes(c.rxBytes),
        formatBytes(c.txBytes),
      ]);
    }
    lines.push(...table(rows));
  }
  const resolver = status.resolver;
  if (resolver) {
    lines.push("");
    if (resolver.entries.length === 0) lines.push("resolver cache empty");
    else {
      const rows = [["VIRTUAL IP", "OWNER", "EXPIRES"]];
      for (const e of resolver.entries) {
        rows.push([
          e.ip,
          e.owner === null ? "(nobody)" : e.owner.slice(0, 12),
          `in ${formatDuration(e.expiresInMs)}`,
        ]);
      }
      lines.push(...table(rows));
    }
  }
  lines.push("");
  lines.push(`drops      ${formatDrops(status.drops)}`);
  return `${lines.join("\n")}\n`;
}

/** `1234` → "1.2 KiB"; whole bytes below 1 KiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** `83_000` → "1m23s"; below a minute "12.3s"; hours as "2h05m". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const totalS = Math.floor(s);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = totalS % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  return `${m}m${String(sec).padStart(2, "0")}s`;
}

function formatDrops(drops: DropCounters): string {
  const parts = Object.entries(drops)
    .filter(([name, n]) => name !== "total" && n !== 0)
    .map(([name, n]) => `${name} ${n}`);
  return parts.length === 0 ? `${drops.total}` : `${drops.total} (${parts.join(", ")})`;
}

/** Rows as left-aligned columns two spaces apart (the last column unpadded). */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  }
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ")
  );
}
