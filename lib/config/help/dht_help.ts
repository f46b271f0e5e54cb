/** The pages of the DHT commands: dht, dht get, dht put, resolve. */
import {
  AGENT_EXIT_LINE,
  HELP_ENTRY,
  JSON_ENTRY,
  option,
  paragraph,
  STATE_DIR_ENTRY,
} from "./_layout.ts";
import { DEFAULT_PUT_TTL_SECONDS } from "../../agent/agent_control.ts";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "../../dht/dht_record.ts";
import { MAX_PUT_TTL_SECONDS } from "../parse_args.ts";

/** The exit status paragraph, with what counts as success. */
function dhtExit(success: string): string {
  return paragraph(
    `Exit status: 0 when ${success}; 1 when the DHT failed (e.g. no quorum, rejected); ${AGENT_EXIT_LINE}`,
  );
}

/** `ipop dht --help`. */
export const DHT_HELP = `ipop dht: read and write the overlay's DHT

Usage:
  ipop dht get KEY [--state-dir DIR] [--json]
  ipop dht put KEY VALUE [--state-dir DIR] [--ttl SECONDS] [--json]

${
  paragraph(
    `The overlay keeps a DHT of signed records, replicated on the nodes nearest to each key;
    the agent running with DIR reads and writes it. Run "ipop dht get --help" or "ipop dht put
    --help" for their options.`,
  )
}
Options:
${HELP_ENTRY}
Exit status: 0 for --help; 2 on a usage mistake (a missing or unknown verb).

Examples:
  ipop dht put greeting "hello" --state-dir /var/lib/ipop
  ipop dht get greeting --state-dir /var/lib/ipop
`;

/** `ipop dht get --help`. */
export const DHT_GET_HELP = `ipop dht get: read the records under a key

Usage:
  ipop dht get KEY [--state-dir DIR] [--json]

${
  paragraph(
    `Reads the records stored under KEY (text, at most ${MAX_KEY_BYTES} bytes) in the overlay's
    DHT, through the agent running with DIR, and prints each: its owner, value, sequence number
    and expiry.`,
  )
}
Options:
${STATE_DIR_ENTRY}${JSON_ENTRY}${HELP_ENTRY}
${dhtExit(`the DHT answered ("not found" is an answer)`)}
Example:
  ipop dht get greeting --state-dir /var/lib/ipop
`;

/** `ipop dht put --help`. */
export const DHT_PUT_HELP = `ipop dht put: store a value under a key

Usage:
  ipop dht put KEY VALUE [--state-dir DIR] [--ttl SECONDS] [--json]

${
  paragraph(
    `Stores VALUE (text, at most ${MAX_VALUE_BYTES} bytes) under KEY (at most ${MAX_KEY_BYTES}
    bytes) in the overlay's DHT, signed by this node, through the agent running with DIR. A
    later put by the same node replaces its record.`,
  )
}
Options:
${STATE_DIR_ENTRY}${
  option(
    "--ttl SECONDS",
    `How long the record lives, 1-${MAX_PUT_TTL_SECONDS} seconds. Default
    ${DEFAULT_PUT_TTL_SECONDS}.`,
  )
}${JSON_ENTRY}${HELP_ENTRY}
${dhtExit("the record was stored")}
Examples:
  ipop dht put greeting "hello" --state-dir /var/lib/ipop
  ipop dht put greeting "hello" --ttl 600 --state-dir /var/lib/ipop --json
`;

/** `ipop resolve --help`. */
export const RESOLVE_HELP = `ipop resolve: show who holds a virtual address

Usage:
  ipop resolve IP [--state-dir DIR] [--json]

${
  paragraph(
    `Looks up the lease of virtual address IP in the overlay's DHT (in the network of the agent
    running with DIR) and prints the node holding it: its public key, overlay address and the
    lease's expiry, or that nobody holds it.`,
  )
}
Options:
${STATE_DIR_ENTRY}${JSON_ENTRY}${HELP_ENTRY}
${dhtExit(`the DHT answered (an address nobody holds is an answer)`)}
Example:
  ipop resolve 100.64.0.7 --state-dir /var/lib/ipop
`;
