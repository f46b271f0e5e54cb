import assert from "node:assert/strict";
import dgram from "node:dgram";
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
  return await ipopWithEnv({}, ...args);
}

/** Runs ipop with these environment variables added. */
async function ipopWithEnv(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
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
  shortcutsRequested: 0,
  nat: {
    seenAt: ["198.18.9.2:40123", "198.18.9.2:40999"],
    behindNat: true,
    mapsPerDestination: true,
  },
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
  lease: {
    state: "bound",
    network: "ipop",
    subnet: "100.64.0.0/24",
    address: "100.64.0.1/24",
    expiresInMs: 90_000,
    collisions: 0,
  },
  resolver: {
    entries: [{
      ip: "100.64.0.2",
      owner: "89abcdef0123456789abcdef0123456789abcdef",
      kind: "positive",
      expiresInMs: 30_000,
    }],
    hits: 4,
    misses: 1,
    lookups: 1,
  },
  dht: {
    records: 5,
    requests: 2,
    coordinated: 1,
    replicaRequests: 3,
    handoffsReceived: 4,
    dropped: 0,
  },
  router: {
    noRoute: 0,
    unresolved: 0,
    spoofed: 0,
    notForUs: 0,
    malformed: 0,
    direct: 6,
    routed: 0,
  },
};

Deno.test("cli: help prints usage on stdout and exits 0; no command exits 2", async () => {
  for (const word of ["help", "--help"]) {
    const run = await ipop(word);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^ipop: an IP-over-P2P VPN agent\n\nUsage:/);
    assert.match(run.stdout, /Run `ipop COMMAND --help`/);
    assert.equal(run.stderr, "");
  }
  const up = await ipop("up", "--help");
  assert.equal(up.code, 0);
  assert.match(up.stdout, /^ipop up: /);
  assert.match(up.stdout, /--secret-file FILE/);
  assert.equal(up.stderr, "");
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
    /^ipop: Unknown option --bogus for "up"\. Run `ipop up --help`\.$/,
  );
  assertOneLineError(
    await ipop("up", "--state-dir", "/nonexistent", "--address", "100.64.0.0/24"),
    2,
    /^ipop: Bad --address "100.64.0.0\/24": that is the network address/,
  );
  assertOneLineError(
    await ipop("up", "--state-dir", "/nonexistent", "--subnet", "100.64.0.5/16"),
    2,
    /^ipop: Bad --subnet "100.64.0.5\/16": host bits are set; the network is 100.64.0.0\/16$/,
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
      assert.match(
        text.stdout,
        /nat +behind a NAT with a port per destination \(birthday punching\); peers see us at 198\.18\.9\.2:40123, 198\.18\.9\.2:40999\n/,
      );
      assert.match(
        text.stdout,
        /lease +100\.64\.0\.1\/24 bound in network ipop \(100\.64\.0\.0\/24\)/,
      );
      assert.match(text.stdout, /\n100\.64\.0\.2 +89abcdef0123 +in 30\.0s\n/);
    } finally {
      await server.close();
    }
  });
});

const RECORD_VIEW = {
  owner: encodeKey(new Uint8Array(32).fill(0xab)),
  ownerAddress: "89abcdef0123456789abcdef0123456789abcdef",
  value: "hello",
  valueBase64: "aGVsbG8=",
  seq: 1,
  expiresInMs: 65_000,
};

Deno.test("cli: dht get, dht put and resolve ask the agent and print its answer", async () => {
  await withTempDir(async (dir) => {
    const seen: Record<string, unknown>[] = [];
    const answer = (status: string, records: unknown[]) => (r: Record<string, unknown>) => {
      seen.push(r);
      return { status, records };
    };
    const server = await ControlServer.listen(dir, () => SAMPLE_STATUS, {
      commands: {
        "dht-get": answer("ok", [RECORD_VIEW]),
        "dht-put": answer("no quorum (the replicas did not answer)", []),
        resolve: (r) => ({ ip: r.ip, ...answer("ok", [RECORD_VIEW])(r) }),
      },
    });
    try {
      const get = await ipop("dht", "get", "greeting", "--state-dir", dir);
      assert.equal(get.code, 0, get.stderr);
      assert.match(
        get.stdout,
        /^status +ok\nrecord +"hello" by q6ur.* \(node 89abcdef0123\), expires in 1m05s\n$/,
      );
      const put = await ipop(
        "dht",
        "put",
        "greeting",
        "hi there",
        "--ttl",
        "60",
        "--state-dir",
        dir,
      );
      assert.equal(put.code, 1, "a put the replicas did not take fails");
      assert.match(put.stdout, /no quorum/);
      const resolve = await ipop("resolve", "100.64.0.2", "--json", "--state-dir", dir);
      assert.equal(resolve.code, 0, resolve.stderr);
      assert.equal(JSON.parse(resolve.stdout).records[0].ownerAddress, RECORD_VIEW.ownerAddress);
      const text = await ipop("resolve", "--state-dir", dir, "100.64.0.2");
      assert.match(text.stdout, /^100\.64\.0\.2 is leased by node 89abcdef/);
      assert.deepEqual(seen, [
        { cmd: "dht-get", key: "greeting" },
        { cmd: "dht-put", key: "greeting", value: "hi there", ttl: 60 },
        { cmd: "resolve", ip: "100.64.0.2" },
        { cmd: "resolve", ip: "100.64.0.2" },
      ]);
    } finally {
      await server.close();
    }
  });
});

Deno.test("cli: dht and resolve usage mistakes are one line and exit 2", async () => {
  assertOneLineError(await ipop("dht", "--state-dir", "/x"), 2, /^ipop: dht needs "get KEY"/);
  assertOneLineError(
    await ipop("dht", "put", "k", "--state-dir", "/x"),
    2,
    /^ipop: dht put takes 2 arguments, got 1\. Run `ipop dht put --help`\.$/,
  );
  assertOneLineError(
    await ipop("dht", "put", "k", "v", "--ttl", "0", "--state-dir", "/x"),
    2,
    /^ipop: Bad --ttl "0": expected 1 to 86400 seconds$/,
  );
  assertOneLineError(
    await ipop("resolve", "--state-dir", "/x"),
    2,
    /^ipop: resolve takes one argument, got 0/,
  );
  assertOneLineError(await ipop("dht", "get", "k"), 2, /^ipop: dht get needs --state-dir DIR/);
});

Deno.test("cli: config example passes config check, which prints the effective config", async () => {
  await withTempDir(async (dir) => {
    const example = await ipop("config", "example");
    assert.equal(example.code, 0, example.stderr);
    const file = `${dir}/ipop.json`;
    await Deno.writeTextFile(file, example.stdout);
    const check = await ipop("config", "check", file);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stderr, "");
    const [first, ...rest] = check.stdout.split("\n");
    assert.equal(first, `${file}: ok`);
    assert.deepEqual(JSON.parse(rest.join("\n")), JSON.parse(example.stdout));
  });
});

Deno.test("cli: config check prints every error, one line each, and exits 2", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/bad.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ stateDir: "s", mtu: "1400", subnett: "x", secretFile: "." }),
    );
    const run = await ipop("config", "check", file);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.deepEqual(run.stderr.trimEnd().split("\n"), [
      `ipop: Key "mtu" in ${file}: expected a number, got a string`,
      `ipop: Unknown key "subnett" in ${file} (did you mean "subnet"?)`,
      `ipop: "secretFile" in ${file}: Secret file ${dir} is a directory`,
    ]);
    assertOneLineError(
      await ipop("config", "check", `${dir}/none.json`),
      2,
      /^ipop: Config file .*none.json does not exist$/,
    );
  });
});

Deno.test("cli: up with a bad config file or environment is one line, exit 2", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/ipop.json`;
    await Deno.writeTextFile(file, JSON.stringify({ stateDir: "state", address: "100.64.0.0" }));
    assertOneLineError(
      await ipop("up", "--config", file),
      2,
      /^ipop: Bad "address" value "100.64.0.0" in .*: that is the network address of the default "subnet"/,
    );
    await Deno.writeTextFile(file, JSON.stringify({ stateDir: "state", address: "100.64.0.5" }));
    assertOneLineError(
      await ipopWithEnv({ IPOP_CONFIG: file, IPOP_MTUU: "1400" }, "up"),
      2,
      /^ipop: Unknown environment variable IPOP_MTUU \(did you mean IPOP_MTU\?\)$/,
    );
    assertOneLineError(
      await ipopWithEnv({ IPOP_MTU: "70000" }, "up", "--config", file),
      2,
      /^ipop: Bad IPOP_MTU "70000": expected a whole number of bytes 576-9000$/,
    );
    assertOneLineError(
      await ipop("up", "--state-dir", dir, "--secret-file", dir),
      2,
      /^ipop: Secret file .* is a directory$/,
    );
  });
});

Deno.test("cli: up on a UDP port in use is one line, exit 1", async () => {
  await withTempDir(async (dir) => {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    try {
      const port = socket.address().port;
      assertOneLineError(
        await ipop(
          "up",
          "--state-dir",
          dir,
          "--listen",
          `127.0.0.1:${port}`,
          "--address",
          "100.64.0.5/24",
        ),
        1,
        new RegExp(`^ipop: Cannot listen on 127\\.0\\.0\\.1:${port}: Address already in use$`),
      );
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
});
