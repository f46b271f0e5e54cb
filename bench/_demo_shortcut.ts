/**
 * The shortcut step of `deno task demo`: what the link between the chosen pair is ("none",
 * "relay via A", "near", "shortcut", …), a watcher that polls the sender's status while the
 * traffic runs and notes when the link first turns direct, the ping's round-trip times before
 * and after that moment, and the verdict line of the final summary. The text functions are pure;
 * `watchLink` only reads through the `read` seam.
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

/** One read of the sender's link while the traffic runs. */
export interface LinkRead {
  /** Its `linkKind`. */
  kind: string;
  /** How long the connection has been up, ms (0 when there is none). */
  ageMs: number;
}

/** The `linkKind` of `s`'s connection to `peerHex` and that connection's age (0: none). */
export function readLink(
  s: AgentStatus | undefined,
  peerHex: string | undefined,
  nameOf: (hex: string) => string,
): LinkRead {
  const peer = peerHex?.toLowerCase();
  const c = s?.connections.find((c) => c.address.toLowerCase() === peer);
  return { kind: linkKind(s, peerHex, nameOf), ageMs: c?.ageMs ?? 0 };
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

/** One echo reply in iputils `ping`'s output. */
export interface PingReply {
  /** Its `icmp_seq` (the first request is 1). */
  seq: number;
  /** Its round-trip time, ms. */
  rttMs: number;
}

/** The replies ("… icmp_seq=N ttl=64 time=X ms") in `ping`'s output, in order. */
export function parsePingReplies(stdout: string): PingReply[] {
  return [...stdout.matchAll(/icmp_seq=(\d+) .*?time=([\d.]+) ms/g)].map((m) => ({
    seq: Number(m[1]),
    rttMs: Number(m[2]),
  }));
}

/** The median of some numbers; undefined for none. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Round-trip times (ms) of the requests sent before a moment and of those sent after it. */
export interface RttSplit {
  before: number[];
  after: number[];
}

/**
 * Splits `replies` at `switchMs` after the first request, request N counting as sent at
 * (N - 1) · `intervalMs` (`ping -i`); with no switch (undefined) every reply is "before".
 */
export function splitRtts(
  replies: readonly PingReply[],
  switchMs: number | undefined,
  intervalMs: number,
): RttSplit {
  const out: RttSplit = { before: [], after: [] };
  for (const r of replies) {
    const sentMs = (r.seq - 1) * intervalMs;
    (switchMs !== undefined && sentMs >= switchMs ? out.after : out.before).push(r.rttMs);
  }
  return out;
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
  /**
   * Round-trip times (ms) of the requests sent before the link was seen direct (including any
   * slow pings before the traffic) and of those sent after.
   */
  rtts: RttSplit;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function pingText(p: PingCount | undefined): string {
  if (p === undefined) return "ping printed no summary";
  return `pings ${p.received}/${p.sent} answered, ${p.sent - p.received} lost`;
}

function rttText(xs: readonly number[]): string {
  const m = median(xs);
  return m === undefined ? "no reply" : `${m.toFixed(2)} ms (median of ${xs.length})`;
}

/**
 * The summary line about the shortcut: formed (how fast, and the RTT before and after), not
 * needed (the pair was linked before the traffic), or not formed.
 */
export function shortcutVerdict(o: ShortcutOutcome): string {
  const head = `shortcut ${o.from} -> ${o.to}:`;
  const all = [...o.rtts.before, ...o.rtts.after];
  if (isDirect(o.before)) {
    return `${head} not needed, the pair was linked directly (${o.before}) before the traffic; ` +
      `RTT ${rttText(all)}; ${pingText(o.pings)}`;
  }
  if (o.directAfterMs !== undefined) {
    return `${head} formed ${Math.round(o.directAfterMs)} ms after the first packet (link ` +
      `${o.before} -> ${o.directKind}, now ${o.after}); RTT before ${rttText(o.rtts.before)}, ` +
      `after ${rttText(o.rtts.after)}; ${pingText(o.pings)}`;
  }
  return `${head} did NOT form in ${secs(o.trafficMs)} of traffic (link ${o.before} -> ` +
    `${o.after}); RTT ${rttText(all)}; ${pingText(o.pings)}`;
}

/** When the watched link was first seen direct, and as what. */
export interface DirectSeen {
  /**
   * When the link came up on `nowMs`'s clock: the end of the read that first saw it direct less
   * the connection's age then (an upper bound: the agent answered before the read ended).
   */
  atMs: number;
  kind: string;
}

/**
 * Polls `read` (the sender's link, `undefined` when the status could not be read) every
 * `everyMs` until `done` settles, and returns when the link seen direct by the first poll that
 * saw it so came up, or undefined. One poll runs at a time; the timer is cleared before
 * returning. Never rejects: a `read` that throws counts as unread.
 */
export async function watchLink(
  read: () => Promise<LinkRead | undefined>,
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
    const r = await read().catch(() => undefined);
    if (r !== undefined && isDirect(r.kind)) seen = { atMs: nowMs() - r.ageMs, kind: r.kind };
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
