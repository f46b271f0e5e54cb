/**
 * The help of ipop: the global page (`ipop help`) and one page per command
 * (`ipop COMMAND --help`, `ipop help COMMAND`), written in lib/config/help/. Each command page
 * has its usage, what it does, every option its parser accepts (`COMMAND_OPTIONS`) with its
 * default and variable, its exit statuses and examples; tests/unit/help_test.ts holds them to it.
 */
import type { CommandPath, HelpTopic } from "./command_table.ts";
import { CONFIG_CHECK_HELP, CONFIG_EXAMPLE_HELP, CONFIG_HELP } from "./help/config_help.ts";
import { DOWN_HELP, PEERS_HELP, PING_HELP, STATUS_HELP } from "./help/control_help.ts";
import { DHT_GET_HELP, DHT_HELP, DHT_PUT_HELP, RESOLVE_HELP } from "./help/dht_help.ts";
import { GLOBAL_HELP, VERSION_HELP } from "./help/global_help.ts";
import { ID_HELP } from "./help/id_help.ts";
import { UP_HELP } from "./help/up_help.ts";

/** Every help page by topic, each ending in a newline, in the order of `ipop help`. */
export const HELP_PAGES: Readonly<Record<HelpTopic, string>> = {
  ipop: GLOBAL_HELP,
  up: UP_HELP,
  status: STATUS_HELP,
  peers: PEERS_HELP,
  ping: PING_HELP,
  resolve: RESOLVE_HELP,
  dht: DHT_HELP,
  "dht get": DHT_GET_HELP,
  "dht put": DHT_PUT_HELP,
  down: DOWN_HELP,
  id: ID_HELP,
  config: CONFIG_HELP,
  "config check": CONFIG_CHECK_HELP,
  "config example": CONFIG_EXAMPLE_HELP,
  version: VERSION_HELP,
};

/** The help page of `topic` ("ipop": the global page), ending in a newline. */
export function helpPage(topic: HelpTopic): string {
  return HELP_PAGES[topic];
}

/**
 * The hint that follows a usage mistake on the same line: "Run `ipop up --help`." for a mistake
 * in a known command, "Run `ipop --help`." otherwise.
 */
export function usageHint(command: CommandPath | undefined): string {
  return `Run \`ipop ${command === undefined ? "" : `${command} `}--help\`.`;
}

/** The whole manual: every page, the global one first, separated by blank lines. */
export const USAGE: string = Object.values(HELP_PAGES).join("\n");
