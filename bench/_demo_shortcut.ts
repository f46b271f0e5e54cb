/**
 * The shortcut step of `deno task demo`: what the link between the chosen pair is ("none",
 * "relay via A", "near", "shortcut", …), a watcher that polls the sender's status while the
 * traffic runs and notes when the link first turns direct, and the verdict line of the final
 * summary. The text functions are pure; `watchLink` only reads through the `read` seam.
 *
 * @module
 */
import type { AgentStatus } from "../lib/agent/agent_status.ts";

/** Time between two polls of the sender's status while the traffic runs. */
export const WATCH_INTERVAL_MS = 100;

/**
 * The kind of `s`'s connection to the node with overlay address `peerHex`: "none" when there is
 * none (or no status), "relay via NAME" for a relayed one, else the kind ("near", "shortcut", …).
 */
export function linkKind(
  s: AgentStatus | undefined,
  peerHex: string | undefined,
  nameOf: (hex: string) => string,
): string {
  if (s === undefined || peerHex === undefined) return "none";
  const c = s.connections.find((c) => c.address.toLowerCase() === peerHex.toLowerCase());
  if (c === undefined) return "none";
  return c.kind === "relay" ? `relay via ${nameOf(c.via ?? "?")}` : c.kind;
}

/** True when a `linkKind` is a direct link (not "none", not relayed). */
export function isDirect(kind: string): boolean {
  return kind !== "none" && !kind.startsWith("relay");
}

/** Packets sent and replies received, from the summary of iputils `ping`. */
export interface PingCount {
  sent: number;
  received: number;
}

/** Reads "N packets transmitted, M received" from `ping`'s output; undefined when absent. */
export function parsePingSummary(stdout: string): PingCount | undefined {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  return m === null ? undefined : { sent: Number(m[1]), received: Number(m[2]) };
}

/** What became of the pair's link while the traffic ran. */
export interface ShortcutOutcome {
  /** Names of the sender and the receiver ("D", "E"). */
  from: string;
  to: string;
  /** `linkKind` just before the first packet. */
  before: string;
  /** Ms from the first packet until the sender's link was first seen direct; undefined: never. */
  directAfterMs: number | undefined;
  /** `linkKind` when it was first seen direct. */
  directKind: string | undefined;
  /** `linkKind` when the traffic ended. */
  after: string;
  /** How long the traffic ran, ms. */
  trafficMs: number;
  /** The ping's count, undefined when it printed no summary. */
  pings: PingCount | undefined;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function pingText(p: PingCount | undefined): string {
  if (p === undefined) return "ping printed no summary";
  return `pings ${p.received}/${p.sent} answered, ${p.sent - p.received} lost`;
}

/** The summary line about the shortcut: formed (and how fast), not needed, or not formed. */
export function shortcutVerdict(o: ShortcutOutcome): string {
  const head = `shortcut ${o.from} -> ${o.to}:`;
  if (isDirect(o.before)) {
    return `${head} not needed, the pair was linked directly (${o.before}) before the traffic; ` +
      pingText(o.pings);
  }
  if (o.directAfterMs !== undefined) {
    return `${head} FORMED ${secs(o.directAfterMs)} after the first packet (link ${o.before} -> ` +
      `${o.directKind}, now ${o.after}); ${pingText(o.pings)}`;
  }
  return `${head} did NOT form in ${secs(o.trafficMs)} of traffic (link ${o.before} -> ` +
    `${o.after}); ${pingText(o.pings)}`;
}

/** When the watched link was first seen direct, and as what. */
export interface DirectSeen {
  atMs: number;
  kind: string;
}

/**
 * Polls `read` (the `linkKind` of the sender's link, `undefined` when the status could not be
 * read) every `everyMs` until `done` settles, and returns the first poll that saw the link
 * direct (time from `nowMs`), or undefined. One poll runs at a time; the timer is cleared
 * before returning. Never rejects: a `read` that throws counts as unread.
 */
export async function watchLink(
  read: () => Promise<string | undefined>,
  done: Promise<unknown>,
  nowMs: () => number,
  everyMs = WATCH_INTERVAL_MS,
): Promise<DirectSeen | undefined> {
  let over = false;
  let wake: (() => void) | undefined;
  const ended = done.then(() => {}, () => {}).finally(() => {
    over = true;
    wake?.();
  });
  let seen: DirectSeen | undefined;
  while (!over && seen === undefined) {
    const kind = await read().catch(() => undefined);
    if (kind !== undefined && isDirect(kind)) seen = { atMs: nowMs(), kind };
    if (over || seen !== undefined) break;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = undefined;
        resolve();
      }, everyMs);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        resolve();
      };
    });
  }
  await ended;
  return seen;
}
