/**
 * The overlay end to end: twelve agents, each a separate process in its own namespace on one
 * bridge, the first founding the overlay and the other eleven given only its address as bootstrap,
 * form one consistent ring as seen through `ipop status --json` (each agent's nearest live
 * connections both ways are its true successor and predecessor, and of kind "near"). Then three are SIGKILLed (the
 * bootstrap node and the next two clockwise on the ring: a crash, no goodbye) and the nine left must be
 * consistent again within 60 s, and hold no connection to a dead node any more (so the repair is
 * the overlay's own, not only the redundancy of its near links). Times are printed. `IPOP_TEST_LOG=1` runs the agents at debug level.
 */
import assert from "node:assert/strict";
import { AgentProcess, type AgentStatus, makeSecretFile } from "../helpers/agent_process.ts";
import { AGENT_PORT, allLogs } from "../helpers/link_fixture.ts";
import { canUseNetns, createBridgedHosts, NEEDS_ROOT_SUFFIX, pollUntil } from "../helpers/netns.ts";
import { checkRing, type RingCheckResult } from "../helpers/ring_check.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";

const AGENT_COUNT = 12;
/** Bound for the twelve to form one ring, from the last agent's start. */
const CONVERGE_TIMEOUT_MS = 60_000;
/** The bound for the nine survivors to be consistent again, from the kills. */
const REPAIR_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 500;
/** `status` runs at most this many at a time (each is a Deno process; the machine is small). */
const STATUS_CONCURRENCY = 4;

function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** Runs `fn` over `items`, at most `limit` at a time; results in input order. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The state of one poll: every agent's status (undefined when unreadable) and the verdict. */
interface RingPoll {
  statuses: (AgentStatus | undefined)[];
  check: RingCheckResult | undefined;
}

/** Reads every agent's status; the ring is checked only when all of them answered. */
async function pollRing(agents: AgentProcess[]): Promise<RingPoll> {
  const statuses = await mapLimited(agents, STATUS_CONCURRENCY, (a) => a.tryStatus());
  if (statuses.some((s) => s === undefined)) return { statuses, check: undefined };
  return { statuses, check: checkRing(statuses as AgentStatus[], { neighbourKind: "near" }) };
}

/** A compact picture of a poll for failure messages: each node's address, size estimate, links. */
function describe(agents: AgentProcess[], poll: RingPoll | undefined): string {
  if (poll === undefined) return "(no poll)";
  const lines = agents.map((a, i) => {
    const s = poll.statuses[i];
    if (s === undefined) return `${a.ns}: no status`;
    const conns = s.connections.map((c) => `${c.kind}:${c.address.slice(0, 8)}@${c.endpoint}`);
    return `${a.ns} ${s.address.slice(0, 8)} est=${s.estimatedSize} [${conns.join(" ")}]`;
  });
  const c = poll.check;
  return `${lines.join("\n")}\nproblems: ${JSON.stringify(c?.problems ?? "n/a")}\nstale: ${
    JSON.stringify(c?.stale ?? "n/a")
  }`;
}

/** How long a wait took: until first consistent, and until also free of links to dead nodes. */
interface WaitTimes {
  consistentMs: number;
  cleanMs: number;
}

/**
 * Polls until the ring of `agents` is consistent and no agent keeps a connection to a node outside
 * `agents` (a crashed one), or `timeoutMs` passes; throws (with the last statuses and every log)
 * when it is not, or when an agent exits.
 */
async function waitConsistent(
  agents: AgentProcess[],
  everyone: AgentProcess[],
  timeoutMs: number,
  what: string,
): Promise<WaitTimes> {
  const t0 = performance.now();
  let last: RingPoll | undefined;
  let consistentMs: number | undefined;
  const ok = await pollUntil(
    async () => {
      if (agents.some((a) => !a.alive)) return true;
      last = await pollRing(agents);
      if (last.check?.consistent !== true) return false;
      consistentMs ??= performance.now() - t0;
      return last.check.stale.length === 0;
    },
    timeoutMs,
    POLL_INTERVAL_MS,
  );
  const cleanMs = performance.now() - t0;
  const dead = agents.filter((a) => !a.alive).map((a) => a.ns);
  if (!ok || dead.length > 0 || consistentMs === undefined) {
    const why = dead.length > 0
      ? `agents exited: ${dead.join(", ")}`
      : `not consistent and free of dead links in ${timeoutMs} ms (consistent after ${consistentMs} ms)`;
    throw new Error(`${what}: ${why}\n${describe(agents, last)}\n${allLogs(everyone)}`);
  }
  return { consistentMs, cleanMs };
}

Deno.test({
  name:
    `overlay: 12 agents from one bootstrap form one ring and heal after 3 are killed, bootstrap included${suffix}`,
  ignore,
  async fn() {
    const h = await createBridgedHosts(AGENT_COUNT);
    const agents: AgentProcess[] = [];
    try {
      const secretFile = await makeSecretFile(h.rig);
      const bootstrap = `udp://${h.ips[0]}:${AGENT_PORT}`;
      const t0 = performance.now();
      for (const [i, ns] of h.hosts.entries()) {
        agents.push(
          await AgentProcess.start(h.rig, {
            ns,
            listen: `${h.ips[i]}:${AGENT_PORT}`,
            address: `100.64.0.${i + 1}/24`,
            secretFile,
            bootstrap: i === 0 ? [] : [bootstrap],
          }),
        );
      }
      const started = performance.now();
      const join = await waitConsistent(agents, agents, CONVERGE_TIMEOUT_MS, "join");
      console.log(
        `  ${AGENT_COUNT} agents consistent ${secs(join.consistentMs)} s after the last start ` +
          `(${secs(started - t0)} s to start them all)`,
      );
      const poll = await pollRing(agents);
      const statuses = poll.statuses as AgentStatus[];
      assert.ok(poll.check?.consistent, describe(agents, poll));
      const sizes = statuses.map((s) => s.estimatedSize);
      console.log(`  size estimates: ${sizes.join(" ")}`);

      // Victims: the bootstrap node and the next two clockwise. Agents keep three near links on
      // each side, so the bootstrap's predecessor loses all of its clockwise ones: the ring must
      // really be repaired, not merely fall back on a redundant link.
      const ring = poll.check!.ring;
      const indexOfAddr = (a: string) => statuses.findIndex((s) => s.address.toLowerCase() === a);
      const bootPos = ring.indexOf(statuses[0]!.address.toLowerCase());
      const victims = [0, 1, 2].map((k) => indexOfAddr(ring[(bootPos + k) % ring.length]!));
      assert.equal(new Set(victims).size, 3, `victims ${victims}`);
      const t1 = performance.now();
      for (const v of victims) {
        const st = await agents[v]!.kill("SIGKILL");
        assert.ok(st !== undefined, `agent ${v} did not die of SIGKILL`);
      }
      const survivors = agents.filter((_, i) => !victims.includes(i));
      assert.equal(survivors.length, AGENT_COUNT - 3);
      const killedMs = performance.now() - t1;
      const repair = await waitConsistent(survivors, agents, REPAIR_TIMEOUT_MS, "repair");
      const repairMs = killedMs + repair.cleanMs;
      console.log(
        `  ${survivors.length} survivors consistent ${secs(killedMs + repair.consistentMs)} s ` +
          `and rid of every link to the dead ${secs(repairMs)} s after SIGKILL of hosts ` +
          victims.map((v) => v + 1).join(", "),
      );
      assert.ok(repairMs <= REPAIR_TIMEOUT_MS, `repair took ${repairMs} ms`);
      await Promise.all(survivors.map((a) => a.stop()));
    } catch (e) {
      if (Deno.env.get("IPOP_TEST_LOG")) console.error(allLogs(agents));
      throw e;
    } finally {
      await h.rig.close();
    }
  },
});
