/**
 * `ipop --help` and `ipop COMMAND --help`: run through `main()` in-process (stdout and stderr
 * captured from `console`), against the parser's own option tables, so a flag added to a parser
 * without a line on its help page fails here.
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import { CONFIG_ENV, UP_KEY_NAMES, UP_KEYS } from "../../lib/config/config_sources.ts";
import { exampleConfigJson } from "../../lib/config/config_file.ts";
import {
  COMMAND_OPTIONS,
  COMMAND_PATHS,
  type CommandPath,
  type OptionSpec,
} from "../../lib/config/command_table.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main(args)` with `console.log` and `console.error` captured. */
async function ipop(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => out.push(`${parts.map(String).join(" ")}\n`);
  console.error = (...parts: unknown[]) => err.push(`${parts.map(String).join(" ")}\n`);
  try {
    const code = await main(args);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** The help page of `path` as `ipop PATH --help` prints it; asserts exit 0 and a quiet stderr. */
async function helpOf(path: CommandPath, flag = "--help"): Promise<string> {
  const run = await ipop(...path.split(" "), flag);
  assert.equal(run.code, 0, `ipop ${path} ${flag}: ${run.stderr}`);
  assert.equal(run.stderr, "", `ipop ${path} ${flag} writes nothing on stderr`);
  assert.notEqual(run.stdout, "", `ipop ${path} ${flag} prints a page`);
  return run.stdout;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The entry of option `--name` on `page`: its line in the options list (`  --name ...` or
 * `  -s, --name ...`) and the indented lines under it; undefined when the page has none.
 */
function optionEntry(page: string, name: string, spec: OptionSpec): string | undefined {
  const short = spec.short === undefined ? "" : `-${escape(spec.short)}, `;
  const head = new RegExp(`^  ${short}--${escape(name)}(?=[ =\\n]|$)`);
  const lines = page.split("\n");
  const start = lines.findIndex((line) => head.test(line));
  if (start === -1) return undefined;
  const entry = [lines[start]!];
  for (const line of lines.slice(start + 1)) {
    if (!/^ {4,}\S/.test(line)) break;
    entry.push(line);
  }
  return entry.join("\n");
}

function readDoc(path: string): string {
  return Deno.readTextFileSync(new URL(`../../${path}`, import.meta.url));
}

Deno.test("help: every command's --help names every option its parser accepts", async () => {
  for (const path of COMMAND_PATHS) {
    const page = await helpOf(path);
    assert.match(page, new RegExp(`^ipop ${escape(path)}: `), `${path}: the page names itself`);
    for (const [name, spec] of Object.entries(COMMAND_OPTIONS[path])) {
      const entry = optionEntry(page, name, spec);
      assert.ok(entry !== undefined, `ipop ${path} --help lists --${name}`);
      assert.ok(entry.length > `  --${name}`.length + 10, `--${name} of ${path} is described`);
    }
  }
});

Deno.test("help: every page has usage, options, exit statuses and an example", async () => {
  for (const path of COMMAND_PATHS) {
    const page = await helpOf(path);
    assert.match(page, new RegExp(`^Usage:\\n  ipop ${escape(path)}\\b`, "m"), path);
    assert.match(page, /^Options:\n/m, `${path}: options`);
    assert.match(page, /^Exit status: 0\b/m, `${path}: exit statuses`);
    assert.match(page, /^Examples?:\n {2}(\S+=\S+ )?ipop /m, `${path}: an example`);
    for (const line of page.split("\n")) {
      assert.ok(line.length <= 100, `${path}: a line of at most 100 characters: ${line}`);
    }
  }
});

Deno.test("help: -h and `help COMMAND` print the same page as COMMAND --help", async () => {
  const seen = new Set<string>();
  for (const path of COMMAND_PATHS) {
    const page = await helpOf(path);
    assert.equal(await helpOf(path, "-h"), page, `${path} -h`);
    const viaHelp = await ipop("help", ...path.split(" "));
    assert.deepEqual(viaHelp, { code: 0, stdout: page, stderr: "" }, `help ${path}`);
    assert.equal((await ipop("--help", ...path.split(" "))).stdout, page, `--help ${path}`);
    assert.ok(!seen.has(page), `${path} has a page of its own`);
    seen.add(page);
  }
});

Deno.test("help: --help wins over any other argument, even broken ones", async () => {
  const cases: [string[], CommandPath][] = [
    [["up", "--mtu", "x", "--help"], "up"],
    [["up", "--mtu", "--help"], "up"],
    [["up", "--bogus", "-h"], "up"],
    [["up", "--state-dir", "/nonexistent", "--peer", "nonsense", "--help"], "up"],
    [["dht", "put", "k", "--help"], "dht put"],
    [["dht", "get", "--ttl", "5", "-h"], "dht get"],
    [["ping", "--json", "-h", "extra", "args"], "ping"],
    [["config", "check", "-h"], "config check"],
    [["config", "bogus", "--help"], "config"],
    [["--version", "--help"], "version"],
  ];
  for (const [args, path] of cases) {
    const run = await ipop(...args);
    assert.deepEqual(run, { code: 0, stdout: await helpOf(path), stderr: "" }, args.join(" "));
  }
});

Deno.test("help: the global page lists every command on one line and points at --help", async () => {
  const page = (await ipop("help")).stdout;
  assert.match(page, /^ipop: an IP-over-P2P VPN agent\n\nUsage:/);
  assert.match(page, /Run `ipop COMMAND --help` for a command's options/);
  for (const path of COMMAND_PATHS.filter((p) => p !== "dht" && p !== "config")) {
    assert.match(page, new RegExp(`^  ${escape(path)}\\b.* \\S.*$`, "m"), `${path} is listed`);
  }
  assert.doesNotMatch(page, /--secret-file/, "the global page leaves options to the commands");
  for (const args of [["--help"], ["-h"], ["help", "help"], ["help", "--json"]]) {
    assert.deepEqual(await ipop(...args), { code: 0, stdout: page, stderr: "" }, args.join(" "));
  }
  const bare = await ipop();
  assert.deepEqual(bare, { code: 2, stdout: "", stderr: page }, "no command: the page, exit 2");
});

Deno.test("help: each option of up names its variable and its config file key", async () => {
  const page = await helpOf("up");
  for (const key of UP_KEY_NAMES) {
    const { flag, env } = UP_KEYS[key];
    const entry = optionEntry(page, flag, COMMAND_OPTIONS.up[flag]!)!;
    assert.match(entry, new RegExp(`\\b${env}\\b`), `--${flag} names ${env}`);
    assert.match(entry, new RegExp(`\\bkey\\s+${key}\\b`), `--${flag} names key ${key}`);
    assert.match(entry, /\bDefault\b|\bRequired\b/, `--${flag} gives its default`);
  }
  const config = optionEntry(page, "config", COMMAND_OPTIONS.up.config!)!;
  assert.match(config, new RegExp(`\\b${CONFIG_ENV}\\b`));
  const environment = /^Environment: [^]*?\n\n/m.exec(page)?.[0] ?? "";
  for (const env of [...UP_KEY_NAMES.map((k) => UP_KEYS[k].env), CONFIG_ENV]) {
    assert.match(environment, new RegExp(`\\b${env}\\b`), `${env} in the Environment paragraph`);
  }
  assert.match(page, /^Precedence: flags > environment > config file > defaults/m);
});

Deno.test("help: every config file key is on the up page or in docs/config.md", async () => {
  const page = await helpOf("up");
  const docs = readDoc("docs/config.md");
  const keys = Object.keys(exampleConfigJson());
  assert.ok(keys.length >= UP_KEY_NAMES.length);
  for (const key of keys) {
    const onPage = new RegExp(`\\b${escape(key)}\\b`).test(page);
    assert.ok(onPage || docs.includes(`\`${key}\``), `config key ${key} is documented`);
  }
});

Deno.test("help: --state-dir names IPOP_STATE_DIR on every page that takes it", async () => {
  const env = UP_KEYS.stateDir.env;
  for (const path of COMMAND_PATHS) {
    const spec = COMMAND_OPTIONS[path]["state-dir"];
    if (spec === undefined) continue;
    const entry = optionEntry(await helpOf(path), "state-dir", spec)!;
    assert.match(entry, new RegExp(`\\b${env}\\b`), `${path}: --state-dir names ${env}`);
  }
});

Deno.test("help: a usage mistake is one stderr line ending with the command's help hint", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["up", "--state-dir", "/nonexistent", "--bogus"],
      /^Unknown option --bogus for "up"\. Run `ipop up --help`\.$/,
    ],
    [
      ["dht", "put", "k", "--state-dir", "/x"],
      /^dht put takes 2 arguments, got 1\. Run `ipop dht put --help`\.$/,
    ],
    [
      ["dht", "--state-dir", "/x"],
      /^dht needs "get KEY" or "put KEY VALUE"\. Run `ipop dht --help`\.$/,
    ],
    [
      ["config", "check"],
      /^config check takes one argument, got 0\. Run `ipop config check --help`\.$/,
    ],
    [
      ["status", "--state-dir", "/x", "--ttl", "5"],
      /^Unknown option --ttl for "status"\. Run `ipop status --help`\.$/,
    ],
    [["frobnicate"], /^Unknown command "frobnicate"\. Run `ipop --help`\.$/],
    [["stauts"], /^Unknown command "stauts" \(did you mean "status"\?\)\. Run `ipop --help`\.$/],
    [["help", "frobnicate"], /^Unknown command "frobnicate"\. Run `ipop --help`\.$/],
    [
      ["--state-dir", "/x", "id"],
      /^Expected a command before "--state-dir"\. Run `ipop --help`\.$/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const run = await ipop(...args);
    assert.equal(run.code, 2, args.join(" "));
    assert.equal(run.stdout, "", args.join(" "));
    const lines = run.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one line: ${run.stderr}`);
    assert.match(lines[0]!.replace(/^ipop: /, ""), pattern);
  }
});

Deno.test("help: a bad value is one line without the help hint", async () => {
  const run = await ipop("up", "--state-dir", "/nonexistent", "--mtu", "70000");
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^ipop: Bad --mtu "70000": [^\n]*\d\n$/);
});
