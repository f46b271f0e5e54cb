/**
 * Network secret over the kernel: three hosts on one bridge. A and B share a secret; C knows B's
 * public key and B lists C as a peer, but C holds a different secret, so C never links to B, B
 * counts C's handshakes as drops, and A↔B keeps working.
 */
import assert from "node:assert/strict";
import type { AgentProcess } from "../helpers/agent_process.ts";
import { makeSecretFile } from "../helpers/agent_process.ts";
import { allLogs, startAgents } from "../helpers/link_fixture.ts";
import {
  canUseNetns,
  createBridgedHosts,
  NEEDS_ROOT_SUFFIX,
  pingUntilReply,
} from "../helpers/netns.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";
/** How long C is given to (wrongly) link. */
const WRONG_SECRET_WATCH_MS = 5_000;

Deno.test({
  name: `link: an agent with a different network secret cannot link, members still can${suffix}`,
  ignore,
  async fn() {
    const h = await createBridgedHosts(3);
    let agents: AgentProcess[] = [];
    try {
      const otherSecret = await makeSecretFile(h.rig);
      const [nsA, nsB, nsC] = h.hosts as [string, string, string];
      const [ipA, ipB, ipC] = h.ips as [string, string, string];
      // A: peer B. B: peers A and C. C: peer B, with the wrong secret.
      agents = await startAgents(h.rig, [
        { ns: nsA, ip: ipA, vip: "100.64.0.1" },
        { ns: nsB, ip: ipB, vip: "100.64.0.2" },
        { ns: nsC, ip: ipC, vip: "100.64.0.3", secretFile: otherSecret },
      ], (i) => (i === 1 ? [0, 2] : [1]));
      const [a, b, c] = agents as [AgentProcess, AgentProcess, AgentProcess];
      await a.waitEstablished();
      await b.waitEstablished(a.publicKey);

      const deadline = performance.now() + WRONG_SECRET_WATCH_MS;
      let polls = 0;
      while (performance.now() < deadline) {
        const sc = await c.status();
        const sb = await b.status();
        polls++;
        assert.notEqual(sc.peers[0]?.state, "established", `C linked to B\n${allLogs(agents)}`);
        const cAtB = sb.peers.find((p) => p.publicKey === c.publicKey);
        assert.ok(cAtB !== undefined, "B does not list C as a peer");
        assert.notEqual(cAtB.state, "established", "B linked to C");
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(polls >= 3, "watched C too few times");
      const sb = await b.status();
      assert.ok(sb.drops.total > 0, `B counted no drops from C: ${JSON.stringify(sb.drops)}`);
      console.log(`  B dropped ${JSON.stringify(sb.drops)}`);
      assert.ok(c.alive && b.alive, "an agent died");

      const cToB = await h.rig.exec(nsC, ["ping", "-n", "-c", "2", "-W", "1", "100.64.0.2"]);
      assert.notEqual(cToB.code, 0, "C reached B through the tunnel");
      assert.ok(await pingUntilReply(h.rig, nsA, "100.64.0.2", 10_000), "A cannot ping B");
      assert.ok(await pingUntilReply(h.rig, nsB, "100.64.0.1", 10_000), "B cannot ping A");
    } catch (e) {
      console.error(allLogs(agents));
      throw e;
    } finally {
      await h.rig.close();
    }
  },
});
