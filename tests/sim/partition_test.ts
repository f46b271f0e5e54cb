/**
 * A partition that heals: two halves of a ring lose each other, each repairs into a ring of its
 * own, and after the network heals they merge back into one ring (through the bootstrap links
 * that nodes touch again every few minutes). Real `OverlayNode`s, fake network, virtual time.
 */
import assert from "node:assert/strict";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import { keyPairFrom } from "../../lib/crypto/x25519.ts";
import { silentLogger } from "../../lib/log.ts";
import { OverlayNode } from "../../lib/overlay/overlay_node.ts";
import { clockwiseDistance } from "../../lib/overlay/ring.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";
import { MemNetwork } from "../../lib/transport/mem_network.ts";
import type { MemTransport } from "../../lib/transport/mem_transport.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);
const NODES = 40;

/** The fraction of nodes whose nearest connections on both sides are their true neighbours. */
function consistency(nodes: OverlayNode[]): number {
  const sorted = [...nodes].sort((a, b) => (a.address < b.address ? -1 : 1));
  let ok = 0;
  sorted.forEach((n, i) => {
    const succ = sorted[(i + 1) % sorted.length]!.address;
    const pred = sorted[(i - 1 + sorted.length) % sorted.length]!.address;
    const conns = n.upAddresses;
    if (conns.length === 0) return;
    const cw = conns.reduce((b, c) =>
      clockwiseDistance(n.address, c) < clockwiseDistance(n.address, b) ? c : b
    );
    const ccw = conns.reduce((b, c) =>
      clockwiseDistance(c, n.address) < clockwiseDistance(b, n.address) ? c : b
    );
    if (cw === succ && ccw === pred) ok++;
  });
  return ok / nodes.length;
}

Deno.test("two halves of a partitioned ring merge back into one ring after the heal", () => {
  const clock = new VirtualClock();
  let partitioned = false;
  const half = (host: string) => Number(host.split(".").at(-1)) % 2;
  const network = new MemNetwork(clock, {
    latencyMs: 10,
    jitterMs: 5,
    seed: SEED,
    route: (from, to) => !partitioned || half(from.host) === half(to.host),
  });
  const rng = new SeededRng(SEED);
  const aead = loadFastAead();
  const x25519 = loadFastX25519();
  const nodes: OverlayNode[] = [];
  const transports: MemTransport[] = [];
  try {
    for (let i = 1; i <= NODES; i++) {
      const transport = network.bind(endpoint(`198.18.0.${i}`, 5800));
      transports.push(transport);
      const node = new OverlayNode({
        identity: keyPairFrom(rng.fill(new Uint8Array(32))),
        psk: new Uint8Array(32),
        transport,
        clock,
        rng: rng.fork(),
        aead,
        x25519,
        logger: silentLogger,
      });
      nodes.push(node);
      // Everyone joins through node 1, so the odd half keeps its bootstrap node.
      node.start(i === 1 ? [] : [endpoint("198.18.0.1", 5800)]);
      clock.advance(20);
    }
    clock.advance(60_000);
    assert.equal(consistency(nodes), 1, `seed ${SEED}: one ring before the partition`);

    partitioned = true;
    clock.advance(60_000);
    const evens = nodes.filter((_, i) => (i + 1) % 2 === 0);
    const odds = nodes.filter((_, i) => (i + 1) % 2 === 1);
    assert.equal(consistency(evens), 1, `seed ${SEED}: the even half repaired into its own ring`);
    assert.equal(consistency(odds), 1, `seed ${SEED}: the odd half repaired into its own ring`);

    partitioned = false;
    let mergedAfterMs = -1;
    for (let t = 1; t <= 900; t++) {
      clock.advance(1_000);
      if (consistency(nodes) === 1) {
        mergedAfterMs = t * 1_000;
        break;
      }
    }
    console.log(`seed ${SEED}: one ring again ${mergedAfterMs / 1000} s after the heal`);
    assert.ok(mergedAfterMs > 0, `seed ${SEED}: the halves merged within 15 min`);
  } finally {
    for (const n of nodes) n.close();
    for (const t of transports) t.close();
    network.close();
  }
});
