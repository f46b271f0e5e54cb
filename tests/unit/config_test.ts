import assert from "node:assert/strict";
import { blake2s } from "@noble/hashes/blake2.js";
import { ConfigError } from "../../lib/config/config_error.ts";
import { type Command, parseCommand, type ParseIo } from "../../lib/config/parse_args.ts";
import { configToJson } from "../../lib/config/config_file.ts";
import { UP_KEY_NAMES, UP_KEYS, type UpKey } from "../../lib/config/config_sources.ts";
import { pskFromSecret, trimTrailingWhitespace } from "../../lib/config/secret.ts";
import {
  checkPeersAgainstSelf,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SUBNET_TEXT,
  parseAddress,
  parseListen,
  resolveAddressAndSubnet,
  type UpConfig,
} from "../../lib/config/up_config.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";
import { decodeKey, encodeKey, KeyTextError } from "../../lib/identity/key_text.ts";

const KEY_A = encodeKey(new Uint8Array(32).fill(1));
const KEY_B = encodeKey(new Uint8Array(32).fill(2));
const noFiles: ParseIo = {
  readFile(path) {
    throw new Deno.errors.NotFound(`no ${path}`);
  },
};

function filesIo(files: Record<string, string | Uint8Array>): ParseIo {
  return {
    readFile(path) {
      const f = files[path];
      if (f === undefined) throw new Deno.errors.NotFound(`no ${path}`);
      return typeof f === "string" ? new TextEncoder().encode(f) : f;
    },
  };
}

function up(args: string[], io: ParseIo = noFiles): UpConfig {
  return upWithout(["--address", "100.64.0.1/24", ...args], io);
}

/** `up` with only `--state-dir` added (no `--address`). */
function upWithout(args: string[], io: ParseIo = noFiles): UpConfig {
  const cmd = parseCommand(["up", "--state-dir", "/s", ...args], io);
  assert.equal(cmd.kind, "up");
  return (cmd as Extract<Command, { kind: "up" }>).config;
}

function configError(fn: () => unknown, pattern: RegExp): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), "message is one line");
    return err;
  }
  assert.fail(`expected a ConfigError matching ${pattern}`);
}

Deno.test("parseCommand: up with only the required flags gets the documented defaults", () => {
  const c = up([]);
  assert.equal(c.stateDir, "/s");
  assert.deepEqual(c.listen, { host: "0.0.0.0", port: 5800, family: 4 });
  assert.deepEqual(c.address, { ip: "100.64.0.1", prefix: 24 });
  assert.deepEqual(c.subnet, { base: ipv4ToNumber("100.64.0.0"), prefix: 24 });
  assert.equal(c.network, "ipop");
  assert.deepEqual(c.peers, []);
  assert.deepEqual(c.psk, new Uint8Array(32));
  assert.equal(c.mtu, 1376);
  assert.equal(c.logLevel, "info");
  assert.equal("tunName" in c, false);
});

Deno.test("parseCommand: up reads every flag, in --flag=value form too", () => {
  const c = up([
    "--listen=[::]:5900",
    "--peer",
    `${KEY_A}@198.18.0.2:5800`,
    `--peer=${KEY_B}@[fd00::2]:7`,
    "--tun",
    "ipop%d",
    "--mtu",
    "1280",
    "--log-level",
    "debug",
  ]);
  assert.deepEqual(c.listen, { host: "::", port: 5900, family: 6 });
  assert.equal(c.peers.length, 2);
  assert.deepEqual(c.peers[0]!.publicKey, new Uint8Array(32).fill(1));
  assert.deepEqual(c.peers[0]!.endpoint, { host: "198.18.0.2", port: 5800, family: 4 });
  assert.deepEqual(c.peers[1]!.endpoint, { host: "fd00::2", port: 7, family: 6 });
  assert.equal(c.tunName, "ipop%d");
  assert.equal(c.mtu, 1280);
  assert.equal(c.logLevel, "debug");
});

/** Values for every key's flag (typed by `UpKey`: a new key must be added here, and is tested). */
const FLAG_VALUES: Record<UpKey, string[]> = {
  stateDir: ["/flag/state"],
  listen: ["198.18.0.1:6100"],
  bootstrap: ["udp://198.18.0.2:5800", "udp://198.18.0.3:5800"],
  network: ["flagnet"],
  subnet: ["100.64.2.0/24"],
  address: ["100.64.2.7"],
  peers: [`${KEY_A}@198.18.0.4:1`],
  secretFile: ["/flag/secret"],
  tun: ["flagtun"],
  mtu: ["1500"],
  shortcutPps: ["5"],
  logLevel: ["error"],
  metrics: ["[::1]:9300"],
  logFormat: ["json"],
};

Deno.test("parseCommand: up reads the flag of every config key", () => {
  const args = UP_KEY_NAMES.flatMap((k) =>
    FLAG_VALUES[k].flatMap((v) => [`--${UP_KEYS[k].flag}`, v])
  );
  const cmd = parseCommand(["up", ...args], filesIo({ "/flag/secret": "s" }));
  assert.equal(cmd.kind, "up");
  const c = (cmd as Extract<Command, { kind: "up" }>).config;
  const shown = configToJson(c, "/flag/secret");
  assert.deepEqual(shown, {
    stateDir: "/flag/state",
    listen: "198.18.0.1:6100",
    bootstrap: ["udp://198.18.0.2:5800", "udp://198.18.0.3:5800"],
    network: "flagnet",
    subnet: "100.64.2.0/24",
    address: "100.64.2.7/24",
    peers: [`${KEY_A}@198.18.0.4:1`],
    secretFile: "/flag/secret",
    tun: "flagtun",
    mtu: 1500,
    shortcutPps: 5,
    logLevel: "error",
    metrics: "[::1]:9300",
    logFormat: "json",
  });
  assert.deepEqual(c.psk, pskFromSecret(new TextEncoder().encode("s"), "x"));
});

Deno.test("parseCommand: a bare --listen port listens on 0.0.0.0", () => {
  assert.deepEqual(up(["--listen", "6000"]).listen, { host: "0.0.0.0", port: 6000, family: 4 });
  assert.deepEqual(parseListen("198.18.0.1:0"), { host: "198.18.0.1", port: 0, family: 4 });
  configError(() => parseListen("example.com:80"), /--listen/);
  configError(() => parseListen("70000"), /--listen/);
});

Deno.test("parseCommand: id, status, help and version", () => {
  assert.deepEqual(parseCommand(["id", "--state-dir", "/x"]), { kind: "id", stateDir: "/x" });
  assert.deepEqual(parseCommand(["status", "--state-dir=/x"]), {
    kind: "status",
    stateDir: "/x",
    json: false,
  });
  assert.deepEqual(parseCommand(["status", "--json", "--state-dir", "/x"]), {
    kind: "status",
    stateDir: "/x",
    json: true,
  });
  assert.deepEqual(parseCommand([]), { kind: "help", requested: false });
  for (const args of [["help"], ["--help"], ["-h"], ["up", "--help"], ["id", "-h"]]) {
    assert.deepEqual(parseCommand(args), { kind: "help", requested: true }, args.join(" "));
  }
  assert.deepEqual(parseCommand(["--version"]), { kind: "version" });
  assert.deepEqual(parseCommand(["version"]), { kind: "version" });
});

Deno.test("parseCommand: shape mistakes are one-line ConfigErrors that point at help", () => {
  const cases: [string[], RegExp][] = [
    [["bogus"], /Unknown command "bogus"/],
    [["--state-dir", "/x", "id"], /Expected a command/],
    [["id"], /id needs --state-dir/],
    [["id", "--state-dir"], /--state-dir needs a value/],
    [["id", "--state-dir", ""], /--state-dir needs a value/],
    [["id", "--state-dir", "/x", "--json"], /Unknown option --json for "id"/],
    [["status", "--state-dir", "/x", "extra"], /Unexpected argument "extra"/],
    [["status", "--state-dir", "/x", "--json=yes"], /--json takes no value/],
    [["up", "--state-dir", "/s", "--mtu", "-5"], /--mtu needs a value/],
    [["up", "--state-dir", "/s", "--mtu", "1400", "--mtu", "1500"], /--mtu is given more/],
  ];
  for (const [args, pattern] of cases) {
    const err = configError(() => parseCommand(args), pattern);
    assert.equal(err.seeHelp, true, args.join(" "));
  }
});

Deno.test("parseCommand: up without --address leaves the address to DHCP in the default subnet", () => {
  assert.equal(DEFAULT_NETWORK_NAME, "ipop");
  assert.equal(DEFAULT_SUBNET_TEXT, "100.64.0.0/16");
  const c = upWithout([]);
  assert.equal("address" in c, false);
  assert.equal(c.network, "ipop");
  assert.deepEqual(c.subnet, { base: ipv4ToNumber("100.64.0.0"), prefix: 16 });
  const d = upWithout(["--network", "lab-2", "--subnet", "100.65.4.0/22"]);
  assert.equal("address" in d, false);
  assert.equal(d.network, "lab-2");
  assert.deepEqual(d.subnet, { base: ipv4ToNumber("100.65.4.0"), prefix: 22 });
});

Deno.test("parseCommand: --address and --subnet together agree on the network", () => {
  const withPrefix = upWithout(["--subnet", "100.64.8.0/24", "--address", "100.64.8.9/24"]);
  assert.deepEqual(withPrefix.address, { ip: "100.64.8.9", prefix: 24 });
  assert.deepEqual(withPrefix.subnet, { base: ipv4ToNumber("100.64.8.0"), prefix: 24 });
  const bare = upWithout(["--address=100.64.8.254", "--subnet=100.64.8.0/24"]);
  assert.deepEqual(bare.address, { ip: "100.64.8.254", prefix: 24 });
  const defaultSubnet = upWithout(["--address", "100.64.200.3"]);
  assert.deepEqual(defaultSubnet.address, { ip: "100.64.200.3", prefix: 16 });
  assert.deepEqual(defaultSubnet.subnet, { base: ipv4ToNumber("100.64.0.0"), prefix: 16 });
  // An address with its own prefix and no --subnet sets the subnet, even a first host address.
  const own = upWithout(["--address", "100.66.5.1/20"]);
  assert.deepEqual(own.address, { ip: "100.66.5.1", prefix: 20 });
  assert.deepEqual(own.subnet, { base: ipv4ToNumber("100.66.0.0"), prefix: 20 });
});

Deno.test("parseCommand: bad --network, --subnet and --address combinations are one-line errors", () => {
  const cases: [string[], RegExp][] = [
    [["--network", "Lab"], /^Bad --network "Lab"/],
    [["--network=-x"], /^Bad --network "-x"/],
    [["--network", "a".repeat(33)], /^Bad --network/],
    [["--network="], /^--network needs a value/],
    [["--subnet", "100.64.0.5/16"], /^Bad --subnet "100.64.0.5\/16": .*100\.64\.0\.0\/16$/],
    [["--subnet", "100.64.0.0/31"], /^Bad --subnet.*prefix must be 8-30/],
    [["--subnet", "100.64.0.0"], /^Bad --subnet/],
    [
      ["--subnet", "100.64.0.0/16", "--address", "100.64.1.5/24"],
      /^Bad --address "100.64.1.5\/24": its prefix \/24 differs from --subnet 100.64.0.0\/16$/,
    ],
    [
      ["--subnet", "100.64.0.0/24", "--address", "100.64.1.5"],
      /^Bad --address "100.64.1.5": not inside --subnet 100.64.0.0\/24$/,
    ],
    [["--address", "100.65.0.5"], /not inside the default --subnet 100.64.0.0\/16$/],
    [["--subnet", "100.64.0.0/24", "--address", "100.64.0.0"], /the network address of --subnet/],
    [["--subnet", "100.64.0.0/24", "--address", "100.64.0.1"], /reserved for a gateway/],
    [["--subnet", "100.64.0.0/24", "--address", "100.64.0.1/24"], /reserved for a gateway/],
    [["--subnet", "100.64.0.0/24", "--address", "100.64.0.255"], /the broadcast address of/],
    [["--address", "100.64.0.1"], /reserved for a gateway of the default --subnet/],
    [["--address", "100.64.0.0/24"], /network address of its \/24/],
    [["--address", "100.64.0.01"], /leading zeros/],
    [["--address", "100.64.0.1/33"], /prefix must be 8-30/],
    [["--address", "100.64.0.1/"], /expected IPv4 CIDR/],
    [["--address", "fd00::1"], /expected IPv4 CIDR/],
  ];
  for (const [args, pattern] of cases) configError(() => upWithout(args), pattern);
});

Deno.test("resolveAddressAndSubnet checks --subnet even without --address", () => {
  assert.deepEqual(resolveAddressAndSubnet(undefined, undefined), {
    subnet: { base: ipv4ToNumber("100.64.0.0"), prefix: 16 },
  });
  configError(() => resolveAddressAndSubnet(undefined, "100.64.0.1/24"), /host bits are set/);
});

Deno.test("parseCommand: bad up values name the flag and the text", () => {
  const cases: [string[], RegExp][] = [
    [["--mtu", "575"], /Bad --mtu "575"/],
    [["--mtu", "9001"], /Bad --mtu "9001"/],
    [["--mtu", "1e3"], /Bad --mtu/],
    [["--log-level", "trace"], /Bad --log-level "trace"/],
    [["--tun", "a/b"], /Bad --tun/],
    [["--tun", "sixteen-chars-xx"], /Bad --tun/],
    [["--peer", KEY_A], /expected PUBKEY@HOST:PORT/],
    [["--peer", `${KEY_A.slice(1)}@198.18.0.2:1`], /key must be 44 characters/],
    [["--peer", `${KEY_A}@198.18.0.2:0`], /port 1-65535/],
    [["--peer", `${KEY_A}@host.example:1`], /Bad --peer/],
    [
      ["--peer", `${KEY_A}@198.18.0.2:1`, "--peer", `${KEY_A}@198.18.0.3:1`],
      /given more than once/,
    ],
  ];
  for (const [args, pattern] of cases) configError(() => up(args), pattern);
});

Deno.test("parseAddress accepts host addresses with prefix 8-30 only", () => {
  assert.deepEqual(parseAddress("100.64.0.1/24"), { ip: "100.64.0.1", prefix: 24 });
  assert.deepEqual(parseAddress("100.64.0.2/30"), { ip: "100.64.0.2", prefix: 30 });
  assert.deepEqual(parseAddress("100.64.1.0/10"), { ip: "100.64.1.0", prefix: 10 });
  const cases: [string, RegExp][] = [
    ["100.64.0.0/24", /network address/],
    ["100.64.0.255/24", /broadcast address/],
    ["100.64.0.3/30", /broadcast address/],
    ["100.127.255.255/10", /broadcast address/],
    ["100.64.0.1/31", /prefix must be 8-30/],
    ["100.64.0.1/7", /prefix must be 8-30/],
    ["100.64.0.1", /expected IPv4 CIDR/],
    ["fd00::1/64", /expected IPv4 CIDR/],
    ["100.64.0.256/24", /0-255/],
    ["100.064.0.1/24", /leading zeros/],
  ];
  for (const [text, pattern] of cases) configError(() => parseAddress(text), pattern);
});

Deno.test("checkPeersAgainstSelf rejects a peer with our own key", () => {
  const peers = up(["--peer", `${KEY_A}@198.18.0.2:5800`]).peers;
  checkPeersAgainstSelf(peers, new Uint8Array(32).fill(2));
  configError(() => checkPeersAgainstSelf(peers, new Uint8Array(32).fill(1)), /own key/);
});

Deno.test("secret file: psk is blake2s of label, zero byte and trimmed contents", () => {
  const expected = blake2s(new TextEncoder().encode("ipop network secret v1\0hunter2"));
  const c = up(["--secret-file", "/net.secret"], filesIo({ "/net.secret": "hunter2 \n\t\r\n" }));
  assert.deepEqual(c.psk, expected);
  assert.equal(c.psk.length, 32);
  // Leading whitespace is part of the secret; only trailing whitespace is dropped.
  assert.notDeepEqual(pskFromSecret(new TextEncoder().encode(" hunter2"), "f"), expected);
  assert.deepEqual(
    trimTrailingWhitespace(Uint8Array.of(0x41, 0x20, 0x42, 0x0a, 0x0d, 0x09, 0x20)),
    Uint8Array.of(0x41, 0x20, 0x42),
  );
});

Deno.test("secret file: missing, unreadable or blank files are one-line errors", () => {
  configError(() => up(["--secret-file", "/nope"]), /Secret file \/nope does not exist/);
  const denied: ParseIo = {
    readFile() {
      throw new Deno.errors.PermissionDenied("EACCES");
    },
  };
  configError(() => up(["--secret-file", "/f"], denied), /Cannot read secret file \/f: permission/);
  configError(
    () => up(["--secret-file", "/blank"], filesIo({ "/blank": " \n\n" })),
    /Secret file \/blank is empty/,
  );
  configError(
    () => up(["--secret-file", "/big"], filesIo({ "/big": new Uint8Array(64 * 1024 + 1) })),
    /larger than 64 KiB/,
  );
});

Deno.test("secret file: a real file is read from disk", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "s3cret\n");
    const c = up(["--secret-file", path], { readFile: (p) => Deno.readFileSync(p) });
    assert.deepEqual(c.psk, pskFromSecret(new TextEncoder().encode("s3cret"), path));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("key text: encodeKey and decodeKey round-trip 32 bytes and reject anything else", () => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const text = encodeKey(bytes);
  assert.equal(text.length, 44);
  assert.deepEqual(decodeKey(` ${text}\n`), bytes);
  for (
    const bad of [
      "",
      text.slice(0, 43),
      `${text}=`,
      text.replace("=", "A"),
      `${text.slice(0, 42)}B=`, // non-zero padding bits: not the canonical encoding
      encodeKey(new Uint8Array(32)).replace("A", "*"),
      new Uint8Array(33).toBase64(),
    ]
  ) {
    assert.throws(() => decodeKey(bad), KeyTextError, JSON.stringify(bad));
  }
  assert.throws(() => encodeKey(new Uint8Array(31)), RangeError);
});
