/**
 * Checks the namespace rig itself over raw veth (no ipop): hosts reach each other, and every
 * namespace is gone after `close()`, including leftovers of a crashed run.
 */
import assert from "node:assert/strict";
import {
  canUseNetns,
  createBridgedHosts,
  createTwoHosts,
  NEEDS_ROOT_SUFFIX,
  pingUntilReply,
  removeStaleNamespaces,
  run,
  runOk,
  startCapture,
} from "../helpers/netns.ts";
import { parsePcapUdp } from "../helpers/pcap.ts";
import { UDP_FLOOD_TS } from "../helpers/udp_flood.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";

async function namespaces(): Promise<string[]> {
  const out = await runOk(["ip", "netns", "list"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((n) => n !== "");
}

Deno.test({
  name: `rig: two namespaces on a veth pair ping each other and are deleted on close${suffix}`,
  ignore,
  async fn() {
    const h = await createTwoHosts();
    const made = [h.a, h.b];
    try {
      assert.ok(await pingUntilReply(h.rig, h.a, h.ipB, 5_000), "A cannot ping B over veth");
      assert.ok(await pingUntilReply(h.rig, h.b, h.ipA, 5_000), "B cannot ping A over veth");
      const r = await h.rig.exec(h.a, ["ping", "-n", "-c", "1", "-W", "1", "198.18.1.99"]);
      assert.notEqual(r.code, 0, "an address nobody holds answered");
    } finally {
      await h.rig.close();
    }
    const left = await namespaces();
    for (const ns of made) assert.ok(!left.includes(ns), `namespace ${ns} left behind`);
  },
});

Deno.test({
  name: `rig: three namespaces on a bridge reach each other pairwise${suffix}`,
  ignore,
  async fn() {
    const h = await createBridgedHosts(3);
    try {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          if (i === j) continue;
          const ok = await pingUntilReply(h.rig, h.hosts[i]!, h.ips[j]!, 5_000);
          assert.ok(ok, `host ${i} cannot ping host ${j}`);
        }
      }
    } finally {
      await h.rig.close();
    }
  },
});

Deno.test({
  name: `rig: namespaces of a dead run are removed, live ones are kept${suffix}`,
  ignore,
  async fn() {
    // Find a pid that is not alive to stand for a crashed run.
    let dead = 4_000_000;
    while (await Deno.stat(`/proc/${dead}`).then(() => true, () => false)) dead++;
    const stale = `ipopt-${dead}-stale`;
    const live = `ipopt-${Deno.pid}-live`;
    try {
      await runOk(["ip", "netns", "add", stale]);
      await runOk(["ip", "netns", "add", live]);
      const removed = await removeStaleNamespaces();
      assert.ok(removed.includes(stale), "stale namespace not removed");
      const left = await namespaces();
      assert.ok(!left.includes(stale));
      assert.ok(left.includes(live), "a live run's namespace was removed");
    } finally {
      await run(["ip", "netns", "del", stale]);
      await run(["ip", "netns", "del", live]);
    }
  },
});

Deno.test({
  name:
    `rig: UDP datagrams captured with tcpdump are parsed back and replayed byte for byte${suffix}`,
  ignore,
  async fn() {
    const h = await createTwoHosts();
    try {
      const sent = 300;
      const flood = (extra: string[]) =>
        h.rig.execOk(h.a, [
          Deno.execPath(),
          "run",
          "-A",
          UDP_FLOOD_TS,
          "--target",
          `${h.ipB}:9999`,
          "--duration-ms",
          "300",
          ...extra,
        ], { timeoutMs: 30_000 });
      const filter = `udp and dst port 9999`;
      const cap1 = await startCapture(h.rig, h.b, "veth0", filter, sent);
      const r1 = JSON.parse(await flood(["--random", String(sent), "--max-size", "1200"]));
      assert.equal(r1.randomSent, sent);
      const first = parsePcapUdp(await cap1.stop());
      assert.equal(first.length, sent, "capture lost datagrams");
      for (const d of first) {
        assert.equal(d.dst, h.ipB);
        assert.equal(d.src, h.ipA);
        assert.ok(d.payload.length >= 1 && d.payload.length <= 1200);
      }
      const cap2 = await startCapture(h.rig, h.b, "veth0", filter, sent);
      const r2 = JSON.parse(await flood(["--replay", cap1.path, "--replay-port", "9999"]));
      assert.equal(r2.replaySent, sent);
      const second = parsePcapUdp(await cap2.stop());
      const key = (ds: typeof first) => ds.map((d) => d.payload.toHex()).sort();
      assert.deepEqual(key(second), key(first), "replayed payloads differ from the captured ones");
    } finally {
      await h.rig.close();
    }
  },
});
