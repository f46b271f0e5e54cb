/**
 * `deno task demo`'s front door, without root: `--help`, a bad flag, not root, a missing tool
 * (through the `DemoIo` seam), and once as a real process for `--help` and a bad flag; and the
 * tour's pure parts: the layout, the ping matrix's retries (through its seam), the choice of the
 * pair for the shortcut, ping output and the verdict. The tour itself needs root and is run by
 * hand (`deno task demo --seconds 30`).
 */
import assert from "node:assert/strict";
import { type DemoIo, onPath, runDemo } from "../../bench/demo.ts";
import {
  DEMO_MAX_AGENTS,
  DEMO_MIN_AGENTS,
  demoLayout,
  parseDemoArgs,
} from "../../bench/_demo_args.ts";
import { MATRIX_RETRY_ROUNDS, pingMatrix } from "../../bench/_demo_matrix.ts";
import { DEMO_PORT, demoListenPort } from "../../bench/_demo_net.ts";
import { chooseShortcutPair, linkedDirectly, pairRank } from "../../bench/_demo_pair.ts";
import {
  isDirect,
  linkKind,
  median,
  parsePingReplies,
  parsePingSummary,
  readLink,
  type ShortcutOutcome,
  shortcutVerdict,
  splitRtts,
  watchLink,
} from "../../bench/_demo_shortcut.ts";
import {
  type DemoAgent,
  type DemoPlace,
  EventTracker,
  renderMatrix,
} from "../../bench/_demo_view.ts";
import type { AgentStatus } from "../../lib/agent/agent_status.ts";

const DEMO_TS = new URL("../../bench/demo.ts", import.meta.url).pathname;

function fakeIo(uid: number, tools: string[] = ["ip", "iptables", "ping"]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: DemoIo = {
    uid: () => uid,
    hasTool: (t) => tools.includes(t),
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    raw: (t) => out.push(t),
    isTty: false,
  };
  return { io, out, err };
}

async function runProcess(args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DEMO_TS, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

Deno.test("demo --help prints the usage and exits 0", async () => {
  const { io, out, err } = fakeIo(1000);
  assert.equal(await runDemo(["--help"], io), 0);
  assert.match(out.join("\n"), /^Usage: deno task demo/);
  assert.match(out.join("\n"), /--agents N/);
  assert.deepEqual(err, []);
});

Deno.test("demo as a non-root user prints one clear line and exits 1", async () => {
  const { io, out, err } = fakeIo(1000);
  assert.equal(await runDemo([], io), 1);
  assert.equal(err.length, 1);
  assert.match(err[0]!, /needs root/);
  assert.deepEqual(out, []);
});

Deno.test("demo names each missing tool on its own line and exits 1", async () => {
  const { io, err } = fakeIo(0, ["ip"]);
  assert.equal(await runDemo([], io), 1);
  assert.deepEqual(err.map((l) => /"(\w+)"/.exec(l)?.[1]), ["iptables", "ping"]);
});

Deno.test("demo rejects an unknown flag or an agent count out of range with exit 2", async () => {
  for (
    const args of [["--bogus"], ["--agents", "17"], ["--agents", "4"], ["--agents", "x"], [
      "--seconds",
      "0",
    ]]
  ) {
    const { io, err } = fakeIo(0);
    assert.equal(await runDemo(args, io), 2, args.join(" "));
    assert.equal(err.length, 1);
    assert.match(err[0]!, /^demo: .*see: deno task demo --help/);
  }
});

Deno.test("demo flags default to 12 agents for 60 s", () => {
  assert.deepEqual(parseDemoArgs([]), {
    kind: "run",
    options: { agents: 12, seconds: 60, keepGoing: false },
  });
});

Deno.test("demoLayout keeps the small layouts and spreads extra agents over core and NATs", () => {
  const short = (n: number) => {
    const l = demoLayout(n);
    return [l.publicHosts, ...l.masquerade, l.symmetric];
  };
  assert.deepEqual(short(5), [2, 1, 1, 1]);
  assert.deepEqual(short(6), [2, 2, 1, 1]);
  assert.deepEqual(short(7), [2, 2, 2, 1]);
  assert.deepEqual(short(12), [4, 4, 3, 1]);
  assert.deepEqual(short(16), [5, 5, 5, 1]);
  for (let n = DEMO_MIN_AGENTS; n <= DEMO_MAX_AGENTS; n++) {
    const [pub, m1, m2, sym] = short(n) as [number, number, number, number];
    assert.equal(pub + m1 + m2 + sym, n, `agents ${n}`);
    assert.ok(pub >= 2 && m1 >= 1 && m2 >= 1 && m1 - m2 <= 1 && pub >= m1, `agents ${n}`);
  }
});

Deno.test("onPath finds an executable in PATH and not a missing one", () => {
  assert.equal(onPath("sh", "/nonexistent:/bin:/usr/bin"), true);
  assert.equal(onPath("no-such-tool-ipop", "/bin:/usr/bin"), false);
});

Deno.test("demo as a process: --help exits 0, a bad flag exits 2", async () => {
  const help = await runProcess(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task demo/);
  const bad = await runProcess(["--nope"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});

Deno.test("hosts behind one NAT get distinct listen ports, the first on DEMO_PORT", () => {
  assert.equal(demoListenPort(0), DEMO_PORT);
  const ports = [0, 1, 2].map(demoListenPort);
  assert.equal(new Set(ports).size, 3);
  assert.deepEqual(ports, [5800, 5801, 5802]);
});

/** A status with just the connections (the rest is never read by `linkKind`). */
function withConns(conns: { address: string; kind: string; via?: string }[]): AgentStatus {
  return { connections: conns } as unknown as AgentStatus;
}

Deno.test("linkKind names a relay by its relay, a direct link by its kind, else none", () => {
  const names: Record<string, string> = { aa01: "A", ee05: "E" };
  const nameOf = (h: string) => names[h] ?? "?";
  const s = withConns([
    { address: "EE05", kind: "relay", via: "aa01" },
    { address: "aa01", kind: "near" },
  ]);
  assert.equal(linkKind(s, "ee05", nameOf), "relay via A");
  assert.equal(linkKind(s, "AA01", nameOf), "near");
  assert.equal(linkKind(s, "ff06", nameOf), "none");
  assert.equal(linkKind(undefined, "aa01", nameOf), "none");
  assert.equal(linkKind(s, undefined, nameOf), "none");
  assert.deepEqual(["near", "shortcut", "relay via A", "none"].map(isDirect), [
    true,
    true,
    false,
    false,
  ]);
});

Deno.test("parsePingSummary reads sent and received, or nothing without a summary", () => {
  const out = "--- 100.64.0.7 ping statistics ---\n" +
    "100 packets transmitted, 97 received, 3% packet loss, time 9904ms\n";
  assert.deepEqual(parsePingSummary(out), { sent: 100, received: 97 });
  assert.equal(parsePingSummary("ping: connect: Network is unreachable\n"), undefined);
});

Deno.test("shortcutVerdict says formed with the time, not formed, or not needed", () => {
  const base: ShortcutOutcome = {
    from: "D",
    to: "E",
    before: "relay via A",
    directAfterMs: 820,
    directKind: "shortcut",
    after: "shortcut",
    trafficMs: 10_000,
    pings: { sent: 100, received: 99 },
    rtts: { before: [2, 1.5, 1.8], after: [0.6, 0.8] },
  };
  const formed = shortcutVerdict(base);
  assert.match(formed, /^shortcut D -> E: formed 820 ms after the first packet/);
  assert.match(formed, /relay via A -> shortcut/);
  assert.match(formed, /RTT before 1\.80 ms \(median of 3\), after 0\.70 ms \(median of 2\)/);
  assert.match(formed, /99\/100 answered, 1 lost/);
  assert.match(
    shortcutVerdict({ ...base, rtts: { before: [1], after: [] } }),
    /after no reply/,
  );
  const not = shortcutVerdict({
    ...base,
    directAfterMs: undefined,
    directKind: undefined,
    after: "relay via A",
  });
  assert.match(not, /did NOT form in 10\.0 s of traffic \(link relay via A -> relay via A\)/);
  assert.match(not, /RTT 1\.50 ms \(median of 5\)/);
  assert.match(shortcutVerdict({ ...base, before: "near" }), /not needed.*\(near\)/);
  assert.match(shortcutVerdict({ ...base, pings: undefined }), /no summary/);
});

Deno.test("watchLink returns when the first link seen direct came up, by its age", async () => {
  const kinds = ["none", "relay via A", undefined, "shortcut", "near"];
  let t = 0;
  let reads = 0;
  const read = () => {
    reads++;
    t += 100;
    const kind = kinds.shift();
    return Promise.resolve(
      kind === undefined ? undefined : { kind, ageMs: isDirect(kind) ? 30 : 0 },
    );
  };
  const seen = await watchLink(
    read,
    new Promise((r) => setTimeout(r, 50)),
    () => t,
    1,
  );
  assert.deepEqual(seen, { atMs: 370, kind: "shortcut" });
  assert.equal(reads, 4);
});

Deno.test("watchLink stops when the traffic ends and returns nothing if never direct", async () => {
  let reads = 0;
  let end!: () => void;
  const done = new Promise<void>((r) => end = r);
  const read = () => {
    if (++reads === 3) end();
    return reads === 2
      ? Promise.reject(new Error("socket gone"))
      : Promise.resolve({ kind: "none", ageMs: 0 });
  };
  assert.equal(await watchLink(read, done, () => 0, 1), undefined);
  assert.equal(reads, 3);
});

function agent(name: string, place: DemoPlace, site: string): DemoAgent {
  return { name, place, site, underlay: "198.18.0.10:5800", startedAtMs: 0 };
}

/** A status with an address and connections (`kind:peer`, relays as `relay:peer`). */
function node(address: string, ...links: string[]): AgentStatus {
  return {
    address,
    lease: { state: "waiting", address: null },
    connections: links.map((l) => {
      const [kind, peer] = l.split(":") as [string, string];
      return { address: peer, kind, via: "aa", ageMs: 0 };
    }),
  } as unknown as AgentStatus;
}

Deno.test("pairRank prefers two NATs, then NAT and public, the symmetric host last", () => {
  const pub = agent("A", "public", "core");
  const pub2 = agent("B", "public", "core");
  const n1 = agent("C", "masquerade", "nat1");
  const n1b = agent("D", "masquerade", "nat1");
  const n2 = agent("E", "masquerade", "nat2");
  const sym = agent("F", "symmetric", "nat3");
  const sym2 = agent("G", "symmetric", "nat4");
  assert.deepEqual(
    [[n1, n2], [pub, n2], [n2, pub], [pub, pub2], [n1, n1b], [sym, pub], [n1, sym], [sym, sym2]]
      .map(([a, b]) => pairRank(a!, b!)),
    [3, 2, 2, 1, 0, 0, 0, -1],
  );
});

Deno.test("linkedDirectly counts a link either way, not a relay, and unknown as linked", () => {
  const a = node("AA", "near:bb", "relay:cc");
  const b = node("bb");
  const c = node("cc", "relay:aa");
  const d = node("dd", "shortcut:AA");
  assert.equal(linkedDirectly(a, b), true);
  assert.equal(linkedDirectly(b, a), true);
  assert.equal(linkedDirectly(a, c), false);
  assert.equal(linkedDirectly(a, d), true);
  assert.equal(linkedDirectly(b, c), false);
  assert.equal(linkedDirectly(undefined, c), true);
});

Deno.test("chooseShortcutPair picks the best unlinked pair, the symmetric host's last", () => {
  const agents = [
    agent("A", "public", "core"),
    agent("B", "masquerade", "nat1"),
    agent("C", "masquerade", "nat2"),
    agent("D", "symmetric", "nat3"),
    agent("E", "masquerade", "nat2"),
  ];
  const addr = ["a0", "b1", "c2", "d3", "e4"];
  // D (symmetric) is relayed to all; every other pair is near except those in `missing` ("02").
  const statuses = (missing: string[]) =>
    addr.map((me, i) => {
      const links: string[] = [];
      addr.forEach((peer, j) => {
        if (j === i || missing.includes(`${i}${j}`) || missing.includes(`${j}${i}`)) return;
        links.push(`${i === 3 || j === 3 ? "relay" : "near"}:${peer}`);
      });
      return node(me, ...links);
    });
  // Only pairs with D are unlinked: the first of them (a link to D takes birthday punching).
  assert.deepEqual(chooseShortcutPair(agents, statuses([])), {
    from: 0,
    to: 3,
    unlinked: true,
  });
  // A-C (public and NAT) and B-E (two NATs) are unlinked: B-E wins.
  assert.deepEqual(chooseShortcutPair(agents, statuses(["02", "14"])), {
    from: 1,
    to: 4,
    unlinked: true,
  });
  assert.deepEqual(chooseShortcutPair(agents, statuses(["02"])), {
    from: 0,
    to: 2,
    unlinked: true,
  });
  // Before any status was read nothing counts as unlinked.
  assert.deepEqual(chooseShortcutPair(agents, agents.map(() => undefined)), {
    from: 1,
    to: 2,
    unlinked: false,
  });
  assert.equal(chooseShortcutPair(agents.slice(0, 2), statuses([])), undefined);
});

Deno.test("parsePingReplies reads each reply's sequence number and RTT", () => {
  const out = "PING 100.64.0.7 (100.64.0.7) 56(84) bytes of data.\n" +
    "64 bytes from 100.64.0.7: icmp_seq=1 ttl=64 time=1.75 ms\n" +
    "64 bytes from 100.64.0.7: icmp_seq=3 ttl=64 time=0.812 ms\n" +
    "\n--- 100.64.0.7 ping statistics ---\n3 packets transmitted, 2 received\n";
  assert.deepEqual(parsePingReplies(out), [{ seq: 1, rttMs: 1.75 }, { seq: 3, rttMs: 0.812 }]);
  assert.deepEqual(parsePingReplies("ping: connect: Network is unreachable\n"), []);
});

Deno.test("splitRtts puts requests sent before the switch before it, the rest after", () => {
  const replies = [1, 2, 3, 4, 5].map((seq) => ({ seq, rttMs: seq * 10 }));
  // Request N is sent at (N - 1) * 100 ms: 0, 100, 200 | 300, 400.
  assert.deepEqual(splitRtts(replies, 250, 100), { before: [10, 20, 30], after: [40, 50] });
  assert.deepEqual(splitRtts(replies, 300, 100), { before: [10, 20, 30], after: [40, 50] });
  assert.deepEqual(splitRtts(replies, undefined, 100), {
    before: [10, 20, 30, 40, 50],
    after: [],
  });
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), undefined);
});

Deno.test("readLink gives the link's kind and age, or none and 0", () => {
  const s = node("aa", "shortcut:ee05");
  s.connections[0]!.ageMs = 420;
  assert.deepEqual(readLink(s, "EE05", () => "?"), { kind: "shortcut", ageMs: 420 });
  assert.deepEqual(readLink(s, "ff", () => "?"), { kind: "none", ageMs: 0 });
  assert.deepEqual(readLink(undefined, "ee05", () => "?"), { kind: "none", ageMs: 0 });
});

Deno.test("pingMatrix retries unanswered pings, marks late answers and keeps lasting failures", async () => {
  const tries = new Map<string, number>();
  const waits: number[] = [];
  const m = await pingMatrix(3, {
    // 0 -> 2 answers on its second try, 1 -> 2 never, everything else at once.
    ping: (i, j) => {
      const k = `${i}${j}`;
      tries.set(k, (tries.get(k) ?? 0) + 1);
      return Promise.resolve(k === "02" ? tries.get(k)! >= 2 : k !== "12");
    },
    wait: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    stopped: () => false,
  });
  assert.deepEqual(m.cells, [["ok", "ok", "late"], ["ok", "ok", "fail"], ["ok", "ok", "ok"]]);
  assert.deepEqual([m.answered, m.late, m.total], [5, 1, 6]);
  assert.equal(tries.get("02"), 2);
  assert.equal(tries.get("12"), 1 + MATRIX_RETRY_ROUNDS);
  assert.equal(tries.get("01"), 1);
  assert.equal(tries.has("00"), false);
  assert.equal(waits.length, MATRIX_RETRY_ROUNDS);
  assert.deepEqual(renderMatrix(["A", "B", "C"], m.cells), [
    "from\\to  A   B   C",
    "A        -   ok  ok*",
    "B        ok  -   FAIL",
    "C        ok  ok  -",
  ]);
});

Deno.test("pingMatrix does not wait when every ping was answered or the demo is stopping", async () => {
  let waits = 0;
  const io = (answer: boolean, stopping: boolean) => ({
    ping: () => Promise.resolve(answer),
    wait: () => {
      waits++;
      return Promise.resolve();
    },
    stopped: () => stopping,
  });
  assert.equal((await pingMatrix(4, io(true, false))).answered, 12);
  const stopped = await pingMatrix(2, io(false, true));
  assert.deepEqual([stopped.answered, stopped.total], [0, 2]);
  assert.equal(waits, 0);
});

Deno.test("EventTracker times a new shortcut from when it came up, not from the poll", () => {
  const agents = [agent("A", "public", "core"), agent("B", "masquerade", "nat1")];
  const t = new EventTracker(agents);
  t.update(0, [node("aa"), node("bb")]);
  t.trafficStartMs = 1_000;
  const a = node("aa", "shortcut:bb");
  a.connections[0]!.ageMs = 1_500;
  const events = t.update(2_800, [a, node("bb")]);
  assert.deepEqual(events, ["A -> B direct link (shortcut) 0.3 s after first packet"]);
  // Read at 2.0 s (the poll ended later): up at 2.0 - 0.9 = 1.1 s, 0.1 s after the first packet.
  const b = node("bb", "shortcut:aa");
  b.connections[0]!.ageMs = 900;
  assert.deepEqual(t.update(2_900, [a, b], [2_850, 2_000]), [
    "B -> A direct link (shortcut) 0.1 s after first packet",
  ]);
});
