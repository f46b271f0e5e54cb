/**
 * The JSON config file of `ipop up` (`--config FILE` or `IPOP_CONFIG`), documented key by key in
 * docs/config.md:
 *
 *   { "stateDir": "/var/lib/ipop", "listen": "0.0.0.0:5800", "bootstrap": ["udp://..."],
 *     "network": "ipop", "subnet": "100.64.0.0/16", "address": null, "peers": ["KEY@HOST:PORT"],
 *     "secretFile": null, "tun": null, "mtu": 1376, "shortcutPps": 2, "logLevel": "info" }
 *
 * One JSON object; keys are the `up` flags in camelCase; `null` means "not set here" (the default,
 * or a lower source, applies). Unknown keys and wrong JSON types are errors naming the key; the
 * values themselves are validated later by `resolveUpSettings`, with the flags' parsers. The paths
 * `stateDir` and `secretFile` are relative to the file's folder. The reader is bounded: files over
 * `MAX_CONFIG_FILE_BYTES` are refused before parsing. No I/O except through `readFile`.
 */
import { dirname, isAbsolute, join } from "node:path";
import { ConfigError } from "./config_error.ts";
import {
  type ResolvedSettings,
  resolveUpSettings,
  type Settings,
  suggestName,
  UP_KEY_NAMES,
  UP_KEYS,
  type UpKey,
} from "./config_sources.ts";
import {
  DEFAULT_LISTEN_HOST,
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MTU_BYTES,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SHORTCUT_PPS,
  DEFAULT_SUBNET_TEXT,
  type UpConfig,
} from "./up_config.ts";
import { formatSubnet } from "../dhcp/subnet.ts";
import { formatEndpoint } from "../transport/endpoint.ts";
import { encodeKey } from "../identity/key_text.ts";

/** Largest config file accepted, in bytes. */
export const MAX_CONFIG_FILE_BYTES = 64 * 1024;

/** The state dir shown by `ipop config example` (the key has no default: it is required). */
export const EXAMPLE_STATE_DIR = "/var/lib/ipop";

/** A config file's contents as plain JSON values, in the key order of `UP_KEYS`. */
export type ConfigJson = Record<UpKey, string | number | string[] | null>;

/** The settings of one config file and every problem found in it (one line each). */
export interface FileSettings {
  /** Settings of the keys that were well typed; origin `{ kind: "file", path }`. */
  settings: Settings;
  /** Read, JSON, unknown-key and type errors. */
  errors: ConfigError[];
  /** Keys that are present but mistyped (left out of `settings`). */
  badKeys: Set<UpKey>;
  /** True when the file could not be read or parsed at all. */
  unreadable: boolean;
}

/**
 * Reads and parses the config file at `path` with `readFile` (which throws `Deno.errors.*` like
 * `Deno.readFileSync`). Never throws a `ConfigError`: problems are returned in `errors`.
 */
export function readConfigFile(
  path: string,
  readFile: (path: string) => Uint8Array,
): FileSettings {
  let bytes: Uint8Array;
  try {
    bytes = readFile(path);
  } catch (err) {
    return unreadable(new ConfigError(describeReadFailure(path, err), { cause: err }));
  }
  if (bytes.length > MAX_CONFIG_FILE_BYTES) {
    const limit = `${MAX_CONFIG_FILE_BYTES / 1024} KiB`;
    return unreadable(new ConfigError(`Config file ${path} is larger than ${limit}`));
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    return unreadable(new ConfigError(`Config file ${path} is not UTF-8 text`, { cause: err }));
  }
  return parseConfigText(text, path);
}

/** Parses a config file's text; `path` names it in messages and anchors relative paths. */
export function parseConfigText(text: string, path: string): FileSettings {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const message = `Config file ${path} is not valid JSON: ${oneLine(why)}`;
    return unreadable(new ConfigError(message, { cause: err }));
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const what = jsonType(json);
    return unreadable(new ConfigError(`Config file ${path} must hold a JSON object, not ${what}`));
  }
  const settings: Settings = {};
  const errors: ConfigError[] = [];
  const badKeys = new Set<UpKey>();
  const origin = { kind: "file", path } as const;
  for (const [name, value] of Object.entries(json)) {
    if (!Object.hasOwn(UP_KEYS, name)) {
      const hint = suggestName(name, UP_KEY_NAMES, true);
      errors.push(new ConfigError(`Unknown key "${oneLine(name)}" in ${path}${hint}`));
      continue;
    }
    const key = name as UpKey;
    if (value === null) continue;
    const bad = (expected: string, got = jsonType(value)) => {
      badKeys.add(key);
      errors.push(new ConfigError(`Key "${key}" in ${path}: expected ${expected}, got ${got}`));
    };
    switch (UP_KEYS[key].kind) {
      case "string":
      case "path":
        if (typeof value !== "string") bad("a string");
        else if (value === "") bad("a non-empty string", "an empty one");
        else {
          const resolved = UP_KEYS[key].kind === "path" ? relativeTo(path, value) : value;
          settings[key] = { value: resolved, origin };
        }
        break;
      case "number":
        if (typeof value !== "number") bad("a number");
        else settings[key] = { value: String(value), origin };
        break;
      case "list": {
        if (!Array.isArray(value)) {
          bad("an array of strings");
          break;
        }
        const wrong = value.findIndex((item) => typeof item !== "string");
        if (wrong >= 0) bad("an array of strings", `${jsonType(value[wrong])} at [${wrong}]`);
        else settings[key] = { value: value as string[], origin };
        break;
      }
    }
  }
  return { settings, errors, badKeys, unreadable: false };
}

function unreadable(error: ConfigError): FileSettings {
  return { settings: {}, errors: [error], badKeys: new Set(), unreadable: true };
}

/** What `ipop config check` found: `resolveUpSettings` of the file alone. */
export type ConfigCheck = ResolvedSettings;

/**
 * Validates the config file at `path` as `ipop up --config path` would with no flags and no
 * environment: every error, one line each, or the config.
 */
export function checkConfigFile(
  path: string,
  readFile: (path: string) => Uint8Array,
): ConfigCheck {
  const file = readConfigFile(path, readFile);
  if (file.unreadable) return { errors: file.errors };
  const resolved = resolveUpSettings(file.settings, readFile, file.badKeys);
  if (file.errors.length === 0) return resolved;
  return { errors: [...file.errors, ...resolved.errors] };
}

/**
 * A validated config as config-file JSON, every key present, in canonical form (listen with its
 * host, address with its prefix). The network secret is never shown: only its file's path.
 */
export function configToJson(config: UpConfig, secretFile?: string): ConfigJson {
  return {
    stateDir: config.stateDir,
    listen: formatEndpoint(config.listen),
    bootstrap: config.bootstrap.map((ep) => `udp://${formatEndpoint(ep)}`),
    network: config.network,
    subnet: formatSubnet(config.subnet),
    address: config.address === undefined ? null : `${config.address.ip}/${config.address.prefix}`,
    peers: config.peers.map((p) => `${encodeKey(p.publicKey)}@${formatEndpoint(p.endpoint)}`),
    secretFile: secretFile ?? null,
    tun: config.tunName ?? null,
    mtu: config.mtu,
    shortcutPps: config.shortcutPps,
    logLevel: config.logLevel,
    metrics: config.metrics === undefined ? null : formatEndpoint(config.metrics),
    logFormat: config.logFormat,
  };
}

/** The config of `ipop config example`: every key at its default (`null`: unset). */
export function exampleConfigJson(): ConfigJson {
  return {
    stateDir: EXAMPLE_STATE_DIR,
    listen: `${DEFAULT_LISTEN_HOST}:${DEFAULT_LISTEN_PORT}`,
    bootstrap: [],
    network: DEFAULT_NETWORK_NAME,
    subnet: DEFAULT_SUBNET_TEXT,
    address: null,
    peers: [],
    secretFile: null,
    tun: null,
    mtu: DEFAULT_MTU_BYTES,
    shortcutPps: DEFAULT_SHORTCUT_PPS,
    logLevel: DEFAULT_LOG_LEVEL,
    metrics: null,
    logFormat: "text",
  };
}

/** `value` relative to the folder of the config file at `filePath`, unless absolute. */
function relativeTo(filePath: string, value: string): string {
  return isAbsolute(value) ? value : join(dirname(filePath), value);
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return typeof value;
}

/** The first line of `text`, at most 120 characters. */
function oneLine(text: string): string {
  const line = text.split(/\r?\n/)[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

function describeReadFailure(path: string, err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return `Config file ${path} does not exist`;
  if (err instanceof Deno.errors.PermissionDenied) {
    return `Cannot read config file ${path}: permission denied`;
  }
  if (err instanceof Deno.errors.IsADirectory) return `Config file ${path} is a directory`;
  if (err instanceof Deno.errors.NotCapable) {
    return `Cannot read config file ${path}: run with --allow-read`;
  }
  const why = err instanceof Error ? err.message : String(err);
  return `Cannot read config file ${path}: ${oneLine(why)}`;
}
