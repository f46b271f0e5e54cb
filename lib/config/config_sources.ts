/**
 * Where the settings of `ipop up` come from, and how they are combined and validated.
 *
 * Each source (a JSON config file, `IPOP_*` environment variables, command-line flags) yields
 * `Settings`: the raw text of each key it sets and where that text came from. Layers merge by
 * precedence, flags > environment > config file > defaults, one key at a time; a list (bootstrap,
 * peers) from a higher layer replaces the lower one's list whole. `resolveUpSettings` then runs
 * every value through the same parsers as the flags and collects every error, each one line
 * naming the key the way its source spells it (`--mtu`, `IPOP_MTU`, `"mtu" in FILE`).
 *
 * No I/O here except reading the secret file through the injected `readFile`.
 */
import { ConfigError } from "./config_error.ts";
import { loadSecretPsk, noSecretPsk } from "./secret.ts";
import {
  checkDistinctPeers,
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MTU_BYTES,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SHORTCUT_PPS,
  type InterfaceAddress,
  parseBootstrap,
  parseListen,
  parseLogFormat,
  parseLogLevel,
  parseMetricsListen,
  parseMtu,
  parsePeer,
  parseShortcutPps,
  parseTunName,
  type PeerConfig,
  resolveAddressAndSubnet,
  type UpConfig,
} from "./up_config.ts";
import { parseNetworkName, type Subnet } from "../dhcp/subnet.ts";
import type { Endpoint } from "../transport/endpoint.ts";

/** The JSON type of a key in the config file; `list` is an array of strings. */
export type KeyKind = "string" | "path" | "number" | "list";

/** One setting of `ipop up`, with its flag, its environment variable and its JSON type. */
export interface KeySpec {
  /** The long flag without dashes, e.g. "state-dir". */
  flag: string;
  /** The environment variable, e.g. "IPOP_STATE_DIR". */
  env: string;
  /** Its JSON type in a config file; `path` is a string resolved against the file's folder. */
  kind: KeyKind;
}

/** Every key of `ipop up`, camelCase as in the config file, in documentation order. */
export const UP_KEYS = {
  stateDir: { flag: "state-dir", env: "IPOP_STATE_DIR", kind: "path" },
  listen: { flag: "listen", env: "IPOP_LISTEN", kind: "string" },
  bootstrap: { flag: "bootstrap", env: "IPOP_BOOTSTRAP", kind: "list" },
  network: { flag: "network", env: "IPOP_NETWORK", kind: "string" },
  subnet: { flag: "subnet", env: "IPOP_SUBNET", kind: "string" },
  address: { flag: "address", env: "IPOP_ADDRESS", kind: "string" },
  peers: { flag: "peer", env: "IPOP_PEERS", kind: "list" },
  secretFile: { flag: "secret-file", env: "IPOP_SECRET_FILE", kind: "path" },
  tun: { flag: "tun", env: "IPOP_TUN", kind: "string" },
  mtu: { flag: "mtu", env: "IPOP_MTU", kind: "number" },
  shortcutPps: { flag: "shortcut-pps", env: "IPOP_SHORTCUT_PPS", kind: "number" },
  logLevel: { flag: "log-level", env: "IPOP_LOG_LEVEL", kind: "string" },
  metrics: { flag: "metrics", env: "IPOP_METRICS", kind: "string" },
  logFormat: { flag: "log-format", env: "IPOP_LOG_FORMAT", kind: "string" },
} as const satisfies Record<string, KeySpec>;

/** A key of `ipop up` settings. */
export type UpKey = keyof typeof UP_KEYS;

/** The keys of `UP_KEYS` as an array. */
export const UP_KEY_NAMES = Object.keys(UP_KEYS) as UpKey[];

/** The environment variable naming a config file (`--config` overrides it). */
export const CONFIG_ENV = "IPOP_CONFIG";

/** Environment variables with this prefix belong to the test suite and are ignored. */
export const TEST_ENV_PREFIX = "IPOP_TEST_";

/**
 * `IPOP_*` variables that are not settings and are ignored: `IPOP_ARGS` carries extra flags
 * into the systemd unit's command line (docs/packaging/ipop.service) and stays in its environment.
 */
export const IGNORED_ENV: ReadonlySet<string> = new Set(["IPOP_ARGS"]);

/** Where a setting came from. */
export type Origin = { kind: "flag" } | { kind: "env" } | { kind: "file"; path: string };

/** A raw setting: text (a list for list keys) and its origin. */
export interface Setting {
  /** The text as given (numbers from a config file as decimal text). */
  value: string | string[];
  /** Where it came from, for messages. */
  origin: Origin;
}

/** The raw settings of one source, or of several merged; absent keys are unset. */
export type Settings = Partial<Record<UpKey, Setting>>;

/** Merges layers given lowest precedence first: a key set in a later layer wins whole. */
export function mergeSettings(...layers: Settings[]): Settings {
  return Object.assign({}, ...layers);
}

/**
 * Reads the `IPOP_*` variables of `env` into settings. List variables are comma-separated
 * (empty: an empty list, which still replaces a config file's list); an empty scalar is an error.
 * Unknown `IPOP_*` names are errors (except `IPOP_TEST_*` and `IGNORED_ENV`); other variables
 * are ignored.
 * `configPath` is the value of `IPOP_CONFIG`.
 */
export function settingsFromEnv(
  env: Readonly<Record<string, string>>,
): { settings: Settings; configPath?: string; errors: ConfigError[] } {
  const settings: Settings = {};
  const errors: ConfigError[] = [];
  let configPath: string | undefined;
  const byEnv = new Map<string, UpKey>(UP_KEY_NAMES.map((k) => [UP_KEYS[k].env, k]));
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("IPOP_") || name.startsWith(TEST_ENV_PREFIX)) continue;
    if (IGNORED_ENV.has(name)) continue;
    const text = env[name]!;
    const key = byEnv.get(name);
    if (name === CONFIG_ENV || key === undefined) {
      if (name !== CONFIG_ENV) {
        const hint = suggestName(name, [...byEnv.keys(), CONFIG_ENV]);
        errors.push(new ConfigError(`Unknown environment variable ${name}${hint}`));
      } else if (text.trim() === "") errors.push(new ConfigError(`${name} is set but empty`));
      else configPath = text;
      continue;
    }
    if (UP_KEYS[key].kind === "list") {
      const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
      settings[key] = { value: items, origin: { kind: "env" } };
    } else if (text.trim() === "") {
      errors.push(new ConfigError(`${name} is set but empty`));
    } else settings[key] = { value: text, origin: { kind: "env" } };
  }
  return { settings, configPath, errors };
}

/**
 * " (did you mean "X"?)" when `name` is close to one of `known` (same letters ignoring case,
 * "-" and "_", or at most two edits away), else "". `quote` wraps the suggestion.
 */
export function suggestName(name: string, known: readonly string[], quote = false): string {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = squash(k) === squash(name) ? 0 : editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  if (best === undefined) return "";
  return ` (did you mean ${quote ? `"${best}"` : best}?)`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + cost));
    }
    row = next;
  }
  return row[b.length]!;
}

/** The outcome of validating settings: a config when `errors` is empty. */
export interface ResolvedSettings {
  /** The validated config; absent when there are errors. */
  config?: UpConfig;
  /** The secret file used, as given after path resolution (for display; never its contents). */
  secretFile?: string;
  /** Every problem found, one line each, in key order. */
  errors: ConfigError[];
}

/**
 * Validates merged settings with the flag parsers, filling in defaults, and collects every error
 * instead of stopping at the first. Reads the secret file (if any) with `readFile`. Errors in
 * flag values keep the flag parsers' own messages; others name the variable or the file's key.
 * `badKeys` were already reported (mistyped in a file): no error is added for their absence.
 */
export function resolveUpSettings(
  settings: Settings,
  readFile: (path: string) => Uint8Array,
  badKeys: ReadonlySet<UpKey> = new Set(),
): ResolvedSettings {
  const errors: ConfigError[] = [];
  const attempt = <T>(key: UpKey, text: string, fn: () => T, index?: number): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(relabel(err, key, settings, text, index));
      return undefined;
    }
  };
  const text = (key: UpKey): string | undefined => {
    const v = settings[key]?.value;
    return typeof v === "string" ? v : undefined;
  };
  const list = (key: UpKey): string[] => {
    const v = settings[key]?.value;
    return Array.isArray(v) ? v : [];
  };
  const optional = <T>(key: UpKey, fn: (t: string) => T, fallback: T): T | undefined => {
    const t = text(key);
    return t === undefined ? fallback : attempt(key, t, () => fn(t));
  };

  const stateDir = text("stateDir");
  if (stateDir === undefined && !badKeys.has("stateDir")) {
    errors.push(
      new ConfigError(
        `up needs --state-dir DIR (or ${UP_KEYS.stateDir.env}, or "stateDir" in a --config file)`,
        { seeHelp: true },
      ),
    );
  }
  const listen = optional("listen", parseListen, parseListen(String(DEFAULT_LISTEN_PORT)));
  const bootstrap = list("bootstrap").map((t, i) =>
    attempt("bootstrap", t, () => parseBootstrap(t), i)
  );
  const network = optional("network", parseNetworkName, DEFAULT_NETWORK_NAME);
  const addressing = badKeys.has("address") || badKeys.has("subnet")
    ? undefined
    : resolveAddressing(settings, errors);
  const peers = list("peers").map((t, i) => attempt("peers", t, () => parsePeer(t), i));
  if (peers.every((p) => p !== undefined)) {
    attempt("peers", "", () => checkDistinctPeers(peers as PeerConfig[]));
  }
  const secretFile = text("secretFile");
  const psk = secretFile === undefined
    ? noSecretPsk()
    : attempt("secretFile", secretFile, () => loadSecretPsk(secretFile, readFile));
  const tunName = optional<string | undefined>("tun", parseTunName, undefined);
  const mtu = optional("mtu", parseMtu, DEFAULT_MTU_BYTES);
  const shortcutPps = optional("shortcutPps", parseShortcutPps, DEFAULT_SHORTCUT_PPS);
  const logLevel = optional("logLevel", parseLogLevel, DEFAULT_LOG_LEVEL);
  const logFormat = optional("logFormat", parseLogFormat, "text" as const);
  const metricsText = text("metrics");
  const metrics = metricsText === undefined
    ? undefined
    : attempt("metrics", metricsText, () => parseMetricsListen(metricsText));

  const resolved: ResolvedSettings = { errors };
  if (secretFile !== undefined) resolved.secretFile = secretFile;
  if (
    errors.length > 0 || stateDir === undefined || listen === undefined ||
    network === undefined || addressing === undefined || psk === undefined ||
    mtu === undefined || shortcutPps === undefined || logLevel === undefined ||
    logFormat === undefined
  ) return resolved;
  const config: UpConfig = {
    stateDir,
    listen,
    network,
    subnet: addressing.subnet,
    peers: peers as PeerConfig[],
    bootstrap: bootstrap as Endpoint[],
    psk,
    mtu,
    shortcutPps,
    logLevel,
    logFormat,
  };
  if (addressing.address !== undefined) config.address = addressing.address;
  if (tunName !== undefined) config.tunName = tunName;
  if (metrics !== undefined) config.metrics = metrics;
  resolved.config = config;
  return resolved;
}

/** `resolveAddressAndSubnet` with its error relabelled for whichever of the two it names. */
function resolveAddressing(
  settings: Settings,
  errors: ConfigError[],
): { address?: InterfaceAddress; subnet: Subnet } | undefined {
  const address = settings.address?.value as string | undefined;
  const subnet = settings.subnet?.value as string | undefined;
  try {
    return resolveAddressAndSubnet(address, subnet);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const key = err.message.startsWith("Bad --address ") ? "address" : "subnet";
    errors.push(relabel(err, key, settings, (key === "address" ? address : subnet) ?? ""));
    return undefined;
  }
}

/** How a message names `key` as set in `origin`, short form: `--mtu`, `IPOP_MTU`, `"mtu"`. */
function shortName(key: UpKey, origin: Origin | undefined): string {
  if (origin === undefined || origin.kind === "flag") return `--${UP_KEYS[key].flag}`;
  return origin.kind === "env" ? UP_KEYS[key].env : `"${key}"`;
}

/**
 * Rewrites a flag parser's message (`Bad --mtu "TEXT": why`) to name the key as its source does:
 * `Bad IPOP_MTU "TEXT": why` or `Bad "mtu" value "TEXT" in FILE: why` (`"peers"[1]` for an item of
 * a file's list). Other messages get the key as a prefix. Flag errors are returned unchanged.
 */
function relabel(
  err: ConfigError,
  key: UpKey,
  settings: Settings,
  text: string,
  index?: number,
): ConfigError {
  const origin = settings[key]?.origin;
  if (origin === undefined || origin.kind === "flag") return err;
  const prefix = `Bad --${UP_KEYS[key].flag} "${text}": `;
  let why: string | undefined;
  if (err.message.startsWith(prefix)) {
    why = err.message.slice(prefix.length);
    if (key === "address") {
      why = why.replaceAll("--subnet", shortName("subnet", settings.subnet?.origin ?? origin));
    }
  }
  let message: string;
  if (origin.kind === "env") {
    message = why === undefined
      ? `${UP_KEYS[key].env}: ${err.message}`
      : `Bad ${UP_KEYS[key].env} "${text}": ${why}`;
  } else {
    const item = index === undefined ? "" : `[${index}]`;
    message = why === undefined
      ? `"${key}" in ${origin.path}: ${err.message}`
      : `Bad "${key}"${item} value "${text}" in ${origin.path}: ${why}`;
  }
  return new ConfigError(message, { cause: err });
}
