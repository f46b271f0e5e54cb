/** The page of `ipop id`. */
import { HELP_ENTRY, option, paragraph } from "./_layout.ts";
import { UP_KEYS } from "../config_sources.ts";

/** `ipop id --help`. */
export const ID_HELP = `ipop id: print this node's public key

Usage:
  ipop id [--state-dir DIR]

${
  paragraph(
    `Prints the node's public key (base64), the identity other nodes name in --peer KEY@HOST:PORT.
  The key lives in DIR; on first use it is created there (DIR with mode 0700). The agent need
  not be running.`,
  )
}
Options:
${
  option(
    "--state-dir DIR",
    `The state directory, as given to "ipop up". Default: $${UP_KEYS.stateDir.env}; one of the
  two is required.`,
  )
}${HELP_ENTRY}
Exit status: 0 on success; 1 when the key cannot be read or created; 2 on a usage mistake.

Example:
  ipop id --state-dir /var/lib/ipop
`;
