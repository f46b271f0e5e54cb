import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { REJECT_AFTER_MESSAGES, REPLAY_WINDOW_COUNTERS } from "../../lib/link/constants.ts";
import { ReplayWindow } from "../../lib/link/replay_window.ts";

Deno.test("replay window accepts each counter once", () => {
  const w = new ReplayWindow();
  for (let i = 0; i < 5000; i++) assert.ok(w.accept(i), `first ${i}`);
  for (let i = 4990; i < 5000; i++) assert.equal(w.accept(i), false, `again ${i}`);
});

Deno.test("replay window takes reordered counters inside the window, not older ones", () => {
  const w = new ReplayWindow();
  assert.ok(w.accept(10_000));
  assert.ok(w.accept(10_000 - REPLAY_WINDOW_COUNTERS + 1), "oldest inside the window");
  assert.equal(w.accept(10_000 - REPLAY_WINDOW_COUNTERS), false, "just outside");
  assert.ok(w.accept(9_999));
  assert.equal(w.accept(9_999), false);
});

Deno.test("replay window handles big jumps and the counter limit", () => {
  const w = new ReplayWindow();
  assert.ok(w.accept(3));
  assert.ok(w.accept(1_000_000));
  assert.equal(w.accept(3), false);
  assert.ok(w.accept(999_999));
  assert.equal(w.accept(REJECT_AFTER_MESSAGES), false);
  assert.equal(w.accept(-1), false);
  assert.ok(w.accept(2 ** 40));
  assert.equal(w.mayAccept(2 ** 40), false);
});

Deno.test("replay window agrees with a set-based model on random traffic", () => {
  const seed = Number(Deno.env.get("SEED") ?? 5);
  const rng = new SeededRng(seed);
  const w = new ReplayWindow();
  const seen = new Set<number>();
  let top = -1;
  let next = 0;
  for (let i = 0; i < 50_000; i++) {
    // mostly increasing, with reordering, duplicates and occasional jumps
    const r = rng.uint32() % 100;
    const c = r < 70
      ? next++
      : r < 95
      ? Math.max(0, next - 1 - (rng.uint32() % 2500))
      : (next += rng.uint32() % 5000);
    const modelOk = !seen.has(c) && (c > top || top - c < REPLAY_WINDOW_COUNTERS);
    assert.equal(w.accept(c), modelOk, `seed ${seed} step ${i} counter ${c}`);
    if (modelOk) {
      seen.add(c);
      top = Math.max(top, c);
    }
  }
});
