/**
 * The command line of ipop: `parseCommand(args)` turns argv (without the program name) into a
 * typed `Command`, or throws a one-line `ConfigError`. It does no I/O except reading the
 * `--config` and `--secret-file` files and the environment through the injected `ParseIo`, so it
 * is tested without a process. `up` combines flags > `IPOP_*` environment > config file >
 * defaults (see config_sources.ts); the other commands read only `IPOP_STATE_DIR` from the
 * environment, when `--state-dir` is not given.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "./config_error.ts";
import { readConfigFile } from "./config_file.ts";
import {
  COMMAND_OPTIONS,
  commandPathOf,
  helpTopicOf,
  type OptionSpec,
  unknownCommand,
} from "./command_table.ts";
import {
  mergeSettings,
  resolveUpSettings,
  type Settings,
  settingsFromEnv,
  UP_KEY_NAMES,
  UP_KEYS,
} from "./config_sources.ts";
import type { UpConfig } from "./up_config.ts";

/** A parsed command line. `help.requested` is false when no command was given at all. */
export type Command =
  | { kind: "id"; stateDir: string }
  | { kind: "up"; config: UpConfig }
  | { kind: "status"; stateDir: string; json: boolean }
  | { kind: "dht-get"; stateDir: string; json: boolean; key: string }
  | { kind: "dht-put"; stateDir: string; json: boolean; key: string; value: string; ttl?: number }
  | { kind: "resolve"; stateDir: string; json: boolean; ip: string }
  | { kind: "ping"; stateDir: string; json: boolean; ip: string }
  | { kind: "peers"; stateDir: string; json: boolean }
  | { kind: "down"; stateDir: string }
  | { kind: "config-check"; path: string }
  | { kind: "config-example" }
  | { kind: "help"; requested: boolean }
  | { kind: "version" };

/** The I/O parsing needs; tests pass a fake. */
export interface ParseIo {
  /** Reads a whole file; throws `Deno.errors.*` like `Deno.readFileSync`. */
  readFile(path: string): Uint8Array;
  /** The process environment; absent: an empty one. May throw `ConfigError`. */
  env?(): Record<string, string>;
}

const realIo: ParseIo = {
  readFile: (path) => Deno.readFileSync(path),
  env() {
    try {
      return Deno.env.toObject();
    } catch (err) {
      throw new ConfigError("Cannot read the environment: run with --allow-env", { cause: err });
    }
  },
};

/**
 * Parses ipop's command line. A request for help (see `helpTopicOf`) wins over everything else
 * and gives `{ kind: "help", requested: true }`; no arguments at all give `requested: false`.
 * Throws `ConfigError` (one line, `seeHelp` set for shape mistakes) for unknown commands and
 * flags, missing or repeated values, and invalid values.
 */
export function parseCommand(args: readonly string[], io: ParseIo = realIo): Command {
  const [word, ...rest] = args;
  if (word === undefined) return { kind: "help", requested: false };
  if (helpTopicOf(args) !== undefined) return { kind: "help", requested: true };
  const path = commandPathOf(args);
  switch (path) {
    case "version":
      return { kind: "version" };
    case "id":
    case "down": {
      const values = parseFlags(path, rest, COMMAND_OPTIONS[path]);
      return { kind: path, stateDir: requireStateDir(path, values, io) };
    }
    case "status":
    case "peers": {
      const values = parseFlags(path, rest, COMMAND_OPTIONS[path]);
      return { kind: path, stateDir: requireStateDir(path, values, io), json: !!values.json };
    }
    case "resolve":
    case "ping": {
      const { values, positionals } = parseFlagsAnd(path, rest, COMMAND_OPTIONS[path], 1);
      const stateDir = requireStateDir(path, values, io);
      return { kind: path, stateDir, json: !!values.json, ip: positionals[0]! };
    }
    case "dht":
    case "dht get":
    case "dht put":
      return parseDhtCommand(rest, io);
    case "config":
    case "config check":
    case "config example":
      return parseConfigCommand(rest);
    case "up": {
      const values = parseFlags("up", rest, COMMAND_OPTIONS.up);
      return { kind: "up", config: upConfigFrom(values, io) };
    }
    case undefined:
      if (word.startsWith("-")) {
        throw new ConfigError(`Expected a command before "${word}"`, { seeHelp: true });
      }
      throw unknownCommand(word);
  }
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** `dht get KEY` and `dht put KEY VALUE [--ttl SECONDS]`. */
function parseDhtCommand(args: readonly string[], io: ParseIo): Command {
  const [verb, ...rest] = args;
  if (verb === "get") {
    const { values, positionals } = parseFlagsAnd("dht get", rest, COMMAND_OPTIONS["dht get"], 1);
    const stateDir = requireStateDir("dht get", values, io);
    return { kind: "dht-get", stateDir, json: !!values.json, key: positionals[0]! };
  }
  if (verb === "put") {
    const { values, positionals } = parseFlagsAnd("dht put", rest, COMMAND_OPTIONS["dht put"], 2);
    const stateDir = requireStateDir("dht put", values, io);
    const ttlText = stringValue(values, "ttl");
    const command: Command = {
      kind: "dht-put",
      stateDir,
      json: !!values.json,
      key: positionals[0]!,
      value: positionals[1]!,
    };
    if (ttlText !== undefined) command.ttl = parseTtl(ttlText);
    return command;
  }
  throw new ConfigError(`dht needs "get KEY" or "put KEY VALUE"`, { seeHelp: true });
}

/** Largest `--ttl` of `dht put`, in seconds (one day, the DHT's limit). */
export const MAX_PUT_TTL_SECONDS = 86_400;

function parseTtl(text: string): number {
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_PUT_TTL_SECONDS)) {
    throw new ConfigError(`Bad --ttl "${text}": expected 1 to ${MAX_PUT_TTL_SECONDS} seconds`);
  }
  return n;
}

/** Like `parseFlags`, with exactly `count` positional arguments. */
function parseFlagsAnd(
  command: string,
  args: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
  count: number,
): { values: Values; positionals: string[] } {
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("-") && a !== "-") {
      flags.push(a);
      const name = a.replace(/^--?/, "");
      const spec = options[name];
      if (spec?.type === "string" && !a.includes("=") && i + 1 < args.length) {
        flags.push(args[++i]!);
      }
    } else positionals.push(a);
  }
  const values = parseFlags(command, flags, options);
  if (positionals.length !== count) {
    const what = count === 1 ? "one argument" : `${count} arguments`;
    throw new ConfigError(`${command} takes ${what}, got ${positionals.length}`, {
      seeHelp: true,
    });
  }
  return { values, positionals };
}

/** `config check FILE` and `config example`. */
function parseConfigCommand(args: readonly string[]): Command {
  const [verb, ...rest] = args;
  if (verb === "check") {
    const { positionals } = parseFlagsAnd("config check", rest, COMMAND_OPTIONS["config check"], 1);
    return { kind: "config-check", path: positionals[0]! };
  }
  if (verb === "example") {
    parseFlags("config example", rest, COMMAND_OPTIONS["config example"]);
    return { kind: "config-example" };
  }
  throw new ConfigError(`config needs "check FILE" or "example"`, { seeHelp: true });
}

/**
 * The `UpConfig` of flags, environment and config file (`--config`, else `IPOP_CONFIG`). Throws
 * the first problem found; `ipop config check` lists them all for a file.
 */
function upConfigFrom(values: Values, io: ParseIo): UpConfig {
  const flags: Settings = {};
  for (const key of UP_KEY_NAMES) {
    const { flag, kind } = UP_KEYS[key];
    if (kind === "list") {
      const items = values[flag] as string[] | undefined;
      if (items !== undefined) flags[key] = { value: items, origin: { kind: "flag" } };
    } else {
      const text = stringValue(values, flag);
      if (text !== undefined) flags[key] = { value: text, origin: { kind: "flag" } };
    }
  }
  const env = settingsFromEnv(io.env?.() ?? {});
  const configPath = stringValue(values, "config") ?? env.configPath;
  const file = configPath === undefined ? undefined : readConfigFile(configPath, io.readFile);
  const first = env.errors[0] ?? file?.errors[0];
  if (first !== undefined) throw first;
  const merged = mergeSettings(file?.settings ?? {}, env.settings, flags);
  const resolved = resolveUpSettings(merged, io.readFile);
  if (resolved.errors[0] !== undefined) throw resolved.errors[0];
  return resolved.config!;
}

function stringValue(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") {
    throw new ConfigError(`--${name} needs a value`, { seeHelp: true });
  }
  return v;
}

/** `--state-dir`, else a non-empty `IPOP_STATE_DIR`. */
function requireStateDir(command: string, values: Values, io: ParseIo): string {
  const dir = stringValue(values, "state-dir");
  if (dir !== undefined) return dir;
  const env = io.env?.()[UP_KEYS.stateDir.env];
  if (env !== undefined && env !== "") return env;
  throw new ConfigError(`${command} needs --state-dir DIR (or ${UP_KEYS.stateDir.env})`, {
    seeHelp: true,
  });
}

/** node:util parseArgs in strict mode, with its errors turned into one-line `ConfigError`s. */
function parseFlags(
  command: string,
  args: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
): Values {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
  } catch (err) {
    throw new ConfigError(describeParseError(command, err), { seeHelp: true, cause: err });
  }
  const counts = new Map<string, number>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option" || options[token.name]?.multiple) continue;
    const n = (counts.get(token.name) ?? 0) + 1;
    counts.set(token.name, n);
    if (n > 1) throw new ConfigError(`--${token.name} is given more than once`, { seeHelp: true });
  }
  return parsed.values as Values;
}

function describeParseError(command: string, err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /'([^'\s]+)/.exec(message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option ${quoted} for "${command}"`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument "${quoted}" for "${command}"`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (message.includes("does not take an argument")) return `${quoted} takes no value`;
      if (message.includes("ambiguous")) {
        return `${quoted} needs a value (write ${quoted}=VALUE for a value starting with "-")`;
      }
      return `${quoted} needs a value`;
    default:
      return message.split("\n")[0] ?? "Bad arguments";
  }
}
