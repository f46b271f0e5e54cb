/**
 * `ipop ping`, `ipop peers` and `ipop down` against a fake agent: a control server answering
 * those commands the way the agent does, so the CLI's requests, output and exit codes are
 * checked without a network.
 */
import assert from "node:assert/strict";
import { ControlServer } from "../../lib/control/control_server.ts";
import { encodeKey } from "../../lib/identity/key_text.ts";
import { formatPing } from "../../lib/control/peers_text.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const OWNER = "89abcdef0123456789abcdef0123456789abcdef";
const HOP = "0123456789abcdef0123456789abcdef01234567";

async function ipop(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli: ping, peers and down ask the agent and print its answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ipop_cli_" });
  const seen: unknown[] = [];
  const server = await ControlServer.listen(dir, () => ({}), {
    commands: {
      ping: (r) => {
        seen.push(r);
        return r.ip === "100.64.0.9"
          ? { ip: r.ip, owner: OWNER, result: "reply", rttMs: 1.25, route: [HOP, OWNER] }
          : { ip: r.ip, owner: null, result: "unowned", rttMs: null, route: [] };
      },
      peers: (r) => {
        seen.push(r);
        return {
          peers: [{
            publicKey: encodeKey(new Uint8Array(32).fill(0xab)),
            endpoint: "198.18.0.2:5800",
            state: "established",
            lastHandshakeAgoMs: 4_200,
            rxBytes: 1,
            txBytes: 2,
            rxPackets: 1,
            txPackets: 1,
            sessions: 1,
          }],
          connections: [
            {
              kind: "near",
              address: HOP,
              endpoint: "198.18.0.2:5800",
              rtt_ms: 0.5,
              ageMs: 1_000,
              rxBytes: 1,
              txBytes: 2,
            },
            {
              kind: "relay",
              address: OWNER,
              endpoint: null,
              rtt_ms: null,
              ageMs: 2_000,
              rxBytes: 0,
              txBytes: 0,
              via: HOP,
            },
          ],
        };
      },
      down: (r) => {
        seen.push(r);
        return { stopping: true };
      },
    },
  });
  try {
    const ping = await ipop("ping", "100.64.0.9", "--state-dir", dir);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal(
      ping.stdout,
      "100.64.0.9 (node 89abcdef0123): reply in 1.25 ms over 2 hops: 0123456789ab -> 89abcdef0123\n",
    );
    const unowned = await ipop("ping", "100.64.0.10", "--state-dir", dir);
    assert.equal(unowned.code, 1, "nobody to answer: exit 1");
    assert.match(unowned.stdout, /100\.64\.0\.10 is not leased by anybody/);
    const peers = await ipop("peers", "--state-dir", dir);
    assert.equal(peers.code, 0, peers.stderr);
    assert.match(peers.stdout, /^near +0123456789ab +198\.18\.0\.2:5800 +0\.50ms/m);
    assert.match(peers.stdout, /^relay +89abcdef0123 +via 0123456789ab +- /m);
    assert.match(peers.stdout, /^q6urq6ur +198\.18\.0\.2:5800 +established +4\.2s ago$/m);
    const down = await ipop("down", "--state-dir", dir);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, "ipop is stopping\n");
    assert.deepEqual(seen, [
      { cmd: "ping", ip: "100.64.0.9" },
      { cmd: "ping", ip: "100.64.0.10" },
      { cmd: "peers" },
      { cmd: "down" },
    ]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: ping without an address, and down without an agent, are one line", async () => {
  const noIp = await ipop("ping", "--state-dir", "/nonexistent");
  assert.equal(noIp.code, 2);
  assert.match(noIp.stderr, /^ipop: ping takes one argument, got 0/);
  const dir = await Deno.makeTempDir({ prefix: "ipop_cli_" });
  try {
    const down = await ipop("down", "--state-dir", dir);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^ipop is not running \(no control socket in /);
    assert.equal(down.stderr.trimEnd().split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatPing: an unanswered ping names the owner", () => {
  assert.equal(
    formatPing({ ip: "100.64.0.9", owner: OWNER, result: "timeout", rttMs: null, route: [] }),
    "100.64.0.9 (node 89abcdef0123): no answer",
  );
});

Deno.test("cli: config check names bad metrics and logFormat keys, one line each", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ipop_cli_" });
  try {
    const file = `${dir}/ipop.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ stateDir: "state", metrics: "127.0.0.1:0", logFormat: "xml" }),
    );
    const bad = await ipop("config", "check", file);
    assert.equal(bad.code, 2, bad.stdout);
    const lines = bad.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, bad.stderr);
    assert.ok(lines.some((l) => /"metrics".*the port must be 1-65535/.test(l)), bad.stderr);
    assert.ok(lines.some((l) => /"logFormat".*expected text or json/.test(l)), bad.stderr);
    await Deno.writeTextFile(
      file,
      JSON.stringify({ stateDir: "state", metrics: "9100", logFormat: "json" }),
    );
    const good = await ipop("config", "check", file);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /"metrics": "127\.0\.0\.1:9100"/);
    assert.match(good.stdout, /"logFormat": "json"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
