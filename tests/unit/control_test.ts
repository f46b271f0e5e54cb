import assert from "node:assert/strict";
import {
  AgentNotRunningError,
  ControlRequestError,
  requestControl,
  requestStatus,
} from "../../lib/control/control_client.ts";
import {
  ControlServer,
  ControlSetupError,
  controlSocketPath,
  MAX_CONTROL_REQUEST_BYTES,
} from "../../lib/control/control_server.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ipop_ctl_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends raw bytes on a fresh connection and returns everything the server sends back. */
async function rawExchange(path: string, bytes: Uint8Array): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(bytes).catch(() => 0);
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    conn.close();
  }
}

/** Leaves a socket file nobody listens on, as a crashed agent does (Deno unlinks on close). */
async function makeStaleSocket(path: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} });` +
      `console.log("ready"); setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // "ready"
  child.kill("SIGKILL");
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
  assert.ok((await Deno.lstat(path)).isSocket);
}

async function rejectsWith(
  p: Promise<unknown>,
  cls: new (...args: never[]) => Error,
  pattern: RegExp,
) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

Deno.test("control: status requests get getStatus() as JSON, freshly each time", async () => {
  await withTempDir(async (dir) => {
    let calls = 0;
    const server = await ControlServer.listen(dir, () => ({ calls: ++calls, peers: [] }));
    try {
      assert.equal((await Deno.lstat(controlSocketPath(dir))).mode! & 0o777, 0o600);
      assert.deepEqual(await requestStatus(dir), { calls: 1, peers: [] });
      assert.deepEqual(await requestStatus(dir), { calls: 2, peers: [] });
    } finally {
      await server.close();
    }
    assert.equal(calls, 2);
  });
});

Deno.test("control: bad requests are answered with one-line errors", async () => {
  await withTempDir(async (dir) => {
    const server = await ControlServer.listen(dir, () => {
      throw new Error("ipop is still starting");
    });
    const path = controlSocketPath(dir);
    const enc = (s: string) => new TextEncoder().encode(s);
    try {
      await rejectsWith(requestStatus(dir), ControlRequestError, /ipop answered: ipop is still/);
      await rejectsWith(
        requestControl(dir, { cmd: "reboot" }),
        ControlRequestError,
        /Unknown command "reboot"/,
      );
      assert.deepEqual(JSON.parse(await rawExchange(path, enc("{nope\n"))), {
        error: "Request is not JSON",
      });
      assert.deepEqual(JSON.parse(await rawExchange(path, enc("[1]\n"))), {
        error: 'Expected a JSON object like {"cmd":"status"}',
      });
      const huge = enc(`{"cmd":"status","pad":"${"x".repeat(MAX_CONTROL_REQUEST_BYTES)}"}\n`);
      assert.deepEqual(JSON.parse(await rawExchange(path, huge)), {
        error: `Line longer than ${MAX_CONTROL_REQUEST_BYTES} bytes`,
      });
    } finally {
      await server.close();
    }
  });
});

Deno.test("control: a silent client is cut off at the deadline", async () => {
  await withTempDir(async (dir) => {
    const server = await ControlServer.listen(dir, () => ({}), { timeoutMs: 50 });
    try {
      const started = performance.now();
      const reply = await rawExchange(controlSocketPath(dir), new Uint8Array(0));
      const tookMs = performance.now() - started;
      assert.equal(reply, "");
      assert.ok(tookMs >= 40 && tookMs < 1500, `took ${tookMs} ms`);
    } finally {
      await server.close();
    }
  });
});

Deno.test("control: close() ends open exchanges and removes the socket file", async () => {
  await withTempDir(async (dir) => {
    const server = await ControlServer.listen(dir, () => ({}));
    const conn = await Deno.connect({ transport: "unix", path: controlSocketPath(dir) });
    try {
      await new Promise((r) => setTimeout(r, 20)); // let the server accept it
      await server.close();
      assert.equal(await conn.read(new Uint8Array(16)).catch(() => null), null);
    } finally {
      conn.close();
    }
    await assert.rejects(Deno.lstat(controlSocketPath(dir)), Deno.errors.NotFound);
    await server.close(); // idempotent
  });
});

Deno.test("control: requestStatus without an agent says ipop is not running", async () => {
  await withTempDir(async (dir) => {
    await rejectsWith(
      requestStatus(dir),
      AgentNotRunningError,
      new RegExp(`^ipop is not running \\(no control socket in ${dir}\\)$`),
    );
    // A socket file nobody listens on any more:
    await makeStaleSocket(controlSocketPath(dir));
    await rejectsWith(requestStatus(dir), AgentNotRunningError, /stale control socket/);
  });
});

Deno.test("control: a stale socket file is replaced, a live one refuses a second agent", async () => {
  await withTempDir(async (dir) => {
    await makeStaleSocket(controlSocketPath(dir));
    const server = await ControlServer.listen(dir, () => ({ first: true }));
    try {
      await rejectsWith(
        ControlServer.listen(dir, () => ({ first: false })),
        ControlSetupError,
        new RegExp(`^Another ipop is already running with state dir ${dir}$`),
      );
      assert.deepEqual(await requestStatus(dir), { first: true });
    } finally {
      await server.close();
    }
  });
});

Deno.test("control: a non-socket file at the socket path is left alone", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(controlSocketPath(dir), "keep me");
    await rejectsWith(ControlServer.listen(dir, () => ({})), ControlSetupError, /not a socket/);
    assert.equal(await Deno.readTextFile(controlSocketPath(dir)), "keep me");
  });
});

Deno.test("control: the client gives up on an agent that never answers", async () => {
  await withTempDir(async (dir) => {
    const mute = Deno.listen({ transport: "unix", path: controlSocketPath(dir) });
    const accepted = mute.accept();
    try {
      await rejectsWith(requestStatus(dir, { timeoutMs: 50 }), ControlRequestError, /Timed out/);
    } finally {
      (await accepted).close();
      mute.close();
    }
  });
});
