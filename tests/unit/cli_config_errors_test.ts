/**
 * Every kind of bad configuration of `ipop up` is exactly one stderr line, no stack, nothing on
 * stdout, and the documented exit status (docs/config.md): 2 for a mistake in the settings (wrong
 * JSON type, unknown key or variable, bad address), 1 for what only starting can find (the node
 * key unreadable, corrupt or the wrong size; the UDP or the metrics port in use).
 *
 * The runtime cases fail before the agent creates its TUN interface or binds UDP (the metrics
 * port is bound first), so nothing here needs root or touches the host's interfaces.
 */
import assert from "node:assert/strict";
import { exists } from "../helpers/command.ts";
import dgram from "node:dgram";
import { encodeKey } from "../../lib/identity/key_text.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const KEY_A = encodeKey(new Uint8Array(32).fill(1));
/** Cases run at once (each is a `deno run` of main.ts). */
const PARALLEL_RUNS = 4;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ipop ARGS` with `env` added (and `prefix`, e.g. `unshare -U`, before deno). */
async function ipop(args: string[], env: Record<string, string> = {}, prefix: string[] = []) {
  const argv = [...prefix, Deno.execPath(), "run", "-A", MAIN, ...args];
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts exactly one stderr line matching `pattern`, nothing on stdout, exit status `code`. */
function assertOneLine(what: string, run: Run, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `${what}: exit status; stderr: ${run.stderr}`);
  assert.equal(run.stdout, "", `${what}: stdout`);
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `${what}: one stderr line, got: ${run.stderr}`);
  assert.match(lines[0]!, pattern, `${what}: ${lines[0]}`);
  assert.doesNotMatch(lines[0]!, /\bat .*:\d+:\d+/, `${what}: no stack`);
}

/** One case: a config file's JSON (or none), extra args and env, and the expected line. */
interface Case {
  what: string;
  /** Keys of the config file besides a valid `stateDir`; absent: no --config. */
  file?: Record<string, unknown>;
  args?: string[];
  env?: Record<string, string>;
  code: number;
  line: RegExp;
}

/** Runs each case with a fresh state dir and config file; `PARALLEL_RUNS` at a time. */
async function runCases(cases: Case[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ipop_cfgerr_" });
  try {
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        const file = `${dir}/case${i}.json`;
        const args = ["up", ...c.args ?? []];
        if (c.file !== undefined) {
          await Deno.writeTextFile(file, JSON.stringify({ stateDir: `state${i}`, ...c.file }));
          args.push("--config", file);
        }
        const env: Record<string, string> = c.file === undefined
          ? { IPOP_STATE_DIR: `${dir}/state${i}` }
          : {};
        Object.assign(env, c.env);
        assertOneLine(c.what, await ipop(args, env), c.code, c.line);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_RUNS }, worker));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const F = String.raw`\S+\.json`;
const re = (text: string) => new RegExp(`^ipop: ${text}$`);

Deno.test("cli config errors: a wrong JSON type, for each type of key, is one line, exit 2", async () => {
  await runCases([
    {
      what: "string",
      file: { listen: 5800 },
      code: 2,
      line: re(`Key "listen" in ${F}: expected a string, got a number`),
    },
    {
      what: "path",
      file: { stateDir: true },
      code: 2,
      line: re(`Key "stateDir" in ${F}: expected a string, got a boolean`),
    },
    {
      what: "number",
      file: { mtu: "1400" },
      code: 2,
      line: re(`Key "mtu" in ${F}: expected a number, got a string`),
    },
    {
      what: "boolean for a number",
      file: { shortcutPps: false },
      code: 2,
      line: re(`Key "shortcutPps" in ${F}: expected a number, got a boolean`),
    },
    {
      what: "list",
      file: { bootstrap: "udp://198.18.0.2:5800" },
      code: 2,
      line: re(`Key "bootstrap" in ${F}: expected an array of strings, got a string`),
    },
    {
      what: "list item",
      file: { peers: [7] },
      code: 2,
      line: re(`Key "peers" in ${F}: expected an array of strings, got a number at \\[0\\]`),
    },
    {
      what: "object",
      file: { network: {} },
      code: 2,
      line: re(`Key "network" in ${F}: expected a string, got an object`),
    },
    {
      what: "not JSON",
      args: ["--config", "/dev/null"],
      code: 2,
      line: re(`Config file /dev/null is not valid JSON: .*`),
    },
    {
      what: "env number",
      env: { IPOP_MTU: "big" },
      code: 2,
      line: re(`Bad IPOP_MTU "big": expected a whole number of bytes 576-9000`),
    },
    {
      what: "flag number",
      args: ["--shortcut-pps", "x"],
      code: 2,
      line: re(`Bad --shortcut-pps "x": expected a whole number .*`),
    },
  ]);
});

Deno.test("cli config errors: an unknown key, variable or flag is one line, exit 2", async () => {
  await runCases([
    {
      what: "file key",
      file: { mtuu: 1400 },
      code: 2,
      line: re(`Unknown key "mtuu" in ${F} \\(did you mean "mtu"\\?\\)`),
    },
    {
      what: "file key, flag spelling",
      file: { "log-level": "info" },
      code: 2,
      line: re(`Unknown key "log-level" in ${F} \\(did you mean "logLevel"\\?\\)`),
    },
    {
      what: "env",
      env: { IPOP_LISTENN: "5800" },
      code: 2,
      line: re(`Unknown environment variable IPOP_LISTENN \\(did you mean IPOP_LISTEN\\?\\)`),
    },
    {
      what: "env, unlike any",
      env: { IPOP_COLOUR: "red" },
      code: 2,
      line: re(`Unknown environment variable IPOP_COLOUR`),
    },
    {
      what: "flag",
      args: ["--mtuu", "1400"],
      code: 2,
      line: /^ipop: Unknown .*--mtuu\b/, // the hint after it is help's (tests/unit/help_test.ts)
    },
  ]);
});

Deno.test("cli config errors: each bad address is one line naming its key, exit 2", async () => {
  const bad = (key: string, text: string) => `Bad "${key}" value "${text}" in ${F}: `;
  await runCases([
    {
      what: "listen",
      file: { listen: "198.18.0.1" },
      code: 2,
      line: re(`${bad("listen", "198.18.0.1")}expected PORT, HOST:PORT .*`),
    },
    {
      what: "listen host name",
      file: { listen: "localhost:5800" },
      code: 2,
      line: re(`${bad("listen", "localhost:5800")}expected .*IP address`),
    },
    {
      what: "bootstrap",
      file: { bootstrap: ["198.18.0.2:5800"] },
      code: 2,
      line: re(
        `Bad "bootstrap"\\[0\\] value "198.18.0.2:5800" in ${F}: expected udp://HOST:PORT .*`,
      ),
    },
    {
      what: "peer",
      file: { peers: [`${KEY_A}@198.18.0.2`] },
      code: 2,
      line: re(`Bad "peers"\\[0\\] value "\\S+" in ${F}: expected HOST:PORT .*`),
    },
    {
      what: "peer key",
      file: { peers: ["abc@198.18.0.2:5800"] },
      code: 2,
      line: re(
        `Bad "peers"\\[0\\] value "abc@198.18.0.2:5800" in ${F}: the key must be 44 characters .*`,
      ),
    },
    {
      what: "address",
      file: { address: "100.64.0.256/24" },
      code: 2,
      line: re(`${bad("address", "100.64.0.256/24")}each octet must be 0-255`),
    },
    {
      what: "address outside subnet",
      file: { address: "100.64.1.5", subnet: "100.64.0.0/24" },
      code: 2,
      line: re(`${bad("address", "100.64.1.5")}not inside "subnet" 100.64.0.0/24`),
    },
    {
      what: "subnet",
      file: { subnet: "100.64.0.1/16" },
      code: 2,
      line: re(`${bad("subnet", "100.64.0.1/16")}.*host bits are set.*`),
    },
    {
      what: "subnet prefix",
      file: { subnet: "100.64.0.0/31" },
      code: 2,
      line: re(`${bad("subnet", "100.64.0.0/31")}.*`),
    },
    {
      what: "metrics",
      file: { metrics: "localhost:9100" },
      code: 2,
      line: re(`${bad("metrics", "localhost:9100")}expected PORT, HOST:PORT .*`),
    },
    {
      what: "metrics port",
      file: { metrics: "127.0.0.1:0" },
      code: 2,
      line: re(`${bad("metrics", "127.0.0.1:0")}the port must be 1-65535`),
    },
    {
      what: "env listen",
      env: { IPOP_LISTEN: "198.18.0.1:99999" },
      code: 2,
      line: re(`Bad IPOP_LISTEN "198.18.0.1:99999": expected .*`),
    },
    {
      what: "env metrics",
      env: { IPOP_METRICS: "x:1" },
      code: 2,
      line: re(`Bad IPOP_METRICS "x:1": expected .*`),
    },
    {
      what: "flag bootstrap",
      args: ["--bootstrap", "udp://nowhere:1"],
      code: 2,
      line: re(`Bad --bootstrap "udp://nowhere:1": expected .*`),
    },
  ]);
});

/**
 * A state dir whose `private.key` is prepared by `setUp`; runs `up` on it. Its UDP port is held
 * busy: should the key be accepted, `up` still stops (at binding UDP) before creating a TUN.
 */
async function upWithKeyFile(
  setUp: (dir: string, key: string) => Promise<void>,
  prefix: string[] = [],
) {
  const root = await Deno.makeTempDir({ prefix: "ipop_cfgerr_key_" });
  const busy = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => busy.bind(0, "127.0.0.1", resolve));
  try {
    const dir = `${root}/state`;
    await Deno.mkdir(dir, { mode: 0o700 });
    const key = `${dir}/private.key`;
    await setUp(dir, key);
    const listen = `127.0.0.1:${busy.address().port}`;
    const args = ["up", "--state-dir", dir, "--listen", listen, "--address", "100.64.0.5/24"];
    return await ipop(args, {}, prefix);
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    await Deno.remove(root, { recursive: true });
  }
}

const canUnshareUser =
  new Deno.Command("unshare", { args: ["-U", "true"], stdout: "null", stderr: "null" })
    .outputSync().success;

Deno.test("cli config errors: an unreadable, corrupt or wrong-size node key is one line, exit 1", async () => {
  const write = (text: string, mode = 0o600) => async (_dir: string, key: string) => {
    await Deno.writeTextFile(key, text, { mode });
    await Deno.chmod(key, mode);
  };
  const cases: [string, (dir: string, key: string) => Promise<void>, RegExp][] = [
    [
      "corrupt",
      write("not a key\n"),
      /^ipop: Key file \S+private\.key does not hold a base64 32-byte key$/,
    ],
    [
      "16 bytes",
      write(new Uint8Array(16).fill(3).toBase64() + "\n"),
      /does not hold a base64 32-byte key$/,
    ],
    [
      "33 bytes",
      write(new Uint8Array(33).fill(3).toBase64() + "\n"),
      /does not hold a base64 32-byte key$/,
    ],
    ["empty", write(""), /does not hold a base64 32-byte key$/],
    ["huge", write("A".repeat(1 << 20)), /does not hold a base64 32-byte key \(too large\)$/],
    [
      "group-readable",
      write(`${KEY_A}\n`, 0o640),
      /^ipop: Key file \S+ is accessible by group or others \(mode 0640\); run: chmod 600 \S+$/,
    ],
    [
      "a directory",
      (_dir, key) => Deno.mkdir(key),
      /^ipop: Key file \S+private\.key is not a regular file$/,
    ],
    ["state dir is a file", async (dir) => {
      await Deno.remove(dir);
      await Deno.writeTextFile(dir, "");
    }, /^ipop: State dir \S+ is not a directory$/],
  ];
  for (const [what, setUp, line] of cases) {
    assertOneLine(what, await upWithKeyFile(setUp), 1, line);
  }
  // Permission denied: root reads anything, so the agent runs in a user namespace of its own,
  // where it is nobody, and the key (mode 0000, in a 0700 state dir of root's) is closed to it.
  if (canUnshareUser) {
    const run = await upWithKeyFile(write(`${KEY_A}\n`, 0o000), ["unshare", "-U"]);
    assertOneLine(
      "permission denied",
      run,
      1,
      /^ipop: Cannot (read key file|use state dir) \S+: permission denied$/,
    );
  } else console.log("  (permission-denied case skipped: unshare -U is not available)");
});

Deno.test("cli config errors: a UDP listen port or a metrics port in use is one line, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ipop_cfgerr_port_" });
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const udpPort = udp.address().port;
    const tcpPort = tcp.addr.port;
    const file = `${dir}/ipop.json`;
    const config = { stateDir: "state", address: "100.64.0.5/24" };
    await Deno.writeTextFile(file, JSON.stringify({ ...config, listen: `127.0.0.1:${udpPort}` }));
    assertOneLine(
      "udp",
      await ipop(["up", "--config", file]),
      1,
      re(`Cannot listen on 127\\.0\\.0\\.1:${udpPort}: Address already in use`),
    );
    const metrics = `127.0.0.1:${tcpPort}`;
    // `tun: "lo"` cannot be a TUN: should `up` ever get past the metrics port, it still stops.
    const safe = { listen: "127.0.0.1:0", tun: "lo", metrics };
    await Deno.writeTextFile(file, JSON.stringify({ ...config, ...safe }));
    assertOneLine(
      "metrics",
      await ipop(["up", "--config", file]),
      1,
      re(`Cannot serve metrics on 127\\.0\\.0\\.1:${tcpPort}: address in use`),
    );
    assert.equal(await exists(`${dir}/state/control.sock`), false, "the control socket is gone");
  } finally {
    tcp.close();
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await Deno.remove(dir, { recursive: true });
  }
});
