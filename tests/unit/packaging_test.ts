/**
 * Static checks of the packaging files (Dockerfile, .dockerignore, the systemd unit, the example
 * config, docs/running.md) against each other and against deno.json and the CLI. Nothing here
 * needs Docker or systemd: the files are read and parsed as text.
 */
import assert from "node:assert/strict";
import { parseCommand } from "../../lib/config/parse_args.ts";
import {
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MTU_BYTES,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SHORTCUT_PPS,
  DEFAULT_SUBNET_TEXT,
} from "../../lib/config/up_config.ts";
import { USAGE } from "../../lib/config/usage.ts";

const ROOT = new URL("../../", import.meta.url);
const STATE_DIR = "/var/lib/ipop";
const BINARY = "/usr/local/bin/ipop";

function readText(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

// ---- Dockerfile ---------------------------------------------------------------------------------

/** One Dockerfile instruction: its keyword (upper case) and its argument text. */
interface Instruction {
  keyword: string;
  args: string;
}

/** Splits a Dockerfile into instructions, joining `\` continuations and dropping comments. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    // Docker skips blank and comment lines, also inside a continuation.
    if (line === "" || line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1).trimEnd() + " ";
      continue;
    }
    const full = pending + line;
    pending = "";
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(full);
    if (m === null) throw new Error(`Not a Dockerfile instruction: ${full}`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  if (pending !== "") throw new Error("Dockerfile ends inside a continuation");
  return out;
}

/** The instructions of the last build stage (from its FROM on). */
function finalStage(instructions: Instruction[]): Instruction[] {
  const lastFrom = instructions.findLastIndex((i) => i.keyword === "FROM");
  assert.ok(lastFrom >= 0, "the Dockerfile has a FROM");
  return instructions.slice(lastFrom);
}

/** The argv of an exec-form (JSON array) ENTRYPOINT/CMD. */
function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  assert.ok(
    Array.isArray(parsed) && parsed.every((a) => typeof a === "string"),
    `exec form: ${args}`,
  );
  return parsed as string[];
}

function only(stage: Instruction[], keyword: string): Instruction {
  const found = stage.filter((i) => i.keyword === keyword);
  assert.equal(found.length, 1, `exactly one ${keyword} in the final stage`);
  return found[0]!;
}

Deno.test("Dockerfile parser joins continuations and rejects a dangling one or a non-instruction", () => {
  assert.throws(() => parseDockerfile("FROM x\nRUN a \\\n\n"), /continuation/);
  assert.throws(() => parseDockerfile("FROM x\n[Service]\n"), /Not a Dockerfile instruction/);
  assert.deepEqual(parseDockerfile("run a \\\n  # note\n  b\n"), [{ keyword: "RUN", args: "a b" }]);
});

Deno.test("Dockerfile runs the compiled agent on debian:bookworm-slim as its ENTRYPOINT", () => {
  const stage = finalStage(parseDockerfile(readText("Dockerfile")));
  assert.equal(stage[0]!.args, "debian:bookworm-slim");
  assert.deepEqual(execForm(only(stage, "ENTRYPOINT").args), [BINARY]);
  const cmd = execForm(only(stage, "CMD").args);
  assert.deepEqual(cmd, ["up", "--state-dir", STATE_DIR]);
  // The default command is one the CLI accepts.
  assert.equal(parseCommand(cmd, { readFile: () => new Uint8Array(), env: () => ({}) }).kind, "up");
  const copy = stage.find((i) => i.keyword === "COPY" && i.args.endsWith(` ${BINARY}`));
  assert.ok(copy, `the final stage copies the binary to ${BINARY}`);
  assert.match(copy.args, /^--from=\S+ /, "the binary comes from the build stage");
});

Deno.test("Dockerfile build stage compiles with deno task compile and copies that output", () => {
  const all = parseDockerfile(readText("Dockerfile"));
  const build = all.slice(0, all.findLastIndex((i) => i.keyword === "FROM"));
  const runs = build.filter((i) => i.keyword === "RUN").map((i) => i.args).join("\n");
  assert.match(runs, /\bnpm ci\b/);
  assert.match(runs, /deno task compile/);
  const workdir = build.find((i) => i.keyword === "WORKDIR")?.args;
  assert.ok(workdir, "the build stage sets a WORKDIR");
  const output = /--output (\S+)/.exec(denoTask("compile"))?.[1];
  assert.ok(output, "deno task compile names its --output");
  const copy = finalStage(all).find((i) => i.keyword === "COPY" && i.args.startsWith("--from="));
  assert.ok(copy);
  const source = copy.args.split(/\s+/)[1];
  assert.equal(source, `${workdir.replace(/\/$/, "")}/${output}`);
});

Deno.test("Dockerfile installs libsodium23, not iproute2, and publishes the default UDP port", () => {
  const stage = finalStage(parseDockerfile(readText("Dockerfile")));
  const runs = stage.filter((i) => i.keyword === "RUN").map((i) => i.args).join("\n");
  assert.match(runs, /apt-get install[^\n]*\blibsodium23\b/);
  assert.match(runs, /\bca-certificates\b/);
  assert.doesNotMatch(runs, /iproute2/, "ipop configures its TUN by ioctl");
  assert.equal(only(stage, "EXPOSE").args, `${DEFAULT_LISTEN_PORT}/udp`);
  assert.deepEqual(execForm(only(stage, "VOLUME").args), [STATE_DIR]);
});

Deno.test(".dockerignore keeps node_modules and a host-built binary out of the context", () => {
  const entries = readText(".dockerignore").split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  for (const needed of ["node_modules", "ipop", ".git"]) {
    assert.ok(entries.includes(needed), `.dockerignore lists ${needed}`);
  }
  for (const kept of ["main.ts", "lib", "ffi", "deno.json", "package.json", "package-lock.json"]) {
    assert.ok(!entries.includes(kept), `.dockerignore must not drop ${kept}`);
  }
});

// ---- systemd unit -------------------------------------------------------------------------------

/** A unit file: section name → key → values in order (systemd keys may repeat). */
type Unit = Map<string, Map<string, string[]>>;

/** Parses systemd's INI dialect: `[Section]`, `Key=Value`, `#`/`;` comments; no continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    if (line.endsWith("\\")) throw new Error(`line ${i + 1}: continuation lines are not used`);
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      if (unit.has(header[1]!)) throw new Error(`line ${i + 1}: section [${header[1]}] repeated`);
      section = new Map();
      unit.set(header[1]!, section);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv) throw new Error(`line ${i + 1}: not Key=Value: ${line}`);
    if (!section) throw new Error(`line ${i + 1}: key outside a section`);
    const values = section.get(kv[1]!) ?? [];
    values.push(kv[2]!.trim());
    section.set(kv[1]!, values);
  });
  return unit;
}

function value(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

const serviceUnit = (): Unit => parseUnit(readText("docs/packaging/ipop.service"));

Deno.test("unit parser rejects keys outside sections, bad lines and repeated sections", () => {
  assert.throws(() => parseUnit("Type=exec\n[Service]\n"), /outside a section/);
  assert.throws(() => parseUnit("[Service]\nnot a key\n"), /not Key=Value/);
  assert.throws(() => parseUnit("[Unit]\n[Unit]\n"), /repeated/);
  assert.equal(value(parseUnit("[Service]\nA=1\nA=2\n"), "Service", "A"), "2");
});

Deno.test("systemd unit has [Unit], [Service] and [Install] with the keys that start it", () => {
  const unit = serviceUnit();
  assert.deepEqual([...unit.keys()], ["Unit", "Service", "Install"]);
  assert.ok(value(unit, "Unit", "Description"));
  assert.equal(value(unit, "Unit", "After"), "network-online.target");
  assert.equal(value(unit, "Install", "WantedBy"), "multi-user.target");
  assert.equal(value(unit, "Service", "Restart"), "on-failure");
  assert.equal(value(unit, "Service", "RestartPreventExitStatus"), "2", "usage errors exit 2");
});

Deno.test("systemd ExecStart runs the installed binary as `up --state-dir /var/lib/ipop`", () => {
  const unit = serviceUnit();
  const argv = value(unit, "Service", "ExecStart")?.split(/\s+/) ?? [];
  assert.deepEqual(argv.slice(0, 4), [BINARY, "up", "--state-dir", STATE_DIR]);
  // StateDirectory=ipop is what makes /var/lib/ipop exist and writable under ProtectSystem=strict.
  assert.equal(`/var/lib/${value(unit, "Service", "StateDirectory")}`, STATE_DIR);
  // The same binary path as the container's ENTRYPOINT.
  const stage = finalStage(parseDockerfile(readText("Dockerfile")));
  assert.equal(argv[0], execForm(only(stage, "ENTRYPOINT").args)[0]);
  // Without the site's variables, the fixed part of the command line parses.
  const fixed = argv.slice(1).filter((a) => !a.startsWith("$"));
  assert.equal(
    parseCommand(fixed, { readFile: () => new Uint8Array(), env: () => ({}) }).kind,
    "up",
  );
});

Deno.test("systemd unit grants only CAP_NET_ADMIN and /dev/net/tun, read-only elsewhere", () => {
  const unit = serviceUnit();
  const service = (key: string) => value(unit, "Service", key);
  assert.equal(service("CapabilityBoundingSet"), "CAP_NET_ADMIN");
  assert.equal(service("AmbientCapabilities"), "CAP_NET_ADMIN");
  assert.equal(service("DevicePolicy"), "closed");
  assert.deepEqual(unit.get("Service")?.get("DeviceAllow"), ["/dev/net/tun rw"]);
  assert.equal(service("ProtectSystem"), "strict");
  assert.equal(service("NoNewPrivileges"), "yes");
  assert.equal(service("StateDirectoryMode"), "0700");
  assert.notEqual(service("PrivateDevices"), "yes", "PrivateDevices would hide /dev/net/tun");
  assert.notEqual(service("MemoryDenyWriteExecute"), "yes", "V8's JIT needs W+X memory");
  const families = service("RestrictAddressFamilies")?.split(/\s+/) ?? [];
  for (const f of ["AF_INET", "AF_INET6", "AF_UNIX"]) assert.ok(families.includes(f), f);
});

// ---- deno.json tasks ----------------------------------------------------------------------------

function denoTask(name: string): string {
  const config = JSON.parse(readText("deno.json")) as { tasks?: Record<string, string> };
  const task = config.tasks?.[name];
  assert.ok(task, `deno.json has a "${name}" task`);
  return task;
}

/** The `--allow-*` flags of a command line, sorted. */
function permissions(command: string): string[] {
  return command.split(/\s+/).filter((a) => a.startsWith("--allow-")).sort();
}

Deno.test("permissions() picks out the --allow flags of a command line", () => {
  assert.deepEqual(permissions("deno run --allow-net x.ts --allow-read"), [
    "--allow-net",
    "--allow-read",
  ]);
  assert.notDeepEqual(permissions("deno run --allow-net m.ts"), permissions("deno run m.ts"));
});

Deno.test("deno task compile bakes in the same permissions and entry point as deno task run", () => {
  const run = denoTask("run");
  const compile = denoTask("compile");
  assert.ok(permissions(run).length > 0);
  assert.deepEqual(permissions(compile), permissions(run));
  assert.ok(!permissions(compile).includes("--allow-all"), "no blanket permission");
  assert.match(run, /\bmain\.ts$/);
  assert.match(compile, /\bmain\.ts$/);
});

// ---- example config -----------------------------------------------------------------------------

/** The `up` flag of a config-file key (docs/config.md): camelCase to kebab-case, `peers` → `peer`. */
function flagOfKey(key: string): string {
  return key === "peers" ? "peer" : key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

Deno.test("flagOfKey() maps config keys to flag names", () => {
  assert.equal(flagOfKey("stateDir"), "state-dir");
  assert.equal(flagOfKey("shortcutPps"), "shortcut-pps");
  assert.equal(flagOfKey("peers"), "peer");
});

Deno.test("docs/packaging/ipop.json uses only `up` settings and parses as that command line", () => {
  const config = JSON.parse(readText("docs/packaging/ipop.json")) as Record<string, unknown>;
  const argv = ["up"];
  for (const [key, v] of Object.entries(config)) {
    const flag = flagOfKey(key);
    assert.match(USAGE, new RegExp(`\\n\\s+--${flag}\\b`), `--${flag} is an option in ipop help`);
    for (const item of Array.isArray(v) ? v : [v]) argv.push(`--${flag}`, String(item));
  }
  const secret = new TextEncoder().encode("example secret");
  const command = parseCommand(argv, { readFile: () => secret, env: () => ({}) });
  assert.equal(command.kind, "up");
  if (command.kind !== "up") return;
  assert.equal(command.config.stateDir, STATE_DIR);
  assert.equal(command.config.listen.port, DEFAULT_LISTEN_PORT);
  assert.equal(command.config.mtu, DEFAULT_MTU_BYTES);
  assert.equal(command.config.shortcutPps, DEFAULT_SHORTCUT_PPS);
  assert.equal(command.config.logLevel, DEFAULT_LOG_LEVEL);
  assert.equal(command.config.network, DEFAULT_NETWORK_NAME);
  assert.equal(config.subnet, DEFAULT_SUBNET_TEXT);
  assert.equal(command.config.bootstrap.length, 1);
});

// ---- docs ---------------------------------------------------------------------------------------

Deno.test("docs/running.md mentions every packaging file and the container's required flags", () => {
  const doc = readText("docs/running.md");
  const files = [
    "Dockerfile",
    ".dockerignore",
    "docs/packaging/ipop.service",
    "docs/packaging/ipop.json",
    "tests/unit/packaging_test.ts",
    "docs/config.md",
  ];
  for (const f of files) assert.ok(doc.includes(`\`${f}\``) || doc.includes(f), f);
  for (const flag of ["--cap-add NET_ADMIN", "--device /dev/net/tun", "-p 5800:5800/udp"]) {
    assert.ok(doc.includes(flag), flag);
  }
  for (const key of ["CapabilityBoundingSet=", "AmbientCapabilities", "DeviceAllow=/dev/net/tun"]) {
    assert.ok(doc.includes(key), key);
  }
  assert.ok(doc.includes("deno task run") && doc.includes("deno task compile"));
});
