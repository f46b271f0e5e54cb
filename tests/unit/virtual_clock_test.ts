import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import {
  DEFAULT_VIRTUAL_EPOCH_MS,
  StillBusyError,
  VirtualClock,
} from "../../lib/clock/virtual_clock.ts";

Deno.test("VirtualClock runs timers in time order and sets now() to each event's time", () => {
  const clock = new VirtualClock();
  const seen: [string, number][] = [];
  for (const [name, at] of [["c", 30], ["a", 10], ["d", 40], ["b", 20]] as const) {
    clock.setTimer(at, () => seen.push([name, clock.now()]));
  }
  assert.equal(clock.pending, 4);
  clock.advance(25);
  assert.deepEqual(seen, [["a", 10], ["b", 20]]);
  assert.equal(clock.now(), 25);
  clock.runUntil(100);
  assert.deepEqual(seen.map(([n]) => n), ["a", "b", "c", "d"]);
  assert.equal(clock.now(), 100);
  assert.equal(clock.pending, 0);
});

Deno.test("VirtualClock runs equal-time timers in scheduling order", () => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  for (let i = 0; i < 200; i++) clock.setTimer(i % 3 === 0 ? 5 : 7, () => seen.push(i));
  clock.runUntilIdle();
  const fives = [...Array(200).keys()].filter((i) => i % 3 === 0);
  const sevens = [...Array(200).keys()].filter((i) => i % 3 !== 0);
  assert.deepEqual(seen, [...fives, ...sevens]);
});

Deno.test("VirtualClock never runs a cancelled timer and does not count it as pending", () => {
  const clock = new VirtualClock();
  let ran = 0;
  const h = clock.setTimer(10, () => ran++);
  clock.setTimer(20, () => ran += 10);
  h.cancel();
  h.cancel();
  assert.equal(clock.pending, 1);
  assert.equal(clock.nextEventTime(), 20);
  clock.advance(50);
  assert.equal(ran, 10);
});

Deno.test("VirtualClock never runs a callback inside setTimer, even at zero delay", () => {
  const clock = new VirtualClock();
  let ran = false;
  clock.setTimer(0, () => ran = true);
  clock.setTimer(-5, () => {});
  assert.equal(ran, false);
  assert.equal(clock.step(), true);
  assert.equal(ran, true);
  assert.equal(clock.now(), 0);
});

Deno.test("VirtualClock runs timers scheduled by timers within the same runUntil window", () => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  clock.setTimer(10, () => {
    seen.push(clock.now());
    clock.setTimer(5, () => seen.push(clock.now()));
    clock.setTimer(50, () => seen.push(clock.now()));
  });
  clock.runUntil(20);
  assert.deepEqual(seen, [10, 15]);
  assert.equal(clock.pending, 1);
});

Deno.test("VirtualClock.runUntilIdle stops a self-rescheduling timer at its limit", () => {
  const clock = new VirtualClock();
  const tick = () => void clock.setTimer(1, tick);
  clock.setTimer(1, tick);
  assert.throws(() => clock.runUntilIdle(100), StillBusyError);
  assert.equal(clock.now(), 100);
});

Deno.test("VirtualClock wall time is its epoch plus virtual time", () => {
  const clock = new VirtualClock();
  clock.advance(1500);
  assert.equal(clock.wallNow(), DEFAULT_VIRTUAL_EPOCH_MS + 1500);
  assert.equal(new VirtualClock(1000).wallNow(), 1000);
});

Deno.test("VirtualClock orders thousands of random timers like a sorted array", () => {
  const rng = new SeededRng(42);
  const clock = new VirtualClock();
  const model: { t: number; i: number }[] = [];
  const seen: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = rng.int(100);
    model.push({ t, i });
    clock.setTimer(t, () => seen.push(i));
  }
  clock.runUntilIdle();
  model.sort((a, b) => a.t - b.t || a.i - b.i);
  assert.deepEqual(seen, model.map((m) => m.i));
});

Deno.test("SeededRng is deterministic per seed and differs across seeds", () => {
  const draw = (seed: number | string) => {
    const r = new SeededRng(seed);
    return [r.uint32(), r.uint32(), r.uint32()];
  };
  assert.deepEqual(draw(7), draw(7));
  assert.deepEqual(draw("abc"), draw("abc"));
  assert.notDeepEqual(draw(7), draw(8));
  assert.notDeepEqual(draw("abc"), draw("abd"));
  const bytes = new SeededRng(1).fill(new Uint8Array(7));
  assert.deepEqual(new SeededRng(1).fill(new Uint8Array(7)), bytes);
});

Deno.test("SeededRng draws roughly uniform floats", () => {
  const r = new SeededRng(3);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) buckets[Math.floor(r.float() * 10)]!++;
  for (const b of buckets) assert.ok(b > 9_500 && b < 10_500, `bucket ${b}`);
});

Deno.test("VirtualClock keeps order when many cancelled timers are compacted away", () => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  const handles = [];
  for (let i = 0; i < 5000; i++) handles.push(clock.setTimer(1000 + i, () => seen.push(i)));
  for (let i = 0; i < 5000; i++) if (i % 5 !== 0) handles[i]!.cancel();
  assert.equal(clock.pending, 1000);
  clock.runUntilIdle();
  assert.deepEqual(seen, [...Array(1000).keys()].map((i) => i * 5));
});
