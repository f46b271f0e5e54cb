/**
 * `deno task demo`'s front door, without root: `--help`, a bad flag, not root, a missing tool
 * (through the `DemoIo` seam), and once as a real process for `--help` and a bad flag. The tour
 * itself needs root and is run by hand (`deno task demo --seconds 20`).
 */
import assert from "node:assert/strict";
import { type DemoIo, onPath, runDemo } from "../../bench/demo.ts";
import { masqueradeHosts, parseDemoArgs } from "../../bench/_demo_args.ts";

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
