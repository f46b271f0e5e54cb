/**
 * One run of the NAT benchmark (`nat_bench.ts`), on a fresh NAT rig of real agents
 * (`tests/helpers/nat_agents.ts`): a bootstrap agent on a public host, agents A and B behind
 * NATs of their own.
 *
 * - `measureDirectRun` (masquerade or symmetric A <-> masquerade B): the core drops traffic between the NATs
 *   while the agents join, so that A and B do not link as ring neighbours; A pings B once
 *   (resolving B's address) and then 3 times at 1/s (below the 2/s shortcut threshold), relayed
 *   by the public node; after a pause that empties the rate window the cut is undone and
 *   `ping -i 0.2` (5/s) starts. A's status is read every `POLL_MS` until it lists a direct
 *   (non-relay) link to B at B's NAT.
 * - `measureRelayedRun` (symmetric <-> symmetric): `ping -i 0.2` for `RELAYED_WINDOW_MS`; A's
 *   status is read every `POLL_MS` and any direct link to B is recorded.
 *
 * Every wait is bounded; the rig is closed in a `finally` whatever happens.
 *
 * @module
 */
import {
  connectionTo,
  cutBetweenNats,
  describeConnection,
  directLinkTo,
  mustStatus,
  type NatAgents,
  startNatAgents,
  statusOf,
} from "../tests/helpers/nat_agents.ts";
import type { NatKind } from "../tests/helpers/nat_rig.ts";
import type { Rig } from "../tests/helpers/netns.ts";

/** Status poll interval while waiting for a direct link. */
export const POLL_MS = 100;
/** Interval (s) of the fast ping: 5 packets/s, above the default 2/s shortcut threshold. */
export const FAST_PING_INTERVAL_S = 0.2;
/** Bound from the first fast packet to a direct link. */
export const FORMATION_TIMEOUT_MS = 8_000;
/** How long the fast ping runs on after the link is seen (for the direct RTT). */
export const AFTER_LINK_MS = 2_000;
/** Pings at 1/s over the relay, after one that resolves the address. */
export const RELAY_PING_COUNT = 3;
/** Pause after the 1/s pings, longer than the shortcut's 1 s rate window. */
export const RATE_WINDOW_PAUSE_MS = 1_500;
/** How long the symmetric case pings and watches for a direct link. */
export const RELAYED_WINDOW_MS = 6_000;

/** One run where a direct link is expected. */
export interface DirectRun {
  leasedAfterMs: number;
  /** First fast packet -> A's status lists a direct link to B (null: none within the bound). */
  linkMs: number | null;
  /** First fast packet -> first echo reply received after that status poll. */
  firstReplyAfterLinkMs: number | null;
  /** The link as A's status showed it ("kind@endpoint"). */
  link: string;
  /** RTTs (ms) at 1/s over the relay, before; and of the replies after the link was seen. */
  rttsRelay: number[];
  rttsDirect: number[];
  /** Fast pings sent and answered. */
  transmitted: number;
  received: number;
}

/** One run where no direct link is expected. */
export interface RelayedRun {
  leasedAfterMs: number;
  /** A direct A-B link was seen at some poll (before or during the ping). */
  direct: boolean;
  /** A's connections to B seen during the ping, as text. */
  seen: string[];
  /** RTTs (ms) of the replies, the first (address resolution) left out. */
  rtts: number[];
  transmitted: number;
  received: number;
}

/** One reply of `ping -D -n`: wall-clock receive time (ms since the epoch) and RTT (ms). */
export interface TimedReply {
  seq: number;
  atWallMs: number;
  rttMs: number;
}

/** Parses the replies of `ping -D -n` output. */
export function parseTimedReplies(output: string): TimedReply[] {
  return [...output.matchAll(/^\[([\d.]+)\].*icmp_seq=(\d+) .*time=([\d.]+) ms/gm)].map((m) => ({
    atWallMs: Number(m[1]) * 1000,
    seq: Number(m[2]),
    rttMs: Number(m[3]),
  }));
}

/** The "N packets transmitted, M received" summary of ping output, -1 when missing. */
export function parseSummary(output: string): { transmitted: number; received: number } {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  return { transmitted: m ? Number(m[1]) : -1, received: m ? Number(m[2]) : -1 };
}

/** Runs `ping -n -c count -i intervalS` to completion (bounded); the reply RTTs in ms. */
async function pingRtts(
  rig: Rig,
  ns: string,
  ip: string,
  count: number,
  intervalS: number,
): Promise<number[]> {
  const r = await rig.exec(
    ns,
    ["ping", "-n", "-c", String(count), "-i", String(intervalS), "-W", "2", ip],
    { timeoutMs: (count * intervalS + 5) * 1000 },
  );
  return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

function fastPingArgs(ip: string, deadlineS: number): string[] {
  return [
    "ping",
    "-n",
    "-D",
    "-i",
    String(FAST_PING_INTERVAL_S),
    "-W",
    "2",
    "-w",
    `${deadlineS}`,
    ip,
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops a background ping (SIGINT, so it prints its summary) and waits for it (bounded). */
async function stopPing(
  ping: { kill(s: Deno.Signal): void; wait(ms: number): Promise<unknown>; stdout(): string },
): Promise<string> {
  ping.kill("SIGINT");
  if (await ping.wait(3_000) === undefined) ping.kill("SIGKILL");
  await ping.wait(2_000);
  return ping.stdout();
}

/** One `kindA` <-> masquerade run on a fresh rig (see the module doc). */
export async function measureDirectRun(kindA: NatKind): Promise<DirectRun> {
  let uncut: (() => Promise<void>) | undefined;
  const net: NatAgents = await startNatAgents(kindA, "masquerade", async (nat) => {
    uncut = await cutBetweenNats(nat);
  });
  try {
    const rig = net.nat.rig;
    const natB = net.nat.nats[1]!;
    const sB = await mustStatus(net.b);
    const bAddr = sB.address;
    if (directLinkTo(await mustStatus(net.a), bAddr)) {
      throw new Error("A and B linked through the cut");
    }
    await pingRtts(rig, net.a.ns, net.ips.b, 1, 1); // resolves B's address
    const rttsRelay = await pingRtts(rig, net.a.ns, net.ips.b, RELAY_PING_COUNT, 1);
    const sA0 = await mustStatus(net.a);
    if (directLinkTo(sA0, bAddr)) throw new Error("A linked to B during the 1/s pings");
    await sleep(RATE_WINDOW_PAUSE_MS);
    await uncut?.();

    const deadlineS = Math.ceil((FORMATION_TIMEOUT_MS + AFTER_LINK_MS) / 1000) + 1;
    const startWall = Date.now();
    const t0 = performance.now();
    const ping = rig.spawn(net.a.ns, fastPingArgs(net.ips.b, deadlineS));
    let linkMs: number | null = null;
    let linkWall: number | null = null;
    let link = "none";
    while (performance.now() - t0 < FORMATION_TIMEOUT_MS && ping.exitStatus === undefined) {
      const s = await statusOf(net.a);
      const c = s && directLinkTo(s, bAddr);
      if (c && c.endpoint?.replace(/:\d+$/, "") === natB.publicIp) {
        linkMs = performance.now() - t0;
        linkWall = Date.now();
        link = describeConnection(c);
        break;
      }
      await sleep(POLL_MS);
    }
    if (linkMs !== null) await sleep(AFTER_LINK_MS);
    const out = await stopPing(ping);
    const replies = parseTimedReplies(out);
    const after = linkWall === null ? [] : replies.filter((r) => r.atWallMs >= linkWall);
    const first = after[0];
    return {
      leasedAfterMs: net.leasedAfterMs,
      linkMs,
      firstReplyAfterLinkMs: first === undefined ? null : first.atWallMs - startWall,
      link,
      rttsRelay,
      rttsDirect: after.map((r) => r.rttMs),
      ...parseSummary(out),
    };
  } finally {
    await net.nat.close();
  }
}

/** One `kindA` <-> `kindB` run where no direct link is expected (see the module doc). */
export async function measureRelayedRun(kindA: NatKind, kindB: NatKind): Promise<RelayedRun> {
  const net = await startNatAgents(kindA, kindB);
  try {
    const rig = net.nat.rig;
    const bAddr = (await mustStatus(net.b)).address;
    let direct = directLinkTo(await mustStatus(net.a), bAddr) !== undefined;
    const seen = new Set<string>();
    const t0 = performance.now();
    const ping = rig.spawn(net.a.ns, fastPingArgs(net.ips.b, RELAYED_WINDOW_MS / 1000 + 2));
    while (performance.now() - t0 < RELAYED_WINDOW_MS && ping.exitStatus === undefined) {
      const s = await statusOf(net.a);
      const c = s && connectionTo(s, bAddr);
      if (c) seen.add(describeConnection(c));
      if (s && directLinkTo(s, bAddr)) direct = true;
      await sleep(POLL_MS);
    }
    const out = await stopPing(ping);
    return {
      leasedAfterMs: net.leasedAfterMs,
      direct,
      seen: [...seen],
      rtts: parseTimedReplies(out).filter((r) => r.seq > 1).map((r) => r.rttMs),
      ...parseSummary(out),
    };
  } finally {
    await net.nat.close();
  }
}
