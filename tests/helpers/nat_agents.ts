/**
 * Real ipop agents behind the real NATs of the NAT rig (`nat_rig.ts`): one public host runs the
 * bootstrap agent (it founds the overlay), and one host behind each of two NAT routers runs an
 * agent that listens on its LAN address and bootstraps from the public one. All share one
 * network secret and lease their virtual addresses by DHCP over the DHT.
 *
 * ```
 *   pub0 198.18.0.10:5800 (bootstrap agent)
 *     └ core ┬ nat1 (kind A) 198.18.1.2 ─ 198.19.1.10:5800 agent A
 *            └ nat2 (kind B) 198.18.2.2 ─ 198.19.2.10:5800 agent B
 * ```
 *
 * Status is read straight from each agent's control socket (no process per poll), so it can be
 * polled every 100 ms. Agents run at debug level, so that the reflexive endpoints they learn
 * ("KEY sees us as IP:PORT") show in their logs.
 *
 * Ownership: the returned `nat` rig owns every namespace and agent; the caller closes it (in a
 * `finally`). On a failure while starting, it is closed here before rethrowing.
 */
import type { ConnectionStatus } from "../../lib/overlay/overlay_status.ts";
import { requestStatus } from "../../lib/control/control_client.ts";
import { AgentProcess, type AgentStatus, makeSecretFile } from "./agent_process.ts";
import { allLogs } from "./link_fixture.ts";
import { createNatRig, type NatKind, type NatRig } from "./nat_rig.ts";
import { pollUntil } from "./netns.ts";

export type { AgentStatus } from "./agent_process.ts";
export type { ConnectionStatus } from "../../lib/overlay/overlay_status.ts";

/** The UDP port every agent listens on. */
export const NAT_AGENT_PORT = 5800;
/** The DHCP subnet of the agents. */
export const NAT_AGENT_SUBNET = "100.64.0.0/24";
/** Bound for all three agents to hold a lease, from the first start. */
export const NAT_LEASE_TIMEOUT_MS = 40_000;

/** The running scenario. */
export interface NatAgents {
  nat: NatRig;
  /** The bootstrap agent on the public host. */
  pub: AgentProcess;
  /** The agents behind NAT 1 and NAT 2. */
  a: AgentProcess;
  b: AgentProcess;
  /** Leased virtual IPs of pub, a, b. */
  ips: { pub: string; a: string; b: string };
  /** Milliseconds from the first agent's start until all three held a lease. */
  leasedAfterMs: number;
  /** When each agent's process was started, ms since the first agent's start. */
  startedAtMs: { pub: number; a: number; b: number };
  /** Connections seen while waiting for the leases (polled every `LEASE_POLL_MS`). */
  timeline: LinkEvent[];
}

/** Status poll interval while waiting for the leases. */
export const LEASE_POLL_MS = 100;

/** The first time a poll showed one agent's up connection to another node. */
export interface LinkEvent {
  /** Which agent's status: "pub", "a" or "b". */
  agent: string;
  /** Ms since the first agent's start, at the poll's answer (so at most one poll late). */
  tMs: number;
  /** The other node's overlay address (hex). */
  address: string;
  endpoint: string | null;
  kind: string;
}

/** The status of `agent` over its control socket, or undefined when it cannot be read. */
export async function statusOf(agent: AgentProcess): Promise<AgentStatus | undefined> {
  try {
    return await requestStatus(agent.stateDir, { timeoutMs: 5_000 }) as AgentStatus;
  } catch {
    return undefined;
  }
}

/** The status of `agent`; throws (with its logs) when it cannot be read. */
export async function mustStatus(agent: AgentProcess): Promise<AgentStatus> {
  const s = await statusOf(agent);
  if (s === undefined) throw new Error(`no status from ${agent.ns}\n${agent.logs()}`);
  return s;
}

/** The leased address (without prefix) of a status, or undefined. */
export function leasedIp(s: AgentStatus | undefined): string | undefined {
  return s?.lease.state === "bound" ? s.lease.address?.split("/")[0] : undefined;
}

/**
 * `from`'s up connection to the node with overlay address `address` (hex), if any: a direct
 * link, or (kind "relay", endpoint null, `via` set) a neighbour reached through another node.
 */
export function connectionTo(
  from: AgentStatus,
  address: string,
): ConnectionStatus | undefined {
  return from.connections.find((c) => c.address.toLowerCase() === address.toLowerCase());
}

/** `from`'s direct link (a link of its own, not a relay) to the node at `address`, if any. */
export function directLinkTo(from: AgentStatus, address: string): ConnectionStatus | undefined {
  const c = connectionTo(from, address);
  return c !== undefined && c.kind !== "relay" && c.endpoint !== null ? c : undefined;
}

/** One connection as text: "kind@endpoint", or "relay via ADDRESS-PREFIX". */
export function describeConnection(c: ConnectionStatus | undefined): string {
  if (c === undefined) return "none";
  return c.kind === "relay" ? `relay via ${c.via?.slice(0, 8)}` : `${c.kind}@${c.endpoint}`;
}

/**
 * Builds the rig (one public host, NATs of `kindA` and `kindB` with one host each), runs
 * `beforeStart` on it, starts the three agents and waits until each holds a lease. Throws (with every log) when one does not
 * within `NAT_LEASE_TIMEOUT_MS` or exits.
 */
export async function startNatAgents(
  kindA: NatKind,
  kindB: NatKind,
  beforeStart?: (nat: NatRig) => Promise<void>,
): Promise<NatAgents> {
  const nat = await createNatRig({ publicHosts: 1, nats: [{ kind: kindA }, { kind: kindB }] });
  const agents: AgentProcess[] = [];
  try {
    const rig = nat.rig;
    await beforeStart?.(nat);
    const secretFile = await makeSecretFile(rig);
    const pubHost = nat.publicHosts[0]!;
    const bootstrap = `udp://${pubHost.ip}:${NAT_AGENT_PORT}`;
    const hosts = [pubHost, nat.nats[0]!.hosts[0]!, nat.nats[1]!.hosts[0]!];
    // Identities first: `id` is a Deno start of its own, and agents started close together
    // join close together.
    const prepared = await Promise.all(hosts.map(() => AgentProcess.prepare(rig)));
    const t0 = performance.now();
    const startedAtMs: number[] = [];
    for (const [i, h] of hosts.entries()) {
      startedAtMs.push(performance.now() - t0);
      agents.push(
        await AgentProcess.start(rig, {
          ns: h.ns,
          stateDir: prepared[i]![0],
          listen: `${h.ip}:${NAT_AGENT_PORT}`,
          subnet: NAT_AGENT_SUBNET,
          secretFile,
          bootstrap: i === 0 ? [] : [bootstrap],
          logLevel: "debug",
        }),
      );
    }
    const ips: (string | undefined)[] = agents.map(() => undefined);
    const timeline: LinkEvent[] = [];
    const seen = new Set<string>();
    const names = ["pub", "a", "b"];
    const ok = await pollUntil(
      async () => {
        if (agents.some((x) => !x.alive)) return true;
        const all = await Promise.all(agents.map(statusOf));
        const tMs = performance.now() - t0;
        all.forEach((s, i) => {
          ips[i] = leasedIp(s);
          for (const c of s?.connections ?? []) {
            const id = `${i} ${c.address}`;
            if (seen.has(id)) continue;
            seen.add(id);
            timeline.push({
              agent: names[i]!,
              tMs,
              address: c.address,
              endpoint: c.endpoint,
              kind: c.kind,
            });
          }
        });
        return ips.every((ip) => ip !== undefined);
      },
      NAT_LEASE_TIMEOUT_MS,
      LEASE_POLL_MS,
    );
    if (!ok || agents.some((x) => !x.alive)) {
      throw new Error(`not every agent leased an address: ${ips.join(" ")}\n${allLogs(agents)}`);
    }
    const [pub, a, b] = agents as [AgentProcess, AgentProcess, AgentProcess];
    const [ipPub, ipA, ipB] = ips as [string, string, string];
    return {
      nat,
      pub,
      a,
      b,
      ips: { pub: ipPub, a: ipA, b: ipB },
      leasedAfterMs: performance.now() - t0,
      startedAtMs: { pub: startedAtMs[0]!, a: startedAtMs[1]!, b: startedAtMs[2]! },
      timeline,
    };
  } catch (e) {
    await nat.close();
    throw e;
  }
}

/**
 * Drops everything the core router forwards between NAT 1 and NAT 2 (both ways), so that the
 * hosts behind them can reach each other only through a public host. Returns the undo.
 */
export async function cutBetweenNats(nat: NatRig): Promise<() => Promise<void>> {
  const [x, y] = nat.nats;
  if (x === undefined || y === undefined) throw new RangeError("The rig has fewer than 2 NATs");
  const rules = [
    ["FORWARD", "-s", x.publicIp, "-d", y.publicIp, "-j", "DROP"],
    ["FORWARD", "-s", y.publicIp, "-d", x.publicIp, "-j", "DROP"],
  ];
  for (const r of rules) await nat.rig.execOk(nat.core.ns, ["iptables", "-I", ...r]);
  return async () => {
    for (const r of rules) await nat.rig.execOk(nat.core.ns, ["iptables", "-D", ...r]);
  };
}

/** The endpoints an agent's logs say peers saw it at ("KEY sees us as EP"), without repeats. */
export function reflexiveFromLogs(logs: string): string[] {
  const seen = [...logs.matchAll(/ sees us as (\S+)/g)].map((m) => m[1]!);
  return [...new Set(seen)];
}

/** The endpoints an agent advertises: its listen endpoint (specific here) then the reflexive. */
export function advertisedEndpoints(status: AgentStatus, logs: string): string[] {
  return [status.listen, ...reflexiveFromLogs(logs)];
}

/** "link to KEY at EP is up" lines of an agent's logs, as [key, endpoint]. */
export function linksUpFromLogs(logs: string): [string, string][] {
  return [...logs.matchAll(/link to (\S+) at (\S+) is up/g)].map((m) => [m[1]!, m[2]!]);
}

/** What a `ping` run printed: the sequence numbers answered and the sent/received summary. */
export interface PingResult {
  replied: Set<number>;
  rttsMs: number[];
  transmitted: number;
  received: number;
}

/** Parses iputils `ping -n` output. */
export function parsePing(output: string): PingResult {
  const replied = new Set<number>();
  const rttsMs: number[] = [];
  for (const m of output.matchAll(/icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms/g)) {
    replied.add(Number(m[1]));
    rttsMs.push(Number(m[2]));
  }
  const sum = /(\d+) packets transmitted, (\d+) received/.exec(output);
  return {
    replied,
    rttsMs,
    transmitted: sum ? Number(sum[1]) : -1,
    received: sum ? Number(sum[2]) : -1,
  };
}

/** The sequence numbers in `from..to` (inclusive) that got no reply. */
export function missingSeqs(r: PingResult, from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = from; s <= to; s++) if (!r.replied.has(s)) out.push(s);
  return out;
}
