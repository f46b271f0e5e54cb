import assert from "node:assert/strict";
import type { AgentStatus } from "../../lib/agent/agent_status.ts";
import { ControlServer } from "../../lib/control/control_server.ts";
import { encodeKey } from "../../lib/identity/key_text.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function ipop(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts a usage or runtime failure: exactly one stderr line, no stack, nothing on stdout. */
function assertOneLineError(run: Run, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit status; stderr: ${run.stderr}`);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one stderr line, got: ${run.stderr}`);
  assert.match(lines[0]!, pattern);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ipop_cli_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const SAMPLE_STATUS: AgentStatus = {
  version: "0.1.0",
  publicKey: encodeKey(new Uint8Array(32).fill(9)),
  listen: "198.18.0.1:5800",
  uptimeMs: 83_000,
  tun: {
    name: "ipop0",
    mtu: 1420,
    address: "100.64.0.1/24",
    packetsRead: 5,
    packetsWritten: 6,
    writeDrops: 0,
  },
  transport: {
    datagramsSent: 10,
    datagramsReceived: 11,
    bytesSent: 2048,
    bytesReceived: 100,
    sendDrops: 0,
  },
  address: "0123456789abcdef0123456789abcdef01234567",
  estimatedSize: 12,
  connections: [{
    kind: "near",
    address: "89abcdef0123456789abcdef0123456789abcdef",
    endpoint: "198.18.0.2:5800",
    rtt_ms: 0.25,
    ageMs: 61_000,
    rxBytes: 1536,
    txBytes: 12,
  }],
  peers: [{
    publicKey: encodeKey(new Uint8Array(32).fill(0xab)),
    endpoint: "198.18.0.2:5800",
    state: "established",
    lastHandshakeAgoMs: 4_200,
    rxBytes: 1536,
    txBytes: 12,
    rxPackets: 3,
    txPackets: 1,
    sessions: 1,
  }],
  drops: {
    malformed: 0,
    unauthenticated: 2,
    replayed: 0,
    unknownSession: 0,
    rateLimited: 0,
    notAllowed: 1,
    total: 3,
  },
  aead: "chacha20-poly1305",
};

Deno.test("cli: help prints usage on stdout and exits 0; no command exits 2", async () => {
  for (const word of ["help", "--help"]) {
    const run = await ipop(word);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^ipop: an IP-over-P2P VPN agent\n\nUsage:/);
    assert.match(run.stdout, /--secret-file FILE/);
    assert.equal(run.stderr, "");
  }
  const bare = await ipop();
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, "");
  assert.match(bare.stderr, /Usage:/);
});

Deno.test("cli: --version prints the version", async () => {
  const run = await ipop("--version");
  assert.equal(run.code, 0);
  assert.match(run.stdout, /^ipop \d+\.\d+\.\d+\n$/);
});

Deno.test("cli: usage mistakes are one stderr line and exit status 2", async () => {
  assertOneLineError(await ipop("frobnicate"), 2, /^ipop: Unknown command "frobnicate"/);
  assertOneLineError(await ipop("id"), 2, /^ipop: id needs --state-dir DIR/);
  assertOneLineError(
    await ipop("up", "--state-dir", "/nonexistent", "--bogus"),
    2,
    /^ipop: Unknown option --bogus for "up" \(see: ipop help\)$/,
  );
  assertOneLineError(
    await ipop("up", "--state-dir", "/nonexistent", "--address", "100.64.0.0/24"),
    2,
    /^ipop: Bad --address "100.64.0.0\/24": that is the network address/,
  );
  assertOneLineError(
    await ipop("up", "--state-dir", "/nonexistent"),
    2,
    /^ipop: up needs --address/,
  );
});

Deno.test("cli: id creates the key once and prints the public key", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/state`;
    const first = await ipop("id", "--state-dir", dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^[A-Za-z0-9+/]{43}=\n$/);
    const second = await ipop("id", "--state-dir", dir);
    assert.equal(second.stdout, first.stdout);
    assert.equal(await Deno.readTextFile(`${dir}/public.key`), first.stdout);
    await Deno.chmod(`${dir}/private.key`, 0o644);
    assertOneLineError(await ipop("id", "--state-dir", dir), 1, /^ipop: Key file .* chmod 600/);
  });
});

Deno.test("cli: up refuses a peer with the node's own key before starting", async () => {
  await withTempDir(async (dir) => {
    const self = (await ipop("id", "--state-dir", dir)).stdout.trim();
    assertOneLineError(
      await ipop(
        "up",
        "--state-dir",
        dir,
        "--address",
        "100.64.0.1/24",
        "--peer",
        `${self}@198.18.0.2:5800`,
      ),
      2,
      /^ipop: --peer .* is this node's own key$/,
    );
  });
});

Deno.test("cli: up refuses to start a second agent on the same state dir", async () => {
  await withTempDir(async (dir) => {
    const server = await ControlServer.listen(dir, () => SAMPLE_STATUS);
    try {
      assertOneLineError(
        await ipop("up", "--state-dir", dir, "--address", "100.64.0.1/24"),
        1,
        /^ipop: Another ipop is already running with state dir /,
      );
    } finally {
      await server.close();
    }
  });
});

Deno.test("cli: status without an agent says so and exits 1", async () => {
  await withTempDir(async (dir) => {
    assertOneLineError(
      await ipop("status", "--state-dir", dir),
      1,
      new RegExp(`^ipop is not running \\(no control socket in ${dir}\\)$`),
    );
  });
});

Deno.test("cli: status prints the agent's JSON or a short table", async () => {
  await withTempDir(async (dir) => {
    const server = await ControlServer.listen(dir, () => SAMPLE_STATUS);
    try {
      const json = await ipop("status", "--json", "--state-dir", dir);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), SAMPLE_STATUS);
      const text = await ipop("status", "--state-dir", dir);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        new RegExp(`key +${SAMPLE_STATUS.publicKey.replace(/\+/g, "\\+")}`),
      );
      assert.match(text.stdout, /tun +ipop0 100\.64\.0\.1\/24 mtu 1420/);
      assert.match(
        text.stdout,
        /\n(q6urq6ur) +198\.18\.0\.2:5800 +established +1\.5 KiB +12 B +4\.2s ago\n/,
      );
      assert.match(text.stdout, /drops +3 \(unauthenticated 2, notAllowed 1\)/);
    } finally {
      await server.close();
    }
  });
});
