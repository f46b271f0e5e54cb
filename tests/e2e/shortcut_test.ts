/**
 * On-demand shortcuts end to end: twelve agents in their own namespaces lease addresses over the
 * DHT; two that have no direct link ping each other. At 1 packet/s (below the default threshold
 * of 2/s) no shortcut forms; at 10/s the source's status lists a "shortcut" connection to the
 * destination within 10 s, its router then sends directly, and the RTT is printed before and
 * after. `IPOP_TEST_LOG=1` runs the agents at debug level.
 */
import assert from "node:assert/strict";
import {
  directlyLinked,
  kindOf,
  measureFormation,
  median,
  pingRtts,
  type ShortcutNet,
  startLeasedNet,
  statusesOf,
  unlinkedPairs,
} from "../../bench/_shortcut_rig.ts";
import { allLogs } from "../helpers/link_fixture.ts";
import { canUseNetns, NEEDS_ROOT_SUFFIX, pingUntilReply, pollUntil } from "../helpers/netns.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";

const AGENT_COUNT = 12;
/** The bound for a shortcut to form under a 10/s ping. */
const FORM_BOUND_MS = 10_000;
const SLOW_PINGS = 5;
/** Bound for a pair of agents with no direct link to show up. */
const UNLINKED_TIMEOUT_MS = 30_000;

function ms(xs: readonly number[]): string {
  return xs.length === 0 ? "-" : `${median(xs).toFixed(2)} ms (median of ${xs.length})`;
}

Deno.test({
  name: `shortcut: two agents without a link get one under 10 pings/s, not under 1/s${suffix}`,
  ignore,
  async fn() {
    let net: ShortcutNet | undefined;
    try {
      net = await startLeasedNet(AGENT_COUNT);
      console.log(`  ${AGENT_COUNT} leases in ${(net.leasedAfterMs / 1000).toFixed(1)} s`);
      const rig = net.hosts.rig;
      // Twelve agents link densely (6 near, a few far, and links nobody needs any more, which
      // are closed after a grace time): wait for a pair with no link if there is none yet.
      let pairs: [number, number][] = [];
      await pollUntil(
        async () => {
          pairs = unlinkedPairs(await statusesOf(net!.agents));
          return pairs.length > 0;
        },
        UNLINKED_TIMEOUT_MS,
        1_000,
      );
      assert.ok(pairs.length > 0, "every pair of agents is directly linked");
      const [src, dst] = pairs[0]!;
      const a = net.agents[src]!;
      console.log(`  pair: ${net.ips[src]} -> ${net.ips[dst]} (${pairs.length} unlinked pairs)`);

      // One ping first: the source resolves the destination's address over the DHT.
      assert.ok(await pingUntilReply(rig, a.ns, net.ips[dst]!, 15_000), "no first ping reply");
      const slow = await pingRtts(rig, a.ns, net.ips[dst]!, SLOW_PINGS, 1);
      assert.ok(slow.length >= SLOW_PINGS - 1, `replies at 1/s: ${slow.length}`);
      const [sa, sb] = await statusesOf([a, net.agents[dst]!]);
      assert.equal(directlyLinked(sa!, sb!), false, "a link formed at 1 packet/s");
      assert.ok((sa!.router.routed ?? 0) >= SLOW_PINGS, `routed: ${sa!.router.routed}`);

      const f = await measureFormation(net, src, dst, {
        pps: 10,
        windowMs: FORM_BOUND_MS + 2_000,
        pollMs: 150,
        afterMs: 3_000,
      });
      console.log(
        `  RTT at 1/s over the overlay ${ms(slow)}; at 10/s before the switch ${
          ms(f.rttsBefore)
        }, after ${ms(f.rttsAfter)}`,
      );
      console.log(
        `  shortcut in status ${f.formedMs?.toFixed(0)} ms after the first packet; first ` +
          `direct packet seen ${f.firstDirectMs?.toFixed(0)} ms; first reply after the switch ` +
          `${f.firstReplyAfterSwitchMs?.toFixed(0)} ms`,
      );
      assert.ok(f.formedMs !== null, `no shortcut within ${FORM_BOUND_MS + 2_000} ms`);
      assert.ok(f.formedMs <= FORM_BOUND_MS, `shortcut after ${f.formedMs} ms`);
      assert.ok(f.firstDirectMs !== null, "the router never sent a packet directly");
      assert.ok(f.rttsAfter.length > 0, "no reply after the switch");
      assert.equal(f.remoteKind, "shortcut", "the destination's kind of the link");
      const [ea] = await statusesOf([a]);
      assert.equal(kindOf(ea!, sb!), "shortcut");
      // No clean stop here: the shutdown contract has its own tests (and a stop under load
      // sometimes waits 1.5 s for the lease release); the rig SIGTERMs, then SIGKILLs.
    } catch (e) {
      if (net && Deno.env.get("IPOP_TEST_LOG")) console.error(allLogs(net.agents));
      throw e;
    } finally {
      await net?.hosts.rig.close();
    }
  },
});
