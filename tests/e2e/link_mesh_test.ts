/**
 * Three hosts on one bridge, every agent peered with the other two: all six directed pairs ping
 * each other through the tunnels, and every agent shuts down cleanly.
 */
import assert from "node:assert/strict";
import type { AgentProcess } from "../helpers/agent_process.ts";
import { allLogs, startAgents } from "../helpers/link_fixture.ts";
import {
  canUseNetns,
  createBridgedHosts,
  NEEDS_ROOT_SUFFIX,
  pingUntilReply,
} from "../helpers/netns.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";
const VIPS = ["100.64.0.1", "100.64.0.2", "100.64.0.3"];

Deno.test({
  name: `link: three fully peered agents on a bridge ping each other pairwise${suffix}`,
  ignore,
  async fn() {
    const h = await createBridgedHosts(3);
    let agents: AgentProcess[] = [];
    try {
      agents = await startAgents(
        h.rig,
        h.hosts.map((ns, i) => ({ ns, ip: h.ips[i]!, vip: VIPS[i]! })),
      );
      for (const a of agents) await a.waitEstablished();
      for (const [i, ns] of h.hosts.entries()) {
        for (const [j, vip] of VIPS.entries()) {
          if (i === j) continue;
          const ok = await pingUntilReply(h.rig, ns, vip, 10_000);
          assert.ok(ok, `host ${i} cannot ping ${vip}\n${allLogs(agents)}`);
        }
      }
      for (const a of agents) {
        const s = await a.status();
        assert.equal(s.peers.length, 2);
        assert.ok(s.peers.every((p) => p.rxPackets > 0), `${a.ns}: a peer sent nothing`);
      }
      for (const a of agents) await a.stop();
    } catch (e) {
      console.error(allLogs(agents));
      throw e;
    } finally {
      await h.rig.close();
    }
  },
});
