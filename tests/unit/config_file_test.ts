import assert from "node:assert/strict";
import { ConfigError } from "../../lib/config/config_error.ts";
import {
  checkConfigFile,
  configToJson,
  exampleConfigJson,
  MAX_CONFIG_FILE_BYTES,
  parseConfigText,
} from "../../lib/config/config_file.ts";
import {
  settingsFromEnv,
  suggestName,
  UP_KEY_NAMES,
  UP_KEYS,
  type UpKey,
} from "../../lib/config/config_sources.ts";
import { type Command, parseCommand, type ParseIo } from "../../lib/config/parse_args.ts";
import { pskFromSecret } from "../../lib/config/secret.ts";
import type { UpConfig } from "../../lib/config/up_config.ts";
import { encodeKey } from "../../lib/identity/key_text.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";

const KEY_A = encodeKey(new Uint8Array(32).fill(1));
const KEY_B = encodeKey(new Uint8Array(32).fill(2));
const FILE = "/etc/ipop/ipop.json";

/** A fake filesystem and environment. */
function fakeIo(files: Record<string, string>, env: Record<string, string> = {}): ParseIo {
  return {
    readFile(path) {
      const f = files[path];
      if (f === undefined) throw new Deno.errors.NotFound(`no ${path}`);
      return new TextEncoder().encode(f);
    },
    env: () => env,
  };
}

function upConfig(args: string[], io: ParseIo): UpConfig {
  const cmd = parseCommand(["up", ...args], io);
  assert.equal(cmd.kind, "up");
  return (cmd as Extract<Command, { kind: "up" }>).config;
}

/** Asserts `fn` throws one one-line ConfigError matching `pattern`. */
function configError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), "message is one line");
    return;
  }
  assert.fail(`expected a ConfigError matching ${pattern}`);
}

/** The error lines of `config check` on a file with this JSON text. */
function checkErrors(json: string, extra: Record<string, string> = {}): string[] {
  const check = checkConfigFile(FILE, fakeIo({ [FILE]: json, ...extra }).readFile);
  assert.equal(check.config, undefined, "the check fails");
  for (const e of check.errors) assert.ok(!e.message.includes("\n"), e.message);
  return check.errors.map((e) => e.message);
}

/** A value for every key (typed by `UpKey`: a new key must be added here, and is then tested). */
const FULL_JSON: Record<UpKey, unknown> = {
  stateDir: "state",
  listen: "198.18.0.1:5900",
  bootstrap: ["udp://198.18.0.2:5800", "udp://198.18.0.3:5800"],
  network: "lab",
  subnet: "100.64.8.0/24",
  address: "100.64.8.5",
  peers: [`${KEY_A}@198.18.0.4:5800`],
  secretFile: "secret",
  tun: "ipop7",
  mtu: 1400,
  shortcutPps: 0,
  logLevel: "debug",
  metrics: "198.18.0.1:9100",
  logFormat: "json",
};
const FULL_FILE = JSON.stringify(FULL_JSON);

Deno.test("config file: every key is read, paths are relative to the file's folder", () => {
  const c = upConfig(
    ["--config", FILE],
    fakeIo({ [FILE]: FULL_FILE, "/etc/ipop/secret": "s3cret\n" }),
  );
  assert.equal(c.stateDir, "/etc/ipop/state");
  assert.deepEqual(c.listen, { host: "198.18.0.1", port: 5900, family: 4 });
  assert.deepEqual(c.bootstrap.map((b) => b.host), ["198.18.0.2", "198.18.0.3"]);
  assert.equal(c.network, "lab");
  assert.deepEqual(c.subnet, { base: ipv4ToNumber("100.64.8.0"), prefix: 24 });
  assert.deepEqual(c.address, { ip: "100.64.8.5", prefix: 24 });
  assert.equal(c.peers.length, 1);
  assert.equal(encodeKey(c.peers[0]!.publicKey), KEY_A);
  assert.deepEqual(c.psk, pskFromSecret(new TextEncoder().encode("s3cret"), "x"));
  assert.equal(c.tunName, "ipop7");
  assert.equal(c.mtu, 1400);
  assert.equal(c.shortcutPps, 0);
  assert.equal(c.logLevel, "debug");
  assert.deepEqual(c.metrics, { host: "198.18.0.1", port: 9100, family: 4 });
  assert.equal(c.logFormat, "json");
  const check = checkConfigFile(
    FILE,
    fakeIo({ [FILE]: FULL_FILE, "/etc/ipop/secret": "x" }).readFile,
  );
  const shown = configToJson(check.config!, check.secretFile);
  for (const key of UP_KEY_NAMES) {
    assert.notDeepEqual(shown[key], exampleConfigJson()[key], `"${key}" was read, not defaulted`);
  }
});

Deno.test("config file: a relative config path anchors relative paths; absolute stay", () => {
  const text = JSON.stringify({ stateDir: "st", secretFile: "/abs/secret" });
  const c = upConfig(
    ["--config", "conf/ipop.json"],
    fakeIo({ "conf/ipop.json": text, "/abs/secret": "x" }),
  );
  assert.equal(c.stateDir, "conf/st");
});

Deno.test("config file: null and absent keys take the defaults", () => {
  const c = upConfig(
    ["--config", FILE],
    fakeIo({ [FILE]: JSON.stringify({ stateDir: "/s", tun: null, mtu: null, peers: null }) }),
  );
  assert.equal(c.mtu, 1376);
  assert.equal("tunName" in c, false);
  assert.deepEqual(c.peers, []);
  assert.deepEqual(c.psk, new Uint8Array(32));
});

Deno.test("config file: unknown keys are rejected with a suggestion", () => {
  const errors = checkErrors(JSON.stringify({ stateDir: "/s", mtuu: 1400, "state-dir": "/t" }));
  assert.deepEqual(errors, [
    `Unknown key "mtuu" in ${FILE} (did you mean "mtu"?)`,
    `Unknown key "state-dir" in ${FILE} (did you mean "stateDir"?)`,
  ]);
  assert.deepEqual(checkErrors(JSON.stringify({ stateDir: "/s", zzz: 1 })), [
    `Unknown key "zzz" in ${FILE}`,
  ]);
});

Deno.test("config file: wrong JSON types name the key and both types", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ mtu: "1400" }, `Key "mtu" in ${FILE}: expected a number, got a string`],
    [{ shortcutPps: true }, `Key "shortcutPps" in ${FILE}: expected a number, got a boolean`],
    [{ listen: 5800 }, `Key "listen" in ${FILE}: expected a string, got a number`],
    [{ peers: "k@h:1" }, `Key "peers" in ${FILE}: expected an array of strings, got a string`],
    [
      { bootstrap: ["udp://198.18.0.2:1", 7] },
      `Key "bootstrap" in ${FILE}: expected an array of strings, got a number at [1]`,
    ],
    [{ tun: {} }, `Key "tun" in ${FILE}: expected a string, got an object`],
    [
      { secretFile: "" },
      `Key "secretFile" in ${FILE}: expected a non-empty string, got an empty one`,
    ],
  ];
  for (const [extra, message] of cases) {
    assert.deepEqual(checkErrors(JSON.stringify({ stateDir: "/s", ...extra })), [message]);
  }
  assert.deepEqual(checkErrors(JSON.stringify({ stateDir: ["/s"] })), [
    `Key "stateDir" in ${FILE}: expected a string, got an array`,
  ]);
});

Deno.test("config file: each invalid value names the key, the text and the file", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { listen: "nowhere" },
      /^Bad "listen" value "nowhere" in \/etc\/ipop\/ipop.json: expected PORT/,
    ],
    [
      { bootstrap: ["udp://198.18.0.2:1", "tcp://x"] },
      /^Bad "bootstrap"\[1\] value "tcp:\/\/x" in .*: expected udp:/,
    ],
    [{ network: "Lab" }, /^Bad "network" value "Lab" in .*: use 1-32 characters/],
    [{ subnet: "100.64.0.1/16" }, /^Bad "subnet" value "100.64.0.1\/16" in .*: host bits are set/],
    [
      { address: "100.64.0.0/24" },
      /^Bad "address" value "100.64.0.0\/24" in .*: that is the network/,
    ],
    [
      { address: "100.99.0.5" },
      /^Bad "address" value "100.99.0.5" in .*: not inside the default "subnet" 100.64.0.0\/16$/,
    ],
    [{ address: "100.64.1.5", subnet: "100.64.0.0/24" }, /: not inside "subnet" 100.64.0.0\/24$/],
    [{ peers: [`${KEY_A}@198.18.0.2`] }, /^Bad "peers"\[0\] value ".*" in .*: expected HOST:PORT/],
    [
      { peers: [`${KEY_A}@198.18.0.2:1`, `${KEY_A}@198.18.0.3:1`] },
      /^"peers" in .*: Peer .* is given more than once$/,
    ],
    [
      { secretFile: "missing" },
      /^"secretFile" in .*: Secret file \/etc\/ipop\/missing does not exist$/,
    ],
    [{ tun: "a/b" }, /^Bad "tun" value "a\/b" in .*: use 1-15 letters/],
    [{ mtu: 100 }, /^Bad "mtu" value "100" in .*: expected a whole number of bytes 576-9000$/],
    [{ mtu: 1400.5 }, /^Bad "mtu" value "1400.5" in /],
    [{ shortcutPps: -1 }, /^Bad "shortcutPps" value "-1" in .*: expected a whole number/],
    [
      { logLevel: "loud" },
      /^Bad "logLevel" value "loud" in .*: expected error, warn, info or debug$/,
    ],
  ];
  for (const [extra, pattern] of cases) {
    const errors = checkErrors(JSON.stringify({ stateDir: "/s", ...extra }));
    assert.equal(errors.length, 1, `${JSON.stringify(extra)}: ${errors}`);
    assert.match(errors[0]!, pattern);
  }
});

Deno.test("config file: a missing stateDir is reported unless it was mistyped", () => {
  assert.deepEqual(checkErrors("{}"), [
    `up needs --state-dir DIR (or IPOP_STATE_DIR, or "stateDir" in a --config file)`,
  ]);
  assert.equal(checkErrors(JSON.stringify({ stateDir: 1 })).length, 1);
});

Deno.test("config file: unreadable, oversized, non-JSON and non-object files are one line", () => {
  const cases: [string | undefined, RegExp][] = [
    [undefined, /^Config file \/etc\/ipop\/ipop.json does not exist$/],
    ['{"stateDir": ', /^Config file .* is not valid JSON: /],
    ["[1, 2]", /^Config file .* must hold a JSON object, not an array$/],
    ["null", /must hold a JSON object, not null$/],
    [" ".repeat(MAX_CONFIG_FILE_BYTES + 1), /^Config file .* is larger than 64 KiB$/],
  ];
  for (const [text, pattern] of cases) {
    const io = fakeIo(text === undefined ? {} : { [FILE]: text });
    const check = checkConfigFile(FILE, io.readFile);
    assert.equal(check.errors.length, 1, `${pattern}: ${check.errors.join("; ")}`);
    assert.match(check.errors[0]!.message, pattern);
    configError(() => upConfig(["--config", FILE], io), pattern);
  }
  const denied: ParseIo = {
    readFile() {
      throw new Deno.errors.PermissionDenied("nope");
    },
  };
  configError(
    () => upConfig(["--config", FILE], denied),
    /^Cannot read config file \/etc\/ipop\/ipop.json: permission denied$/,
  );
});

Deno.test("config check: collects every error, not only the first", () => {
  const errors = checkErrors(JSON.stringify({
    stateDir: "/s",
    mtuu: 1,
    mtu: "big",
    logLevel: "loud",
    tun: "way-too-long-for-linux",
    peers: ["nope"],
  }));
  assert.equal(errors.length, 5, errors.join("\n"));
  assert.match(errors.join("\n"), /"mtuu".*\n.*"mtu".*\n.*"peers".*\n.*"tun".*\n.*"logLevel"/);
});

Deno.test("config example round-trips through config check unchanged", () => {
  const example = exampleConfigJson();
  assert.deepEqual(Object.keys(example), UP_KEY_NAMES, "every key, in documentation order");
  const text = JSON.stringify(example, null, 2);
  const check = checkConfigFile(FILE, fakeIo({ [FILE]: text }).readFile);
  assert.deepEqual(check.errors, []);
  assert.deepEqual(configToJson(check.config!, check.secretFile), example);
});

Deno.test("config check: the effective config shows canonical values and hides the secret", () => {
  const io = fakeIo({ [FILE]: FULL_FILE, "/etc/ipop/secret": "hunter2" });
  const check = checkConfigFile(FILE, io.readFile);
  assert.deepEqual(check.errors, []);
  const json = configToJson(check.config!, check.secretFile);
  assert.equal(json.address, "100.64.8.5/24");
  assert.equal(json.secretFile, "/etc/ipop/secret");
  assert.ok(!JSON.stringify(json).includes("hunter2"));
  assert.deepEqual(json.peers, [`${KEY_A}@198.18.0.4:5800`]);
});

/** A value for every key's variable (typed by `UpKey`: a new key must be added here). */
const FULL_ENV: Record<UpKey, string> = {
  stateDir: "/var/ipop",
  listen: "198.18.0.1:6000",
  bootstrap: "udp://198.18.0.2:5800, udp://198.18.0.3:5800,",
  network: "envnet",
  subnet: "100.64.4.0/24",
  address: "100.64.4.9",
  peers: `${KEY_A}@198.18.0.4:1,${KEY_B}@198.18.0.5:1`,
  secretFile: "/k/secret",
  tun: "envtun",
  mtu: "1300",
  shortcutPps: "9",
  logLevel: "warn",
  metrics: "9200",
  logFormat: "json",
};

Deno.test("environment: IPOP_* variables set every key, lists comma-separated", () => {
  const env: Record<string, string> = {
    IPOP_TEST_LOG: "1",
    IPOP_ARGS: "--mtu 1400",
    HOME: "/root",
  };
  for (const key of UP_KEY_NAMES) env[UP_KEYS[key].env] = FULL_ENV[key];
  const c = upConfig([], fakeIo({ "/k/secret": "x" }, env));
  assert.equal(c.stateDir, "/var/ipop");
  assert.equal(c.listen.port, 6000);
  assert.deepEqual(c.bootstrap.map((b) => b.host), ["198.18.0.2", "198.18.0.3"]);
  assert.equal(c.network, "envnet");
  assert.deepEqual(c.subnet, { base: ipv4ToNumber("100.64.4.0"), prefix: 24 });
  assert.deepEqual(c.address, { ip: "100.64.4.9", prefix: 24 });
  assert.deepEqual(c.peers.map((p) => encodeKey(p.publicKey)), [KEY_A, KEY_B]);
  assert.notDeepEqual(c.psk, new Uint8Array(32));
  assert.equal(c.tunName, "envtun");
  assert.equal(c.mtu, 1300);
  assert.equal(c.shortcutPps, 9);
  assert.equal(c.logLevel, "warn");
  assert.deepEqual(c.metrics, { host: "127.0.0.1", port: 9200, family: 4 });
  assert.equal(c.logFormat, "json");
  const shown = configToJson(c, "/k/secret");
  for (const key of UP_KEY_NAMES) {
    assert.notDeepEqual(shown[key], exampleConfigJson()[key], `${UP_KEYS[key].env} was read`);
  }
});

Deno.test("environment: unknown IPOP_ names, empty values and bad values are one line each", () => {
  const { errors } = settingsFromEnv({ IPOP_MTUU: "1", IPOP_PEER: "x", IPOP_TUN: " ", PATH: "/" });
  assert.deepEqual(errors.map((e) => e.message), [
    "Unknown environment variable IPOP_MTUU (did you mean IPOP_MTU?)",
    "Unknown environment variable IPOP_PEER (did you mean IPOP_PEERS?)",
    "IPOP_TUN is set but empty",
  ]);
  const io = (env: Record<string, string>) => fakeIo({}, { IPOP_STATE_DIR: "/s", ...env });
  configError(() => upConfig([], io({ IPOP_FOO: "1" })), /^Unknown environment variable IPOP_FOO$/);
  configError(() => upConfig([], io({ IPOP_MTU: "99" })), /^Bad IPOP_MTU "99": expected a whole/);
  configError(
    () => upConfig([], io({ IPOP_ADDRESS: "100.64.1.9", IPOP_SUBNET: "100.64.0.0/24" })),
    /^Bad IPOP_ADDRESS "100.64.1.9": not inside IPOP_SUBNET 100.64.0.0\/24$/,
  );
  configError(
    () => upConfig([], io({ IPOP_SECRET_FILE: "/none" })),
    /^IPOP_SECRET_FILE: Secret file \/none does not exist$/,
  );
  configError(
    () => upConfig([], io({ IPOP_CONFIG: "/none.json" })),
    /^Config file \/none.json does not exist$/,
  );
});

Deno.test("precedence: flags over environment over config file over defaults", () => {
  const file = JSON.stringify({
    stateDir: "/file",
    mtu: 1300,
    logLevel: "error",
    network: "filenet",
    peers: [`${KEY_A}@198.18.0.2:1`],
    bootstrap: ["udp://198.18.0.9:1"],
  });
  const env = {
    IPOP_CONFIG: FILE,
    IPOP_MTU: "1400",
    IPOP_LOG_LEVEL: "warn",
    IPOP_PEERS: `${KEY_B}@198.18.0.3:1`,
    IPOP_BOOTSTRAP: "",
  };
  const c = upConfig(["--log-level", "debug"], fakeIo({ [FILE]: file }, env));
  assert.equal(c.stateDir, "/file", "file over default");
  assert.equal(c.network, "filenet");
  assert.equal(c.mtu, 1400, "env over file");
  assert.equal(c.logLevel, "debug", "flag over env");
  assert.deepEqual(c.peers.map((p) => encodeKey(p.publicKey)), [KEY_B], "env list replaces file's");
  assert.deepEqual(c.bootstrap, [], "an empty env list clears the file's");
  assert.equal(c.shortcutPps, 2, "default");
  const flagged = upConfig(
    ["--peer", `${KEY_A}@198.18.0.7:1`, "--state-dir", "/flag"],
    fakeIo({ [FILE]: file }, env),
  );
  assert.deepEqual(flagged.peers.map((p) => p.endpoint.host), ["198.18.0.7"]);
  assert.equal(flagged.stateDir, "/flag");
});

Deno.test("precedence: --config wins over IPOP_CONFIG", () => {
  const io = fakeIo({
    "/a.json": JSON.stringify({ stateDir: "/a" }),
    "/b.json": JSON.stringify({ stateDir: "/b" }),
  }, { IPOP_CONFIG: "/a.json" });
  assert.equal(upConfig([], io).stateDir, "/a");
  assert.equal(upConfig(["--config", "/b.json"], io).stateDir, "/b");
});

Deno.test("IPOP_STATE_DIR stands in for --state-dir in the other commands", () => {
  const io = fakeIo({}, { IPOP_STATE_DIR: "/env" });
  assert.deepEqual(parseCommand(["status"], io), { kind: "status", stateDir: "/env", json: false });
  assert.deepEqual(parseCommand(["id", "--state-dir", "/x"], io), { kind: "id", stateDir: "/x" });
  configError(
    () => parseCommand(["id"], fakeIo({})),
    /^id needs --state-dir DIR \(or IPOP_STATE_DIR\)$/,
  );
});

Deno.test("parseCommand: config check FILE and config example", () => {
  assert.deepEqual(parseCommand(["config", "check", "x.json"]), {
    kind: "config-check",
    path: "x.json",
  });
  assert.deepEqual(parseCommand(["config", "example"]), { kind: "config-example" });
  assert.deepEqual(parseCommand(["config", "--help"]), { kind: "help", requested: true });
  configError(() => parseCommand(["config"]), /^config needs "check FILE" or "example"$/);
  configError(() => parseCommand(["config", "check"]), /^config check takes one argument, got 0$/);
});

Deno.test("suggestName ignores case and separators and allows two edits", () => {
  assert.equal(
    suggestName("LOG_LEVEL", ["logLevel", "listen"], true),
    ` (did you mean "logLevel"?)`,
  );
  assert.equal(suggestName("subnett", ["subnet"]), " (did you mean subnet?)");
  assert.equal(suggestName("completely", ["subnet"]), "");
});

Deno.test("parseConfigText keeps file origins for messages", () => {
  const { settings, errors } = parseConfigText(JSON.stringify({ mtu: 1400 }), "/x/y.json");
  assert.deepEqual(errors, []);
  assert.deepEqual(settings.mtu, { value: "1400", origin: { kind: "file", path: "/x/y.json" } });
});
