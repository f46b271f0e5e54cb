/**
 * The network of `deno task demo`: a core router, public hosts, two masquerade NATs with hosts
 * behind each, one symmetric NAT with one host (`demoLayout`, `nat_rig.ts`), and one ipop agent
 * per host.
 * The first public agent founds the overlay, the others bootstrap from it; all share one secret
 * and lease addresses in `DEMO_SUBNET` by DHCP over the DHT.
 *
 * Ownership: `buildDemoRig` returns a `NatRig` the caller closes (in a `finally`); it owns every
 * namespace, agent process, state directory and the secret file. `createNatRig` closes the rig
 * itself when building fails half-way.
 *
 * @module
 */
import { AgentProcess, makeSecretFile } from "../tests/helpers/agent_process.ts";
import { createNatRig, type NatRig, type RigHost } from "../tests/helpers/nat_rig.ts";
import { demoLayout } from "./_demo_args.ts";
import type { DemoAgent, DemoPlace } from "./_demo_view.ts";

/** How long the agents get to exit after SIGTERM before the rig's own stop (then SIGKILL). */
export const DEMO_STOP_TIMEOUT_MS = 5_000;
/** UDP port of the first agent of each site; the next ones behind the same NAT take 5801, … */
export const DEMO_PORT = 5800;
/** The DHCP subnet of the agents. */
export const DEMO_SUBNET = "100.64.0.0/24";

/** A host of the rig and what the view calls it. */
export interface DemoHost {
  host: RigHost;
  place: DemoPlace;
  site: string;
  /** Its UDP listen port (`demoListenPort`). */
  port: number;
}

/**
 * The listen port of the `indexInSite`-th host (from 0) of a site: `DEMO_PORT + indexInSite`,
 * as operators do behind one home router. Two hosts behind one MASQUERADE router that both use
 * port 5800 cannot both keep it: the second one's mappings get fresh ports, which its peers
 * cannot predict, so a direct link to it cannot be punched through its NAT.
 */
export function demoListenPort(indexInSite: number): number {
  return DEMO_PORT + indexInSite;
}

/** Builds the namespaces and NATs for `agents` agents; hosts in start order (founder first). */
export async function buildDemoRig(agents: number): Promise<{ nat: NatRig; hosts: DemoHost[] }> {
  const layout = demoLayout(agents);
  const [m1, m2] = layout.masquerade;
  const nat = await createNatRig({
    publicHosts: layout.publicHosts,
    nats: [
      { kind: "masquerade", hosts: m1 },
      { kind: "masquerade", hosts: m2 },
      { kind: "symmetric", hosts: layout.symmetric },
    ],
  });
  const hosts: DemoHost[] = nat.publicHosts.map((host, j) => ({
    host,
    place: "public",
    site: "core",
    port: demoListenPort(j),
  }));
  for (const r of nat.nats) {
    r.hosts.forEach((host, j) => {
      hosts.push({ host, place: r.kind, site: `nat${r.index}`, port: demoListenPort(j) });
    });
  }
  return { nat, hosts };
}

/** The number of namespaces a rig of `buildDemoRig` made (core, hosts, NAT routers). */
export function namespaceCount(nat: NatRig): number {
  return 1 + nat.publicHosts.length + nat.nats.reduce((n, r) => n + 1 + r.hosts.length, 0);
}

/** A started agent and its view. */
export interface DemoMember {
  agent: DemoAgent;
  proc: AgentProcess;
}

/**
 * Starts one agent per host, in order, the first founding the overlay. `nowMs` is the demo's
 * clock; `onStart` is told each start. Identities are made first (a Deno start each) so that the
 * agents themselves start close together.
 */
export async function startDemoAgents(
  nat: NatRig,
  hosts: readonly DemoHost[],
  nowMs: () => number,
  onStart: (a: DemoAgent) => void,
): Promise<DemoMember[]> {
  const rig = nat.rig;
  const secretFile = await makeSecretFile(rig);
  const prepared = await Promise.all(hosts.map(() => AgentProcess.prepare(rig)));
  const founder = hosts[0]!;
  const members: DemoMember[] = [];
  for (const [i, h] of hosts.entries()) {
    const underlay = `${h.host.ip}:${h.port}`;
    const proc = await AgentProcess.start(rig, {
      ns: h.host.ns,
      stateDir: prepared[i]![0],
      listen: underlay,
      subnet: DEMO_SUBNET,
      secretFile,
      bootstrap: i === 0 ? [] : [`udp://${founder.host.ip}:${founder.port}`],
    });
    // `start` reads the identity first (a Deno start); the agent is spawned as it returns.
    const agent: DemoAgent = {
      name: String.fromCharCode(65 + i),
      place: h.place,
      site: h.site,
      underlay,
      startedAtMs: nowMs(),
    };
    members.push({ agent, proc });
    onStart(agent);
  }
  return members;
}

/**
 * SIGTERMs every agent at once and waits (up to `DEMO_STOP_TIMEOUT_MS`) for them to exit; the
 * rig's close would stop them one after the other (a second or more each while they say goodbye
 * and release their leases). An agent still running is left to the rig's close.
 */
export async function stopDemoAgents(members: readonly DemoMember[]): Promise<void> {
  for (const m of members) m.proc.signal("SIGTERM");
  await Promise.all(members.map((m) => m.proc.exited(DEMO_STOP_TIMEOUT_MS)));
}
