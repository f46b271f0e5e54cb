/**
 * A node whose bootstrap link fails while others bootstrap from it must not stay an island with
 * them: it tries its bootstrap node again until it has joined (it used to stop once any link was
 * up, and a public node and its NATed joiners made rings of their own: 4% of a 1,000-node NAT
 * mix). Real nodes in virtual time; `SEED=n` replays a run.
 */
import assert from "node:assert/strict";
import { hostIp, SIM_PORT } from "../../bench/sim/world.ts";
import { overlayWorld } from "../helpers/sim_world.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);

Deno.test("a node whose bootstrap was not there at first joins the ring with its own joiners", () => {
  const world = overlayWorld({ seed: SEED, latencyMs: 10 });
  try {
    const first = world.spawn([]);
    for (let i = 1; i < 6; i++) world.spawn([first.endpoint]);
    world.runUntil(10_000);
    assert.equal(world.consistency().fraction, 1, "the first six form a ring");
    // Host 6 bootstraps from host 8, which does not exist yet; host 7 bootstraps from host 6.
    const lonely = world.spawn([endpoint(hostIp(8), SIM_PORT)]);
    world.spawn([lonely.endpoint]);
    world.runUntil(20_000);
    world.spawn([first.endpoint]); // host 8 appears and joins the ring
    world.runUntil(60_000);
    const c = world.consistency();
    assert.equal(c.fraction, 1, `SEED=${SEED}: ${world.describeInconsistent().join("\n")}`);
  } finally {
    world.close();
  }
});
