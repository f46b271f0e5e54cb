/**
 * Shared by the shortcut e2e test and benchmark: real agents (DHCP addresses, one bootstrap) in
 * network namespaces on one bridge, status read straight from each agent's control socket (no
 * process per poll, so it can be polled every 100 ms), pairs of agents with no direct link, ping
 * RTTs, and the formation of a shortcut under a 10 packets/s ping.
 *
 * @module
 */
import type { AgentStatus } from "../lib/agent/agent_status.ts";
import { requestStatus } from "../lib/control/control_client.ts";
import { AgentProcess, makeSecretFile } from "../tests/helpers/agent_process.ts";
import { AGENT_PORT, allLogs } from "../tests/helpers/link_fixture.ts";
import {
  type BridgedHosts,
  createBridgedHosts,
  pollUntil,
  type Rig,
} from "../tests/helpers/netns.ts";

/** The DHCP subnet of the rig. */
export const SHORTCUT_SUBNET = "100.64.0.0/16";
/** Bound for every agent to hold a lease, from the last start. */
export const LEASE_TIMEOUT_MS = 60_000;

/** A running network of agents with leases. */
export interface ShortcutNet {
  hosts: BridgedHosts;
  agents: AgentProcess[];
  /** Leased virtual IPs, by agent. */
  ips: string[];
  /** Milliseconds from the first start until every agent held a lease. */
  leasedAfterMs: number;
}

/** The status of `agent` over its control socket, or undefined when it cannot be read. */
export async function statusOf(agent: AgentProcess): Promise<AgentStatus | undefined> {
  try {
    return await requestStatus(agent.stateDir, { timeoutMs: 5_000 }) as AgentStatus;
  } catch {
    return undefined;
  }
}

/** Reads every agent's status; throws when one cannot be read. */
export async function statusesOf(agents: AgentProcess[]): Promise<AgentStatus[]> {
  const all = await Promise.all(agents.map(statusOf));
  const bad = all.findIndex((s) => s === undefined);
  if (bad >= 0) throw new Error(`no status from ${agents[bad]!.ns}\n${agents[bad]!.logs()}`);
  return all as AgentStatus[];
}

/** The leased address (without prefix) of a status, or undefined. */
export function leasedIp(s: AgentStatus | undefined): string | undefined {
  return s?.lease.state === "bound" ? s.lease.address?.split("/")[0] : undefined;
}

/**
 * Starts `count` agents (agent 0 founds the overlay, the others bootstrap from it, default
 * `--shortcut-pps`) and waits until each holds a lease. The caller closes
 * `hosts.rig` (in a `finally`), which stops everything; on failure it is closed here.
 */
export async function startLeasedNet(count: number): Promise<ShortcutNet> {
  const hosts = await createBridgedHosts(count);
  const agents: AgentProcess[] = [];
  const rig = hosts.rig;
  try {
    const secretFile = await makeSecretFile(rig);
    const bootstrap = `udp://${hosts.ips[0]}:${AGENT_PORT}`;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      agents.push(
        await AgentProcess.start(rig, {
          ns: hosts.hosts[i]!,
          listen: `${hosts.ips[i]}:${AGENT_PORT}`,
          subnet: SHORTCUT_SUBNET,
          secretFile,
          bootstrap: i === 0 ? [] : [bootstrap],
        }),
      );
    }
    const ips: (string | undefined)[] = agents.map(() => undefined);
    const ok = await pollUntil(
      async () => {
        if (agents.some((a) => !a.alive)) return true;
        const all = await Promise.all(agents.map(statusOf));
        all.forEach((s, i) => (ips[i] = leasedIp(s)));
        return ips.every((ip) => ip !== undefined);
      },
      LEASE_TIMEOUT_MS,
      250,
    );
    if (!ok || agents.some((a) => !a.alive)) {
      throw new Error(`not every agent leased an address: ${ips.join(" ")}\n${allLogs(agents)}`);
    }
    return { hosts, agents, ips: ips as string[], leasedAfterMs: performance.now() - t0 };
  } catch (e) {
    await rig.close();
    throw e;
  }
}

/** True when either status lists a connection to the other. */
export function directlyLinked(a: AgentStatus, b: AgentStatus): boolean {
  const has = (s: AgentStatus, peer: string) =>
    s.connections.some((c) => c.address.toLowerCase() === peer.toLowerCase());
  return has(a, b.address) || has(b, a.address);
}

/** The kind of `from`'s connection to `to`, or undefined when there is none. */
export function kindOf(from: AgentStatus, to: AgentStatus): string | undefined {
  return from.connections.find((c) => c.address.toLowerCase() === to.address.toLowerCase())
    ?.kind;
}

/** Index pairs [i, j] (i < j) of agents with no direct connection either way. */
export function unlinkedPairs(statuses: AgentStatus[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < statuses.length; i++) {
    for (let j = i + 1; j < statuses.length; j++) {
      if (!directlyLinked(statuses[i]!, statuses[j]!)) out.push([i, j]);
    }
  }
  return out;
}

/** RTTs (ms) of the replies in ping output, in order. */
export function parseRtts(output: string): number[] {
  return [...output.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

/** Pings `ip` from `ns` `count` times every `intervalS` seconds; the reply RTTs in ms. */
export async function pingRtts(
  rig: Rig,
  ns: string,
  ip: string,
  count: number,
  intervalS: number,
): Promise<number[]> {
  const r = await rig.exec(ns, [
    "ping",
    "-n",
    "-c",
    String(count),
    "-i",
    String(intervalS),
    "-W",
    "2",
    ip,
  ], { timeoutMs: (count * intervalS + 5) * 1000 });
  return parseRtts(r.stdout);
}

/** Median of some numbers (NaN for none). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** What happened when a 10/s ping started between two agents with no direct link. */
export interface ShortcutFormation {
  /** From the ping's start until the source's status lists a "shortcut" to the destination. */
  formedMs: number | null;
  /** From the ping's start until the source's router first sent a packet directly. */
  firstDirectMs: number | null;
  /** From the ping's start until the first reply received after that first direct packet. */
  firstReplyAfterSwitchMs: number | null;
  /** RTTs (ms) of the replies before the switch and after it. */
  rttsBefore: number[];
  rttsAfter: number[];
  /** The kind the destination gives its connection to the source at the end. */
  remoteKind: string | undefined;
}

/**
 * Pings agent `dst` from agent `src` at `pps` packets a second for up to `windowMs`, polling
 * the source's status every `pollMs` until a "shortcut" connection to the destination shows
 * (and the ping has run `afterMs` longer, to measure the RTT over the shortcut).
 */
export async function measureFormation(
  net: ShortcutNet,
  src: number,
  dst: number,
  opts: { pps: number; windowMs: number; pollMs: number; afterMs: number },
): Promise<ShortcutFormation> {
  const rig = net.hosts.rig;
  const a = net.agents[src]!;
  const b = net.agents[dst]!;
  const bStatus = await statusOf(b);
  const aStatus0 = await statusOf(a);
  if (!bStatus || !aStatus0) throw new Error("no status before the ping");
  const direct0 = aStatus0.router.direct ?? 0;
  const interval = (1 / opts.pps).toFixed(3);
  const deadlineS = Math.ceil(opts.windowMs / 1000);
  const startWall = Date.now();
  const t0 = performance.now();
  const ping = rig.spawn(a.ns, [
    "ping",
    "-n",
    "-D",
    "-i",
    interval,
    "-W",
    "2",
    "-w",
    String(deadlineS),
    net.ips[dst]!,
  ]);
  let formedMs: number | null = null;
  let firstDirectMs: number | null = null;
  let firstDirectWall: number | null = null;
  let stopAt = Infinity;
  while (performance.now() - t0 < opts.windowMs && performance.now() < stopAt) {
    const s = await statusOf(a);
    const now = performance.now();
    if (s !== undefined) {
      if (formedMs === null && kindOf(s, bStatus) === "shortcut") {
        formedMs = now - t0;
        stopAt = now + opts.afterMs;
      }
      if (firstDirectMs === null && (s.router.direct ?? 0) > direct0) {
        firstDirectMs = now - t0;
        firstDirectWall = Date.now();
      }
    }
    if (ping.exitStatus !== undefined) break;
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
  ping.kill("SIGINT");
  await ping.wait(3_000);
  const replies = [...ping.stdout().matchAll(/^\[([\d.]+)\].*time=([\d.]+) ms/gm)].map((m) => ({
    atWall: Number(m[1]) * 1000,
    rtt: Number(m[2]),
  }));
  // A reply received after the poll that saw the first direct packet came back over the link.
  const after = firstDirectWall === null ? [] : replies.filter((r) => r.atWall >= firstDirectWall);
  const before = firstDirectWall === null
    ? replies
    : replies.filter((r) => r.atWall < firstDirectWall);
  const firstAfter = after[0];
  const bEnd = await statusOf(b);
  const aEnd = await statusOf(a);
  return {
    formedMs,
    firstDirectMs,
    firstReplyAfterSwitchMs: firstAfter === undefined ? null : firstAfter.atWall - startWall,
    rttsBefore: before.map((r) => r.rtt),
    rttsAfter: after.map((r) => r.rtt),
    remoteKind: bEnd && aEnd ? kindOf(bEnd, aEnd) : undefined,
  };
}
