/** The pages of the commands that ask a running agent about itself: status, peers, ping, down. */
import { AGENT_EXIT_LINE, HELP_ENTRY, JSON_ENTRY, paragraph, STATE_DIR_ENTRY } from "./_layout.ts";

/** `ipop status --help`. */
export const STATUS_HELP = `ipop status: show the running agent's status

Usage:
  ipop status [--state-dir DIR] [--json]

${
  paragraph(
    `Asks the agent running with DIR for its status and prints it: its overlay address and
    endpoint, the overlay connections (kind, address, endpoint, round trip, age, bytes), the
    lease (address, expiry), the resolver cache, the peers, and traffic and drop counters.`,
  )
}
Options:
${STATE_DIR_ENTRY}${JSON_ENTRY}${HELP_ENTRY}
${paragraph(`Exit status: 0 when the status was printed; ${AGENT_EXIT_LINE}`)}
Examples:
  ipop status --state-dir /var/lib/ipop
  IPOP_STATE_DIR=/var/lib/ipop ipop status --json
`;

/** `ipop peers --help`. */
export const PEERS_HELP = `ipop peers: list the running agent's connections and links

Usage:
  ipop peers [--state-dir DIR] [--json]

${
  paragraph(
    `Lists the overlay connections of the agent running with DIR (near, far, shortcut, and
    relayed ones with the node they go through) and its links to fixed peers.`,
  )
}
Options:
${STATE_DIR_ENTRY}${JSON_ENTRY}${HELP_ENTRY}
${paragraph(`Exit status: 0 when the list was printed; ${AGENT_EXIT_LINE}`)}
Example:
  ipop peers --state-dir /var/lib/ipop
`;

/** `ipop ping --help`. */
export const PING_HELP = `ipop ping: ping a virtual address through the overlay

Usage:
  ipop ping IP [--state-dir DIR] [--json]

${
  paragraph(
    `Looks up which node holds the lease of virtual address IP (through the agent running with
    DIR), sends it an echo through the overlay, and prints the round trip and the route, hop by
    hop. Unlike the system's ping it needs no TUN traffic: it tests the overlay itself.`,
  )
}
Options:
${STATE_DIR_ENTRY}${JSON_ENTRY}${HELP_ENTRY}
${
  paragraph(
    `Exit status: 0 when the node answered; 1 when nobody holds IP, the echo timed out, no agent
    runs with DIR or it does not answer; 2 on a usage mistake.`,
  )
}
Example:
  ipop ping 100.64.0.7 --state-dir /var/lib/ipop
`;

/** `ipop down --help`. */
export const DOWN_HELP = `ipop down: stop the running agent

Usage:
  ipop down [--state-dir DIR]

${
  paragraph(
    `Asks the agent running with DIR to stop cleanly, as SIGTERM does: it releases its lease,
    tells its overlay neighbours it is leaving, and removes its TUN interface. Prints "ipop is
    stopping" once the agent has accepted.`,
  )
}
Options:
${STATE_DIR_ENTRY}${HELP_ENTRY}
${paragraph(`Exit status: 0 when the agent is stopping; ${AGENT_EXIT_LINE}`)}
Example:
  ipop down --state-dir /var/lib/ipop
`;
