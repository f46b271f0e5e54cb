import assert from "node:assert/strict";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import type { Peer } from "../../lib/link/peer.ts";
import { Connection } from "../../lib/overlay/connection.ts";
import { DEFAULT_HOP_WATCH_TUNING, HopWatch } from "../../lib/overlay/hop_watch.ts";
import {
  FLAG_NEAREST,
  OverlayKind,
  type OverlayMessage,
} from "../../lib/overlay/overlay_message.ts";

/** A connection whose peer was last heard at `heardAt`, with round-trip time `rttMs`. */
function connection(address: bigint, heardAt: number, rttMs: number | null = 20): Connection {
  const peer = { lastReceivedAt: heardAt, rttMs } as unknown as Peer;
  return new Connection(peer, address, 0);
}

function message(dst: bigint, flags = 0): OverlayMessage {
  return {
    kind: OverlayKind.Data,
    flags,
    hops: 1,
    ttl: 64,
    src: 1n,
    dst,
    body: new Uint8Array(0),
  };
}

function setup() {
  const clock = new VirtualClock();
  const rerouted: OverlayMessage[] = [];
  const watch = new HopWatch(clock, DEFAULT_HOP_WATCH_TUNING, (m) => rerouted.push(m));
  return { clock, rerouted, watch };
}

Deno.test("hop watch: a link heard from within the quiet time is not watched", () => {
  const { clock, rerouted, watch } = setup();
  clock.advance(10_000);
  const busy = connection(5n, clock.now() - 200);
  assert.equal(watch.watch(busy, message(9n)), false);
  clock.advance(5_000);
  assert.deepEqual(rerouted, []);
  assert.equal(clock.pending, 0);
});

Deno.test("hop watch: a quiet link that answers keeps its messages delivered once", () => {
  const { clock, rerouted, watch } = setup();
  clock.advance(10_000);
  const quiet = connection(5n, clock.now() - 2_000);
  assert.equal(watch.watch(quiet, message(9n)), true);
  assert.equal(watch.watch(quiet, message(9n)), true, "followers ask too while watched");
  clock.advance(100);
  quiet.peer.lastReceivedAt = clock.now(); // the hop ack
  clock.advance(1_000);
  assert.deepEqual(rerouted, []);
  assert.equal(watch.failed(quiet), false);
  assert.equal(watch.failures, 0);
});

Deno.test("hop watch: a silent peer is marked failed and its kept messages go around it", () => {
  const { clock, rerouted, watch } = setup();
  clock.advance(10_000);
  const dead = connection(5n, clock.now() - 2_000, 200);
  const through = message(9n);
  const toDead = message(5n);
  const nearestToDead = message(5n, FLAG_NEAREST);
  for (const m of [through, toDead, nearestToDead]) watch.watch(dead, m);
  clock.advance(599);
  assert.deepEqual(rerouted, [], "3 round trips (600 ms) are not over yet");
  clock.advance(1);
  const got = rerouted as OverlayMessage[];
  assert.deepEqual(got.map((m) => [m.dst, m.flags]), [[9n, 0], [5n, FLAG_NEAREST]]);
  assert.notEqual(got[0], through, "a copy is routed, not the object that was sent");
  assert.equal(watch.failed(dead), true);
  assert.equal(watch.failures, 1);
  // Heard from again: no longer failed.
  dead.peer.lastReceivedAt = clock.now() + 1;
  clock.advance(1);
  assert.equal(watch.failed(dead), false);
});

Deno.test("hop watch: kept messages per link are bounded and the wait has a floor", () => {
  const { clock, rerouted, watch } = setup();
  clock.advance(10_000);
  const dead = connection(5n, -Infinity, null);
  for (let i = 0; i < 50; i++) watch.watch(dead, message(BigInt(100 + i)));
  clock.advance(DEFAULT_HOP_WATCH_TUNING.minTimeoutMs);
  assert.equal(rerouted.length, DEFAULT_HOP_WATCH_TUNING.maxWatchedPerLink);
  assert.equal(clock.pending, 0);
});

Deno.test("hop watch: close cancels the timers and prune forgets peers no longer linked", () => {
  const { clock, rerouted, watch } = setup();
  clock.advance(10_000);
  const a = connection(5n, 0);
  watch.watch(a, message(9n));
  watch.close();
  assert.equal(clock.pending, 0);
  clock.advance(5_000);
  assert.deepEqual(rerouted, []);
  const b = connection(6n, 0);
  const { watch: w2, clock: c2 } = setup();
  c2.advance(10_000);
  w2.watch(b, message(9n));
  c2.advance(1_000);
  assert.equal(w2.failed(b), true);
  w2.prune(new Map());
  b.peer.lastReceivedAt = -1; // still silent, but the link is gone: forgotten
  assert.equal(w2.failed(b), false);
});
