/**
 * The human form of the answers to `ipop dht get|put` and `ipop resolve`.
 */
import type { DhtAnswer } from "../agent/agent_control.ts";
import { formatDuration } from "./status_text.ts";

/** True when `value` has the shape of a `DhtAnswer`. */
export function isDhtAnswer(value: unknown): value is DhtAnswer {
  if (typeof value !== "object" || value === null) return false;
  const a = value as Partial<Record<keyof DhtAnswer, unknown>>;
  return typeof a.status === "string" && Array.isArray(a.records);
}

/** `dht get`/`dht put`: the status, then one line per record. */
export function formatDhtAnswer(answer: DhtAnswer): string {
  const lines = [`status     ${answer.status}`];
  for (const r of answer.records) {
    lines.push(
      `record     ${JSON.stringify(r.value)} by ${r.owner} (node ${r.ownerAddress.slice(0, 12)})` +
        `, expires in ${formatDuration(r.expiresInMs)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** `resolve IP`: who holds the address. */
export function formatResolveAnswer(ip: string, answer: DhtAnswer): string {
  if (answer.status !== "ok" || answer.records.length === 0) {
    return answer.status === "not found"
      ? `${ip} is not leased by anybody\n`
      : `${ip}: the DHT answered ${answer.status}\n`;
  }
  return answer.records.map((r) =>
    `${ip} is leased by node ${r.ownerAddress} (key ${r.owner}), ` +
    `for ${formatDuration(r.expiresInMs)} more unless renewed\n`
  ).join("");
}
