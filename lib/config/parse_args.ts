/**
 * The command line of ipop: `parseCommand(args)` turns argv (without the program name) into a
 * typed `Command`, or throws a one-line `ConfigError`. It does no I/O except reading the
 * `--secret-file` through the injected `readFile`, so it is tested without a process.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "./config_error.ts";
import { loadSecretPsk, noSecretPsk } from "./secret.ts";
import {
  checkDistinctPeers,
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MTU_BYTES,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SHORTCUT_PPS,
  parseBootstrap,
  parseListen,
  parseLogLevel,
  parseMtu,
  parsePeer,
  parseShortcutPps,
  parseTunName,
  resolveAddressAndSubnet,
  type UpConfig,
} from "./up_config.ts";
import { parseNetworkName } from "../dhcp/subnet.ts";

/** A parsed command line. `help.requested` is false when no command was given at all. */
export type Command =
  | { kind: "id"; stateDir: string }
  | { kind: "up"; config: UpConfig }
  | { kind: "status"; stateDir: string; json: boolean }
  | { kind: "dht-get"; stateDir: string; json: boolean; key: string }
  | { kind: "dht-put"; stateDir: string; json: boolean; key: string; value: string; ttl?: number }
  | { kind: "resolve"; stateDir: string; json: boolean; ip: string }
  | { kind: "help"; requested: boolean }
  | { kind: "version" };

/** The one piece of I/O parsing needs; tests pass a fake. */
export interface ParseIo {
  /** Reads a whole file; throws `Deno.errors.*` like `Deno.readFileSync`. */
  readFile(path: string): Uint8Array;
}

const realIo: ParseIo = { readFile: (path) => Deno.readFileSync(path) };

type OptionSpec = { type: "string" | "boolean"; multiple?: boolean; short?: string };

const HELP_OPTION: Record<string, OptionSpec> = { help: { type: "boolean", short: "h" } };
const STATE_DIR_OPTION: Record<string, OptionSpec> = { "state-dir": { type: "string" } };

const UP_OPTIONS: Record<string, OptionSpec> = {
  ...HELP_OPTION,
  ...STATE_DIR_OPTION,
  listen: { type: "string" },
  address: { type: "string" },
  network: { type: "string" },
  subnet: { type: "string" },
  peer: { type: "string", multiple: true },
  bootstrap: { type: "string", multiple: true },
  "secret-file": { type: "string" },
  tun: { type: "string" },
  mtu: { type: "string" },
  "shortcut-pps": { type: "string" },
  "log-level": { type: "string" },
};

/**
 * Parses ipop's command line. Throws `ConfigError` (one line, `seeHelp` set for shape mistakes)
 * for unknown commands and flags, missing or repeated values, and invalid values.
 */
export function parseCommand(args: readonly string[], io: ParseIo = realIo): Command {
  const [word, ...rest] = args;
  switch (word) {
    case undefined:
      return { kind: "help", requested: false };
    case "help":
    case "--help":
    case "-h":
      return { kind: "help", requested: true };
    case "version":
    case "--version":
    case "-V":
      return { kind: "version" };
    case "id": {
      const values = parseFlags("id", rest, { ...HELP_OPTION, ...STATE_DIR_OPTION });
      if (values.help) return { kind: "help", requested: true };
      return { kind: "id", stateDir: requireStateDir("id", values) };
    }
    case "status": {
      const values = parseFlags("status", rest, {
        ...HELP_OPTION,
        ...STATE_DIR_OPTION,
        json: { type: "boolean" },
      });
      if (values.help) return { kind: "help", requested: true };
      return { kind: "status", stateDir: requireStateDir("status", values), json: !!values.json };
    }
    case "dht":
      return parseDhtCommand(rest);
    case "resolve": {
      const { values, positionals } = parseFlagsAnd("resolve", rest, READ_OPTIONS, 1);
      if (values.help) return { kind: "help", requested: true };
      const [ip] = positionals;
      const stateDir = requireStateDir("resolve", values);
      return { kind: "resolve", stateDir, json: !!values.json, ip: ip! };
    }
    case "up": {
      const values = parseFlags("up", rest, UP_OPTIONS);
      if (values.help) return { kind: "help", requested: true };
      return { kind: "up", config: upConfigFrom(values, io) };
    }
    default:
      if (word.startsWith("-")) {
        throw new ConfigError(
          `Expected a command (id, up, status, dht, resolve) before "${word}"`,
          {
            seeHelp: true,
          },
        );
      }
      throw new ConfigError(`Unknown command "${word}"`, { seeHelp: true });
  }
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

const READ_OPTIONS: Record<string, OptionSpec> = {
  ...HELP_OPTION,
  ...STATE_DIR_OPTION,
  json: { type: "boolean" },
};

/** `dht get KEY` and `dht put KEY VALUE [--ttl SECONDS]`. */
function parseDhtCommand(args: readonly string[]): Command {
  const [verb, ...rest] = args;
  if (verb === "get") {
    const { values, positionals } = parseFlagsAnd("dht get", rest, READ_OPTIONS, 1);
    if (values.help) return { kind: "help", requested: true };
    const stateDir = requireStateDir("dht get", values);
    return { kind: "dht-get", stateDir, json: !!values.json, key: positionals[0]! };
  }
  if (verb === "put") {
    const options = { ...READ_OPTIONS, ttl: { type: "string" } } as const;
    const { values, positionals } = parseFlagsAnd("dht put", rest, options, 2);
    if (values.help) return { kind: "help", requested: true };
    const stateDir = requireStateDir("dht put", values);
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
  if (verb === "--help" || verb === "-h") return { kind: "help", requested: true };
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

/** Like `parseFlags`, with exactly `count` positional arguments (unless --help is given). */
function parseFlagsAnd(
  command: string,
  args: readonly string[],
  options: Record<string, OptionSpec>,
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
  if (!values.help && positionals.length !== count) {
    const what = count === 1 ? "one argument" : `${count} arguments`;
    throw new ConfigError(`${command} takes ${what}, got ${positionals.length}`, {
      seeHelp: true,
    });
  }
  return { values, positionals };
}

function upConfigFrom(values: Values, io: ParseIo): UpConfig {
  const stateDir = requireStateDir("up", values);
  const listen = parseListen(stringValue(values, "listen") ?? String(DEFAULT_LISTEN_PORT));
  const networkText = stringValue(values, "network");
  const network = networkText === undefined ? DEFAULT_NETWORK_NAME : parseNetworkName(networkText);
  const { address, subnet } = resolveAddressAndSubnet(
    stringValue(values, "address"),
    stringValue(values, "subnet"),
  );
  const peerTexts = (values.peer ?? []) as string[];
  const peers = peerTexts.map(parsePeer);
  checkDistinctPeers(peers);
  const bootstrap = ((values.bootstrap ?? []) as string[]).map(parseBootstrap);
  const secretFile = stringValue(values, "secret-file");
  const psk = secretFile === undefined ? noSecretPsk() : loadSecretPsk(secretFile, io.readFile);
  const tunText = stringValue(values, "tun");
  const mtuText = stringValue(values, "mtu");
  const shortcutText = stringValue(values, "shortcut-pps");
  const levelText = stringValue(values, "log-level");
  const config: UpConfig = {
    stateDir,
    listen,
    network,
    subnet,
    peers,
    bootstrap,
    psk,
    mtu: mtuText === undefined ? DEFAULT_MTU_BYTES : parseMtu(mtuText),
    shortcutPps: shortcutText === undefined ? DEFAULT_SHORTCUT_PPS : parseShortcutPps(shortcutText),
    logLevel: levelText === undefined ? DEFAULT_LOG_LEVEL : parseLogLevel(levelText),
  };
  if (address !== undefined) config.address = address;
  if (tunText !== undefined) config.tunName = parseTunName(tunText);
  return config;
}

function stringValue(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") {
    throw new ConfigError(`--${name} needs a value`, { seeHelp: true });
  }
  return v;
}

function requireStateDir(command: string, values: Values): string {
  const dir = stringValue(values, "state-dir");
  if (dir === undefined) {
    throw new ConfigError(`${command} needs --state-dir DIR`, { seeHelp: true });
  }
  return dir;
}

/** node:util parseArgs in strict mode, with its errors turned into one-line `ConfigError`s. */
function parseFlags(
  command: string,
  args: readonly string[],
  options: Record<string, OptionSpec>,
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
