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
/** Pairs tried before giving up when ring maintenance links each one during the slow ping. */
const PAIR_ATTEMPTS = 3;

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
      // Twelve agents link densely (6 near, a few far, and links nobody needs any more, which
      // are closed after a grace time). Ring maintenance may also link a pair while the slow
      // ping runs (a far link, a late neighbour): that is no shortcut, so another pair is tried.
      let chosen: [number, number] | undefined;
      let slow: number[] = [];
      const tried = new Set<string>();
      for (let attempt = 0; attempt < PAIR_ATTEMPTS && chosen === undefined; attempt++) {
        const pair = await unlinkedPair(net, tried);
        tried.add(pair.join());
        const slowPing = await pingAtOnePerSecond(net, pair);
        if (!slowPing.linked) [chosen, slow] = [pair, slowPing.rtts];
      }
      assert.ok(chosen !== undefined, `maintenance linked ${PAIR_ATTEMPTS} pairs in turn`);
      const [src, dst] = chosen;
      const [sb] = await statusesOf([net.agents[dst]!]);

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
      const [ea] = await statusesOf([net.agents[src]!]);
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

/** A pair of agents with no direct link, not in `tried` (waits up to 30 s for one). */
async function unlinkedPair(net: ShortcutNet, tried: Set<string>): Promise<[number, number]> {
  let pairs: [number, number][] = [];
  await pollUntil(
    async () => {
      pairs = unlinkedPairs(await statusesOf(net.agents)).filter((p) => !tried.has(p.join()));
      return pairs.length > 0;
    },
    UNLINKED_TIMEOUT_MS,
    1_000,
  );
  assert.ok(pairs.length > 0, "every pair of agents is directly linked");
  console.log(
    `  pair: ${net.ips[pairs[0]![0]]} -> ${net.ips[pairs[0]![1]]} (${pairs.length} unlinked)`,
  );
  return pairs[0]!;
}

/**
 * Pings `dst` from `src` at 1/s (after one ping that resolves the address over the DHT) and
 * asserts that neither side asked for a shortcut and, unless ring maintenance linked the pair
 * meanwhile, that the traffic was routed over the overlay. Gives the RTTs, and whether it did.
 */
async function pingAtOnePerSecond(
  net: ShortcutNet,
  [src, dst]: [number, number],
): Promise<{ rtts: number[]; linked: boolean }> {
  const pair = [net.agents[src]!, net.agents[dst]!];
  const [a0, b0] = await statusesOf(pair);
  assert.ok(
    await pingUntilReply(net.hosts.rig, pair[0]!.ns, net.ips[dst]!, 15_000),
    "no first ping reply",
  );
  const slow = await pingRtts(net.hosts.rig, pair[0]!.ns, net.ips[dst]!, SLOW_PINGS, 1);
  assert.ok(slow.length >= SLOW_PINGS - 1, `replies at 1/s: ${slow.length}`);
  const [sa, sb] = await statusesOf(pair);
  assert.equal(sa!.shortcutsRequested, a0!.shortcutsRequested, "shortcut asked for at 1/s");
  assert.equal(sb!.shortcutsRequested, b0!.shortcutsRequested, "shortcut asked for at 1/s");
  assert.notEqual(kindOf(sa!, sb!), "shortcut");
  assert.notEqual(kindOf(sb!, sa!), "shortcut");
  // Linked meanwhile: the pings went direct from then on, so they are not counted here.
  const linked = directlyLinked(sa!, sb!);
  if (linked) {
    console.log(`  ring maintenance linked the pair (${kindOf(sa!, sb!)}): another pair`);
    return { rtts: slow, linked };
  }
  assert.ok(
    (sa!.router.routed ?? 0) - (a0!.router.routed ?? 0) >= SLOW_PINGS - 1,
    `routed: ${sa!.router.routed}`,
  );
  return { rtts: slow, linked };
}
