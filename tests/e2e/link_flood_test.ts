/**
 * Flood resistance over the kernel: while the A↔B tunnel is idle, a third process in A's namespace
 * sends ~20k random datagrams of random sizes and ~2k replays of genuine encrypted datagrams
 * (captured with tcpdump during a ping burst) at B's agent port. B must survive, count (nearly)
 * every one as a drop, write nothing to its TUN, and keep the tunnel working.
 *
 * SEED=<n> replays the same random datagrams and order.
 */
import assert from "node:assert/strict";
import type { AgentProcess, AgentStatus } from "../helpers/agent_process.ts";
import { DENO } from "../helpers/agent_process.ts";
import { AGENT_PORT, allLogs, startAgents } from "../helpers/link_fixture.ts";
import {
  canUseNetns,
  createTwoHosts,
  NEEDS_ROOT_SUFFIX,
  pingUntilReply,
  pollUntil,
  type Rig,
  startCapture,
} from "../helpers/netns.ts";
import { parsePcapUdp } from "../helpers/pcap.ts";
import { type FloodResult, UDP_FLOOD_TS } from "../helpers/udp_flood.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";
const RANDOM_DATAGRAMS = 20_000;
const REPLAY_DATAGRAMS = 2_000;
const FLOOD_DURATION_MS = 4_000;

async function tunRxPackets(rig: Rig, agent: AgentProcess): Promise<number> {
  const out = await rig.execOk(agent.ns, [
    "cat",
    `/sys/class/net/${agent.tun}/statistics/rx_packets`,
  ]);
  return Number(out.trim());
}

async function udpKernelDrops(rig: Rig, ns: string): Promise<string> {
  const snmp = await rig.exec(ns, ["cat", "/proc/net/snmp"]);
  return snmp.stdout.split("\n").filter((l) => l.startsWith("Udp:")).join("\n");
}

Deno.test({
  name:
    `link: a flood of random and replayed datagrams is dropped and counted, the tunnel survives${suffix}`,
  ignore,
  async fn() {
    const seed = Number(Deno.env.get("SEED") ?? crypto.getRandomValues(new Uint32Array(1))[0]);
    const h = await createTwoHosts();
    let agents: AgentProcess[] = [];
    try {
      agents = await startAgents(h.rig, [
        { ns: h.a, ip: h.ipA, vip: "100.64.0.1" },
        { ns: h.b, ip: h.ipB, vip: "100.64.0.2" },
      ]);
      const [a, b] = agents as [AgentProcess, AgentProcess];
      await a.waitEstablished();
      await b.waitEstablished();
      assert.ok(await pingUntilReply(h.rig, h.a, "100.64.0.2", 10_000), "no ping before flood");

      // Capture genuine A→B datagrams during a ping burst.
      const cap = await startCapture(
        h.rig,
        h.b,
        "veth0",
        `udp and src host ${h.ipA} and dst port ${AGENT_PORT}`,
        REPLAY_DATAGRAMS,
      );
      await h.rig.exec(h.a, [
        "ping",
        "-n",
        "-q",
        "-f",
        "-c",
        String(REPLAY_DATAGRAMS),
        "100.64.0.2",
      ], {
        timeoutMs: 30_000,
      });
      const captured = parsePcapUdp(await cap.stop());
      assert.ok(
        captured.length >= REPLAY_DATAGRAMS * 0.9,
        `captured only ${captured.length} datagrams`,
      );

      // Let the tunnel go quiet, then take the baseline.
      await new Promise((r) => setTimeout(r, 500));
      const before = await b.status();
      const rxBefore = await tunRxPackets(h.rig, b);

      const out = await h.rig.execOk(h.a, [
        DENO,
        "run",
        "-A",
        UDP_FLOOD_TS,
        "--target",
        `${h.ipB}:${AGENT_PORT}`,
        "--bind",
        h.ipA,
        "--random",
        String(RANDOM_DATAGRAMS),
        "--replay",
        cap.path,
        "--replay-port",
        String(AGENT_PORT),
        "--duration-ms",
        String(FLOOD_DURATION_MS),
        "--seed",
        String(seed),
      ], { timeoutMs: 60_000 });
      const flood = JSON.parse(out) as FloodResult;
      const sent = flood.randomSent + flood.replaySent;
      console.log(
        `  seed ${seed}: sent ${flood.randomSent} random + ${flood.replaySent} replayed in ` +
          `${flood.elapsedMs} ms`,
      );

      // Wait until B has counted them (or the count stops short).
      let after: AgentStatus = before;
      await pollUntil(
        async () => {
          after = await b.status();
          return after.drops.total - before.drops.total >= sent;
        },
        5_000,
        250,
      );
      const dTotal = after.drops.total - before.drops.total;
      const dReplayed = after.drops.replayed - before.drops.replayed;
      const why = `seed ${seed}; drops before ${JSON.stringify(before.drops)} after ${
        JSON.stringify(after.drops)
      }; kernel ${await udpKernelDrops(h.rig, h.b)}`;
      console.log(`  B counted ${dTotal} drops (${dReplayed} replayed) of ${sent} sent`);

      assert.ok(b.alive, `B's agent died under the flood\n${b.logs()}`);
      assert.ok(dTotal >= 0.9 * sent, `B counted ${dTotal} of ${sent} flood datagrams; ${why}`);
      assert.ok(dTotal <= sent * 1.05 + 50, `B counted ${dTotal} drops for ${sent} sent; ${why}`);
      assert.ok(
        dReplayed >= 0.9 * flood.replaySent,
        `B counted ${dReplayed} replays of ${flood.replaySent}; ${why}`,
      );
      assert.equal(after.tun?.packetsWritten, before.tun?.packetsWritten, "flood reached B's TUN");
      assert.equal(await tunRxPackets(h.rig, b), rxBefore, "kernel saw packets on B's TUN");
      assert.ok(await pingUntilReply(h.rig, h.a, "100.64.0.2", 10_000), "no ping after flood");
      assert.ok(await pingUntilReply(h.rig, h.b, "100.64.0.1", 10_000), "no ping B→A after flood");
    } catch (e) {
      console.error(`seed ${seed}\n${allLogs(agents)}`);
      throw e;
    } finally {
      await h.rig.close();
    }
  },
});
