/** The pages of the config file commands: config, config check, config example. */
import { HELP_ENTRY, paragraph } from "./_layout.ts";
import { MAX_CONFIG_FILE_BYTES } from "../config_file.ts";

/** `ipop config --help`. */
export const CONFIG_HELP = `ipop config: check or write the config file of "up"

Usage:
  ipop config check FILE
  ipop config example

${
  paragraph(
    `"ipop up" reads its settings from flags, IPOP_* variables and a JSON config file (--config
    FILE or IPOP_CONFIG); docs/config.md describes every key. Run "ipop config check --help" or
    "ipop config example --help" for more.`,
  )
}
Options:
${HELP_ENTRY}
Exit status: 0 for --help; 2 on a usage mistake (a missing or unknown verb).

Examples:
  ipop config example > /etc/ipop/ipop.json
  ipop config check /etc/ipop/ipop.json
`;

/** `ipop config check --help`. */
export const CONFIG_CHECK_HELP = `ipop config check: validate a config file

Usage:
  ipop config check FILE

${
  paragraph(
    `Validates FILE (one JSON object, at most ${MAX_CONFIG_FILE_BYTES / 1024} KiB) as "ipop up"
    would, but without flags and environment: prints "FILE: ok" and the effective config, every
    key at its value or default, or else every error, one line each. Unlike "up", which stops at
    the first mistake, it lists them all. The secret file, if named, is read to check it; its
    contents are never printed.`,
  )
}
Options:
${HELP_ENTRY}
${
  paragraph(
    `Exit status: 0 when the file is valid; 2 when it is not (or cannot be read), or on a usage
    mistake.`,
  )
}
Examples:
  ipop config check /etc/ipop/ipop.json
  ipop config example > ipop.json && ipop config check ipop.json
`;

/** `ipop config example --help`. */
export const CONFIG_EXAMPLE_HELP = `ipop config example: print an example config file

Usage:
  ipop config example

${
  paragraph(
    `Prints a config file of "ipop up" with every key at its default (null: unset) and an
    example stateDir, ready to edit. docs/config.md describes each key.`,
  )
}
Options:
${HELP_ENTRY}
Exit status: 0; 2 on a usage mistake.

Example:
  ipop config example > /etc/ipop/ipop.json
`;
