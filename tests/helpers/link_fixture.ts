/**
 * Fixtures shared by the e2e link tests: N agents on a rig, peered as asked, sharing a network
 * secret (or not), and the failure-message helper that appends every agent's log.
 */
import { AgentProcess, makeSecretFile } from "./agent_process.ts";
import type { Rig } from "./netns.ts";

/** The UDP port every agent listens on (each in its own namespace). */
export const AGENT_PORT = 51820;

/** One host of a fixture. */
export interface HostSpec {
  /** Namespace. */
  ns: string;
  /** Underlay IPv4 address. */
  ip: string;
  /** Virtual address, e.g. "100.64.0.1" (prefix /24 is added). */
  vip: string;
  /** Secret file; default: the fixture's shared one. */
  secretFile?: string;
}

/**
 * Starts one agent per host. `peersOf(i)` lists the host indexes host i is peered with (default:
 * all others). Returns the agents in host order; the rig stops them on close.
 */
export async function startAgents(
  rig: Rig,
  hosts: HostSpec[],
  peersOf: (i: number) => number[] = (i) => hosts.map((_, j) => j).filter((j) => j !== i),
): Promise<AgentProcess[]> {
  const shared = await makeSecretFile(rig);
  const prepared = await Promise.all(hosts.map(() => AgentProcess.prepare(rig)));
  const agents: AgentProcess[] = [];
  for (const [i, h] of hosts.entries()) {
    const [stateDir] = prepared[i]!;
    agents.push(
      await AgentProcess.start(rig, {
        ns: h.ns,
        stateDir,
        listen: `${h.ip}:${AGENT_PORT}`,
        address: `${h.vip}/24`,
        secretFile: h.secretFile ?? shared,
        peers: peersOf(i).map((j) => `${prepared[j]![1]}@${hosts[j]!.ip}:${AGENT_PORT}`),
      }),
    );
  }
  return agents;
}

/** The logs of all agents, for failure messages. */
export function allLogs(agents: AgentProcess[]): string {
  return agents.map((a) => a.logs()).join("\n");
}
