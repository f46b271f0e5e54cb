/**
 * Part 1 of the addressing benchmark: how long a starting agent takes to get a usable virtual
 * address. An overlay of four leased agents (a founder and three bootstrapped from it); then,
 * `runs` times, a fifth agent with a fresh identity and state dir is started with the founder as
 * bootstrap, timed from just before the spawn to (a) its TUN carrying the leased IPv4 address
 * (10 ms poll of `ip addr`) and (b) its first ping reply from the founder's virtual IP; it is then
 * stopped with SIGTERM (it releases its lease). Optionally the same "to address" time for the
 * founder of a new overlay (no bootstrap), alone in its namespace.
 */
import { AgentProcess, type AgentStatus, makeSecretFile } from "../tests/helpers/agent_process.ts";
import { AGENT_PORT } from "../tests/helpers/link_fixture.ts";
import { createBridgedHosts, pollUntil } from "../tests/helpers/netns.ts";
import {
  firstReplyAt,
  randomIdentity,
  spawnAgent,
  stateDirWith,
  stopAgent,
  summarize,
  type Summary,
  waitTunAddress,
} from "./_addressing_rig.ts";

/** What part 1 found (times in ms). */
export interface StartReport {
  /** Joiner: spawn → leased address on the TUN. */
  toAddress: Summary;
  /** Joiner: spawn → first ping reply from the founder. */
  toPing: Summary;
  /** Joiner: SIGTERM → exit (includes the lease release). */
  toExit: Summary;
  /** Lone founder: spawn → leased address on the TUN (empty when not run). */
  founderToAddress: Summary;
  /** Runs that failed, with the reason. */
  failures: string[];
  /** Addresses the joiners got, in order. */
  addresses: string[];
  /** The joiners' spawn → address times in run order, ms. */
  toAddressSamples: number[];
}

const SUBNET = "100.64.0.0/16";
const VIRTUAL_PREFIX = "100.64.";
const BASE_AGENTS = 4;
const LEASE_TIMEOUT_MS = 60_000;
const ADDRESS_TIMEOUT_MS = 60_000;
const PING_TIMEOUT_S = 30;

function leasedIp(s: AgentStatus | undefined): string | undefined {
  return s?.lease.state === "bound" ? s.lease.address?.split("/")[0] : undefined;
}

async function waitLease(agent: AgentProcess): Promise<string> {
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
  const ip = leasedIp(last);
  if (!ok || !agent.alive || ip === undefined) {
    throw new Error(`${agent.ns}: no lease: ${JSON.stringify(last?.lease)}\n${agent.logs()}`);
  }
  return ip;
}

/** Runs part 1 (`founderRuns` = 0 skips the lone founder). Tears its namespaces down. */
export async function benchStart(
  runs: number,
  founderRuns: number,
  progress: (msg: string) => void,
): Promise<StartReport> {
  const h = await createBridgedHosts(BASE_AGENTS + 2);
  const rig = h.rig;
  try {
    const secretFile = await makeSecretFile(rig);
    const base: AgentProcess[] = [];
    for (let i = 0; i < BASE_AGENTS; i++) {
      base.push(
        await AgentProcess.start(rig, {
          ns: h.hosts[i]!,
          listen: `${h.ips[i]}:${AGENT_PORT}`,
          subnet: SUBNET,
          secretFile,
          logLevel: "warn",
          bootstrap: i === 0 ? [] : [`udp://${h.ips[0]}:${AGENT_PORT}`],
        }),
      );
    }
    const baseIps = await Promise.all(base.map(waitLease));
    const founderVip = baseIps[0]!;
    progress(`start: overlay of ${BASE_AGENTS} leased: ${baseIps.join(" ")}`);

    const toAddress: number[] = [];
    const toPing: number[] = [];
    const toExit: number[] = [];
    const failures: string[] = [];
    const addresses: string[] = [];
    const ns = h.hosts[BASE_AGENTS]!;
    for (let run = 0; run < runs; run++) {
      const stateDir = await stateDirWith(rig, randomIdentity());
      const agent = spawnAgent(rig, {
        ns,
        ip: h.ips[BASE_AGENTS]!,
        stateDir,
        secretFile,
        subnet: SUBNET,
        bootstrapIp: h.ips[0]!,
      });
      const alive = () => agent.proc.exitStatus === undefined;
      const seen = await waitTunAddress(ns, VIRTUAL_PREFIX, ADDRESS_TIMEOUT_MS, alive);
      if (seen === undefined) {
        failures.push(`run ${run + 1}: no address within ${ADDRESS_TIMEOUT_MS} ms`);
        progress(`start: run ${run + 1} failed: no address\n${agent.proc.stderr()}`);
        await stopAgent(agent).catch((e) => failures.push(`run ${run + 1}: ${e}`));
        continue;
      }
      const addressMs = seen[0] - agent.spawnedAtMs;
      toAddress.push(addressMs);
      addresses.push(seen[1]);
      const reply = await firstReplyAt(rig, ns, founderVip, PING_TIMEOUT_S);
      const pingMs = reply === undefined ? NaN : reply - agent.spawnedAtMs;
      if (reply === undefined) {
        failures.push(`run ${run + 1}: no ping reply in ${PING_TIMEOUT_S} s`);
      } else toPing.push(pingMs);
      toExit.push(await stopAgent(agent));
      progress(
        `start: run ${run + 1}/${runs}: ${seen[1]} after ${addressMs.toFixed(0)} ms, ` +
          `ping after ${pingMs.toFixed(0)} ms`,
      );
    }

    const founderTimes: number[] = [];
    const loneNs = h.hosts[BASE_AGENTS + 1]!;
    for (let run = 0; run < founderRuns; run++) {
      const stateDir = await stateDirWith(rig, randomIdentity());
      const agent = spawnAgent(rig, {
        ns: loneNs,
        ip: h.ips[BASE_AGENTS + 1]!,
        stateDir,
        secretFile,
        subnet: SUBNET,
      });
      const alive = () => agent.proc.exitStatus === undefined;
      const seen = await waitTunAddress(loneNs, VIRTUAL_PREFIX, ADDRESS_TIMEOUT_MS, alive);
      if (seen === undefined) failures.push(`founder run ${run + 1}: no address`);
      else founderTimes.push(seen[0] - agent.spawnedAtMs);
      await stopAgent(agent);
      progress(
        `start: lone founder run ${run + 1}/${founderRuns}: ${
          seen ? (seen[0] - agent.spawnedAtMs).toFixed(0) : "-"
        } ms`,
      );
    }
    for (const a of base.reverse()) await a.stop();
    return {
      toAddress: summarize(toAddress),
      toPing: summarize(toPing),
      toExit: summarize(toExit),
      founderToAddress: summarize(founderTimes),
      failures,
      addresses,
      toAddressSamples: toAddress,
    };
  } finally {
    await rig.close();
  }
}
