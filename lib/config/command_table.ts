/**
 * The table of ipop's commands: each command's path ("dht get"), the options its parser accepts
 * (the help pages and their tests read the same table), and which command or help page an argv
 * names.
 */
import { ConfigError } from "./config_error.ts";
import { suggestName, UP_KEY_NAMES, UP_KEYS } from "./config_sources.ts";

/** One option of a command, as node:util `parseArgs` takes it. */
export type OptionSpec = { type: "string" | "boolean"; multiple?: boolean; short?: string };

/** A command of ipop, subcommand included ("dht get"); "dht" and "config" are the groups. */
export type CommandPath =
  | "id"
  | "up"
  | "status"
  | "dht"
  | "dht get"
  | "dht put"
  | "resolve"
  | "ping"
  | "peers"
  | "down"
  | "config"
  | "config check"
  | "config example"
  | "version";

/** A page of `ipop help`: a command's, or "ipop" for the global page. */
export type HelpTopic = CommandPath | "ipop";

const HELP_OPTION: Record<string, OptionSpec> = { help: { type: "boolean", short: "h" } };
const STATE_DIR_OPTION: Record<string, OptionSpec> = { "state-dir": { type: "string" } };
const READ_OPTIONS: Record<string, OptionSpec> = {
  ...HELP_OPTION,
  ...STATE_DIR_OPTION,
  json: { type: "boolean" },
};

/** The options of `up`: `--help`, `--config` and one flag per key of `UP_KEYS`. */
const UP_OPTIONS: Record<string, OptionSpec> = {
  ...HELP_OPTION,
  config: { type: "string" },
  ...Object.fromEntries(UP_KEY_NAMES.map((key): [string, OptionSpec] => {
    const { flag, kind } = UP_KEYS[key];
    return [flag, kind === "list" ? { type: "string", multiple: true } : { type: "string" }];
  })),
};

/**
 * The options each command accepts, exactly as its parser uses them (the help pages must name
 * every one; tests/unit/help_test.ts checks). The groups "dht" and "config" take only --help.
 */
export const COMMAND_OPTIONS: Readonly<Record<CommandPath, Readonly<Record<string, OptionSpec>>>> =
  {
    id: { ...HELP_OPTION, ...STATE_DIR_OPTION },
    up: UP_OPTIONS,
    status: READ_OPTIONS,
    dht: HELP_OPTION,
    "dht get": READ_OPTIONS,
    "dht put": { ...READ_OPTIONS, ttl: { type: "string" } },
    resolve: READ_OPTIONS,
    ping: READ_OPTIONS,
    peers: READ_OPTIONS,
    down: { ...HELP_OPTION, ...STATE_DIR_OPTION },
    config: HELP_OPTION,
    "config check": HELP_OPTION,
    "config example": HELP_OPTION,
    version: HELP_OPTION,
  };

/** Every command, in the order of `ipop help`. */
export const COMMAND_PATHS = Object.keys(COMMAND_OPTIONS) as CommandPath[];

/** Commands without subcommands, by their word. */
const SIMPLE_COMMANDS: ReadonlySet<string> = new Set(
  COMMAND_PATHS.filter((path) => !path.includes(" ") && path !== "dht" && path !== "config"),
);

/**
 * The command that `args` (argv without the program name) names, subcommand included when it is
 * a known one ("dht get"; "dht" for a missing or unknown verb), or undefined for no or an unknown
 * command. `--version` and `-V` name "version". Never throws.
 */
export function commandPathOf(args: readonly string[]): CommandPath | undefined {
  const [word, verb] = args;
  if (word === undefined) return undefined;
  if (word === "--version" || word === "-V") return "version";
  if (word === "dht") return verb === "get" || verb === "put" ? `dht ${verb}` : "dht";
  if (word === "config") {
    return verb === "check" || verb === "example" ? `config ${verb}` : "config";
  }
  return SIMPLE_COMMANDS.has(word) ? word as CommandPath : undefined;
}

/**
 * The help page that `args` ask for, or undefined when they do not ask for help: `help [COMMAND]`,
 * `--help`, `-h`, or a known command with `--help` or `-h` anywhere among its arguments (before a
 * `--`), whatever else is there. Throws `ConfigError` for `help` of an unknown command.
 */
export function helpTopicOf(args: readonly string[]): HelpTopic | undefined {
  const [word, ...rest] = args;
  if (word === "help" || word === "--help" || word === "-h") {
    const end = rest.findIndex((a) => a.startsWith("-"));
    const words = end === -1 ? rest : rest.slice(0, end);
    if (words.length === 0 || words[0] === "help") return "ipop";
    const path = commandPathOf(words);
    if (path === undefined) throw unknownCommand(words[0]!);
    return path;
  }
  const path = commandPathOf(args);
  if (path === undefined) return undefined;
  const end = rest.indexOf("--");
  const flags = end === -1 ? rest : rest.slice(0, end);
  return flags.some((a) => a === "--help" || a === "-h") ? path : undefined;
}

/** The error for an unknown command word, with a suggestion when one is close. */
export function unknownCommand(word: string): ConfigError {
  const hint = suggestName(word, [...SIMPLE_COMMANDS, "dht", "config", "help"], true);
  return new ConfigError(`Unknown command "${word}"${hint}`, { seeHelp: true });
}
