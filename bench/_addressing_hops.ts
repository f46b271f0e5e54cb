/**
 * Part 2 of the addressing benchmark: ping RTT over 1, 2 and 3 overlay hops. Four agents A, B, C,
 * D with consecutive overlay addresses (clockwise), UDP dropped between non-adjacent ones (A-C,
 * A-D, B-D) so only A-B, B-C, C-D can link; bootstrap chain A <- B <- C <- D. A pings B (direct
 * link), C (A→B→C) and D (A→B→C→D); the raw underlay RTT between the same namespaces is measured
 * in the same run. The hop counts are checked through A's `status --json`: no connection to C or
 * D, and A's router counts the pings to B as sent over the direct link, the others as routed.
 */
import { AgentProcess, type AgentStatus, makeSecretFile } from "../tests/helpers/agent_process.ts";
import { AGENT_PORT } from "../tests/helpers/link_fixture.ts";
import { createBridgedHosts, pingUntilReply, pollUntil, type Rig } from "../tests/helpers/netns.ts";
import {
  blockUdp,
  consecutiveIdentities,
  pingSeries,
  type RingIdentity,
  stateDirWith,
  summarize,
  type Summary,
} from "./_addressing_rig.ts";

/** One measured path from A. */
export interface HopResult {
  /** "B", "C" or "D". */
  target: string;
  /** Overlay hops A → target in the intended topology. */
  hops: number;
  /** True when A could ping the target within the wait. */
  reachable: boolean;
  sent: number;
  received: number;
  /** RTT over ipop, ms. */
  overlay: Summary;
  /** RTT over the raw underlay between the same namespaces, ms. */
  underlay: Summary;
  /** A's router counters during the series: packets sent over a direct link / routed. */
  direct: number;
  routed: number;
}

/** What part 2 found. */
export interface HopsReport {
  /** Overlay addresses of A, B, C, D (hex). */
  addresses: string[];
  /** Virtual IPs of A, B, C, D. */
  vips: string[];
  /** A's connections after the measurement: overlay address (hex) and endpoint. */
  connectionsOfA: { address: string; name: string; endpoint: string | null; kind: string }[];
  /** True when A holds a connection to C or D (the hop counts would then be wrong). */
  shortcut: boolean;
  results: HopResult[];
  /** Diagnostics when a target was unreachable (statuses of all four), else "". */
  diagnostics: string;
}

const NAMES = ["A", "B", "C", "D"];
const SUBNET = "100.64.0.0/16";
const LEASE_TIMEOUT_MS = 60_000;
const REACH_TIMEOUT_MS = 60_000;
const IDENTITY_POOL = 500;

function leasedIp(s: AgentStatus | undefined): string | undefined {
  return s?.lease.state === "bound" ? s.lease.address?.split("/")[0] : undefined;
}

async function waitLease(agent: AgentProcess): Promise<AgentStatus> {
  let last: AgentStatus | undefined;
  const ok = await pollUntil(
    async () => {
      if (!agent.alive) return true;
      last = await agent.tryStatus();
      return leasedIp(last) !== undefined;
    },
    LEASE_TIMEOUT_MS,
    250,
  );
  if (!ok || !agent.alive || last === undefined) {
    throw new Error(`${agent.ns}: no lease: ${JSON.stringify(last?.lease)}\n${agent.logs()}`);
  }
  return last;
}

function brief(s: AgentStatus, names: Map<string, string>): string {
  const conns = s.connections.map((c) => `${names.get(c.address) ?? c.address}(${c.kind})`);
  return `${names.get(s.address) ?? s.address}: lease ${s.lease.state} ${s.lease.address}; ` +
    `connections [${conns.join(", ")}]; router ${JSON.stringify(s.router)}; resolver ${
      JSON.stringify(
        s.resolver.entries.map((e) => `${e.ip}->${names.get(e.owner ?? "") ?? e.owner}`),
      )
    }; dht ${JSON.stringify(s.dht)}`;
}

/** Runs part 2; `count` pings at `intervalS` per path. Tears its namespaces down. */
export async function benchHops(
  count: number,
  intervalS: number,
  progress: (msg: string) => void,
): Promise<HopsReport> {
  const ids: RingIdentity[] = consecutiveIdentities(IDENTITY_POOL, 4);
  const names = new Map(ids.map((id, i) => [id.address, NAMES[i]!]));
  progress(`hops: ring order ${ids.map((id, i) => `${NAMES[i]}=${id.address}`).join(" ")}`);
  const h = await createBridgedHosts(4);
  const rig: Rig = h.rig;
  try {
    const [ipA, ipB, ipC, ipD] = h.ips as [string, string, string, string];
    await blockUdp(rig, h.hosts[0]!, [ipC, ipD]);
    await blockUdp(rig, h.hosts[1]!, [ipD]);
    await blockUdp(rig, h.hosts[2]!, [ipA]);
    await blockUdp(rig, h.hosts[3]!, [ipA, ipB]);

    const secretFile = await makeSecretFile(rig);
    const agents: AgentProcess[] = [];
    const statuses: AgentStatus[] = [];
    for (const [i, id] of ids.entries()) {
      const stateDir = await stateDirWith(rig, id);
      const agent = await AgentProcess.start(rig, {
        ns: h.hosts[i]!,
        listen: `${h.ips[i]}:${AGENT_PORT}`,
        stateDir,
        subnet: SUBNET,
        secretFile,
        logLevel: "warn",
        bootstrap: i === 0 ? [] : [`udp://${h.ips[i - 1]}:${AGENT_PORT}`],
      });
      if (agent.publicKey !== id.keys.publicKey.toBase64()) {
        throw new Error(`${NAMES[i]} does not use the written key: ${agent.publicKey}`);
      }
      agents.push(agent);
      const s = await waitLease(agent);
      if (s.address !== id.address) throw new Error(`${NAMES[i]} has address ${s.address}`);
      statuses.push(s);
      progress(`hops: ${NAMES[i]} leased ${leasedIp(s)}`);
    }
    const vips = statuses.map((s) => leasedIp(s)!);
    const a = agents[0]!;
    const nsA = h.hosts[0]!;

    const results: HopResult[] = [];
    let diagnostics = "";
    for (let t = 1; t < 4; t++) {
      const target = NAMES[t]!;
      progress(`hops: underlay A -> ${target}`);
      const under = await pingSeries(rig, nsA, h.ips[t]!, count, intervalS);
      progress(`hops: waiting until A reaches ${target} (${vips[t]}) over ipop`);
      const reachable = await pingUntilReply(rig, nsA, vips[t]!, REACH_TIMEOUT_MS);
      let over = { sent: 0, received: 0, rttsMs: [] as number[] };
      let direct = 0;
      let routed = 0;
      if (reachable) {
        const before = (await a.status()).router;
        over = await pingSeries(rig, nsA, vips[t]!, count, intervalS);
        const after = (await a.status()).router;
        direct = (after.direct ?? 0) - (before.direct ?? 0);
        routed = (after.routed ?? 0) - (before.routed ?? 0);
        progress(`hops: A -> ${target}: ${over.received}/${over.sent} replies`);
      } else {
        const all = await Promise.all(agents.map((x) => x.tryStatus()));
        diagnostics += `A cannot reach ${target} within ${REACH_TIMEOUT_MS} ms; statuses:\n` +
          all.map((s, i) => s ? brief(s, names) : `${NAMES[i]}: no status`).join("\n") + "\n";
        progress(`hops: A cannot reach ${target}`);
      }
      results.push({
        target,
        hops: t,
        reachable,
        sent: over.sent,
        received: over.received,
        overlay: summarize(over.rttsMs),
        underlay: summarize(under.rttsMs),
        direct,
        routed,
      });
    }
    const finalA = await a.status();
    const connectionsOfA = finalA.connections.map((c) => ({
      address: c.address,
      name: names.get(c.address) ?? "?",
      endpoint: c.endpoint,
      kind: c.kind,
    }));
    const shortcut = connectionsOfA.some((c) => c.name === "C" || c.name === "D");
    progress(`hops: stopping agents`);
    for (const x of agents.reverse()) await x.stop();
    return {
      addresses: ids.map((id) => id.address),
      vips,
      connectionsOfA,
      shortcut,
      results,
      diagnostics,
    };
  } finally {
    await rig.close();
  }
}
