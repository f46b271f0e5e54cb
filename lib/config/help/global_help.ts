/** The global page of `ipop help`, and the page of `ipop version`. */
import { HELP_ENTRY, paragraph } from "./_layout.ts";

/** `ipop help`, `ipop --help`, `ipop -h`: one line per command. */
export const GLOBAL_HELP = `ipop: an IP-over-P2P VPN agent

Usage:
  ipop COMMAND [ARGUMENTS] [OPTIONS]

Commands:
  up                 Run the agent: join the overlay, bring up the TUN interface, link to peers.
  status             Show the running agent's status: links, lease, resolver cache, counters.
  peers              List the running agent's overlay connections and links.
  ping IP            Ping the node holding virtual address IP through the overlay.
  resolve IP         Show which node holds the lease of virtual address IP.
  dht get KEY        Read the records stored under KEY in the overlay's DHT.
  dht put KEY VALUE  Store VALUE under KEY in the overlay's DHT, signed by this node.
  down               Stop the running agent cleanly.
  id                 Print this node's public key (creating the key on first use).
  config check FILE  Validate a config file of "up" and print the effective config.
  config example     Print a config file with every key at its default.
  version            Show the version (also: ipop --version, ipop -V).
  help [COMMAND]     Show this text, or a command's help.

Run \`ipop COMMAND --help\` for a command's options (or \`ipop help COMMAND\`).

${
  paragraph(
    `status, peers, ping, resolve, dht and down talk to the agent that "ipop up" runs with the same
  --state-dir (default: $IPOP_STATE_DIR), through its control socket.`,
  )
}
Exit status: 0 on success, 1 on a runtime failure, 2 on a usage mistake.
`;

/** `ipop version --help`. */
export const VERSION_HELP = `ipop version: show the version

Usage:
  ipop version
  ipop --version | -V

Prints "ipop X.Y.Z" on stdout.

Options:
${HELP_ENTRY}
Exit status: 0.

Example:
  ipop --version
`;
