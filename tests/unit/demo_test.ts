/**
 * `deno task demo`'s front door, without root: `--help`, a bad flag, not root, a missing tool
 * (through the `DemoIo` seam), and once as a real process for `--help` and a bad flag. The tour
 * itself needs root and is run by hand (`deno task demo --seconds 20`).
 */
import assert from "node:assert/strict";
import { type DemoIo, onPath, runDemo } from "../../bench/demo.ts";
import { masqueradeHosts, parseDemoArgs } from "../../bench/_demo_args.ts";
import { DEMO_PORT, demoListenPort } from "../../bench/_demo_net.ts";
import {
  isDirect,
  linkKind,
  parsePingSummary,
  type ShortcutOutcome,
  shortcutVerdict,
  watchLink,
} from "../../bench/_demo_shortcut.ts";
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
  for (const args of [["--bogus"], ["--agents", "9"], ["--agents", "x"], ["--seconds", "0"]]) {
    const { io, err } = fakeIo(0);
    assert.equal(await runDemo(args, io), 2, args.join(" "));
    assert.equal(err.length, 1);
    assert.match(err[0]!, /^demo: .*see: deno task demo --help/);
  }
});

Deno.test("demo flags default to 6 agents for 60 s and split NAT hosts 2 + 1", () => {
  assert.deepEqual(parseDemoArgs([]), {
    kind: "run",
    options: { agents: 6, seconds: 60, keepGoing: false },
  });
  assert.deepEqual(masqueradeHosts(5), [1, 1]);
  assert.deepEqual(masqueradeHosts(6), [2, 1]);
  assert.deepEqual(masqueradeHosts(7), [2, 2]);
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
  };
  const formed = shortcutVerdict(base);
  assert.match(formed, /^shortcut D -> E: FORMED 0\.8 s after the first packet/);
  assert.match(formed, /relay via A -> shortcut/);
  assert.match(formed, /99\/100 answered, 1 lost/);
  const not = shortcutVerdict({
    ...base,
    directAfterMs: undefined,
    directKind: undefined,
    after: "relay via A",
  });
  assert.match(not, /did NOT form in 10\.0 s of traffic \(link relay via A -> relay via A\)/);
  assert.match(shortcutVerdict({ ...base, before: "near" }), /not needed.*\(near\)/);
  assert.match(shortcutVerdict({ ...base, pings: undefined }), /no summary/);
});

Deno.test("watchLink returns the first poll that saw a direct link, with its time", async () => {
  const kinds = ["none", "relay via A", undefined, "shortcut", "near"];
  let t = 0;
  let reads = 0;
  const read = () => {
    reads++;
    t += 100;
    return Promise.resolve(kinds.shift());
  };
  const seen = await watchLink(
    read,
    new Promise((r) => setTimeout(r, 50)),
    () => t,
    1,
  );
  assert.deepEqual(seen, { atMs: 400, kind: "shortcut" });
  assert.equal(reads, 4);
});

Deno.test("watchLink stops when the traffic ends and returns nothing if never direct", async () => {
  let reads = 0;
  let end!: () => void;
  const done = new Promise<void>((r) => end = r);
  const read = () => {
    if (++reads === 3) end();
    return reads === 2 ? Promise.reject(new Error("socket gone")) : Promise.resolve("none");
  };
  assert.equal(await watchLink(read, done, () => 0, 1), undefined);
  assert.equal(reads, 3);
});
