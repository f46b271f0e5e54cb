/** The page of `ipop up`: every option, its default, its variable and its config file key. */
import { HELP_ENTRY, option, paragraph } from "./_layout.ts";
import {
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_METRICS_HOST,
  DEFAULT_MTU_BYTES,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SHORTCUT_PPS,
  DEFAULT_SUBNET_TEXT,
  MAX_ADDRESS_PREFIX,
  MAX_MTU_BYTES,
  MAX_SHORTCUT_PPS,
  MIN_ADDRESS_PREFIX,
  MIN_MTU_BYTES,
} from "../up_config.ts";

const OPTIONS = [
  option("--config FILE", "Read settings from this JSON config file (see below). Env IPOP_CONFIG."),
  option(
    "--state-dir DIR",
    `Node key and control socket live here (created with mode 0700). Required. Env
    IPOP_STATE_DIR; key stateDir.`,
  ),
  option(
    "--listen [HOST:]PORT",
    `UDP listen endpoint; a bare PORT listens on 0.0.0.0; [V6]:PORT for IPv6. Default
    0.0.0.0:${DEFAULT_LISTEN_PORT}. Env IPOP_LISTEN; key listen.`,
  ),
  option(
    "--network NAME",
    `Network name: 1-32 of a-z, 0-9 and "-"; addresses are leased per network name. Default
    ${DEFAULT_NETWORK_NAME}. Env IPOP_NETWORK; key network.`,
  ),
  option(
    "--subnet CIDR",
    `Virtual IPv4 subnet, prefix ${MIN_ADDRESS_PREFIX}-${MAX_ADDRESS_PREFIX}. Its first host
    address (e.g. 100.64.0.1) is kept for a gateway. Default ${DEFAULT_SUBNET_TEXT}. Env
    IPOP_SUBNET; key subnet.`,
  ),
  option(
    "--address IP[/PREFIX]",
    `Static IPv4 address of the TUN interface, e.g. 100.64.0.5/24. Without it the address is
    leased from the subnet over the DHT. With --subnet it must lie in the subnet (same prefix);
    without a prefix it takes the subnet's. IP/PREFIX alone sets the subnet. Default: leased.
    Env IPOP_ADDRESS; key address.`,
  ),
  option(
    "--bootstrap udp://HOST:PORT",
    `An overlay node to join through; repeatable. Without any, this node founds a new overlay
    that others join through it. Default: none. Env IPOP_BOOTSTRAP; key bootstrap (a list).`,
  ),
  option(
    "--peer KEY@HOST:PORT",
    `A fixed link: a peer's public key (base64, see "ipop id") and UDP endpoint; repeatable.
    Default: none. Env IPOP_PEERS; key peers (a list).`,
  ),
  option(
    "--secret-file FILE",
    `Network secret shared by all members (trailing whitespace ignored); hosts without it cannot
    link. Default: no secret. Env IPOP_SECRET_FILE; key secretFile.`,
  ),
  option(
    "--tun NAME",
    "TUN interface name. Default: the kernel picks ipopN. Env IPOP_TUN; key tun.",
  ),
  option(
    "--mtu BYTES",
    `TUN MTU, ${MIN_MTU_BYTES}-${MAX_MTU_BYTES}. Default ${DEFAULT_MTU_BYTES}. Env IPOP_MTU;
    key mtu.`,
  ),
  option(
    "--shortcut-pps N",
    `Link directly to a node that gets N or more packets a second through the overlay,
    0-${MAX_SHORTCUT_PPS} (0: never). Default ${DEFAULT_SHORTCUT_PPS}. Env IPOP_SHORTCUT_PPS;
    key shortcutPps.`,
  ),
  option(
    "--log-level LEVEL",
    `error, warn, info or debug. Default ${DEFAULT_LOG_LEVEL}. Env IPOP_LOG_LEVEL; key
    logLevel.`,
  ),
  option(
    "--log-format FORMAT",
    `text (LEVEL message) or json (one object a line). Default text. Env IPOP_LOG_FORMAT; key
    logFormat.`,
  ),
  option(
    "--metrics [HOST:]PORT",
    `Serve Prometheus metrics at http://HOST:PORT/metrics and a live dashboard at / (default
    host ${DEFAULT_METRICS_HOST}). Default: off. Env IPOP_METRICS; key metrics.`,
  ),
  HELP_ENTRY,
].join("");

/** `ipop up --help`. */
export const UP_HELP = `ipop up: run the agent

Usage:
  ipop up [--config FILE] [--state-dir DIR] [options]

${
  paragraph(
    `Runs the agent in the foreground: joins the overlay through the --bootstrap nodes (or founds
    a new one), takes an address (--address, or a lease from --subnet over the DHT), brings up
    the TUN interface and links to peers. Needs CAP_NET_ADMIN (root). SIGINT, SIGTERM or "ipop
    down" stop it: the lease is released, the overlay neighbours are told, the TUN interface is
    removed.`,
  )
}
Options:
${OPTIONS}
${
  paragraph(
    `Environment: IPOP_STATE_DIR, IPOP_LISTEN, IPOP_BOOTSTRAP, IPOP_NETWORK, IPOP_SUBNET,
    IPOP_ADDRESS, IPOP_PEERS, IPOP_SECRET_FILE, IPOP_TUN, IPOP_MTU, IPOP_SHORTCUT_PPS,
    IPOP_LOG_LEVEL, IPOP_LOG_FORMAT, IPOP_METRICS and IPOP_CONFIG; lists are comma-separated. Other
    IPOP_* names are refused (except IPOP_ARGS and IPOP_TEST_*).`,
  )
}
${
  paragraph(
    `Config file: one JSON object whose keys are the option names in camelCase (stateDir, listen,
    bootstrap, network, subnet, address, peers for --peer, secretFile, tun, mtu, shortcutPps,
    logLevel, logFormat, metrics); null means "not set here". Paths in a config file are relative
    to its folder. See docs/config.md, "ipop config example" and "ipop config check FILE".`,
  )
}
${
  paragraph(
    `Precedence: flags > environment > config file > defaults; a list (--bootstrap, --peer) from a
    higher source replaces a lower one's. The other commands take their --state-dir from
    IPOP_STATE_DIR when it is not given.`,
  )
}
${
  paragraph(
    `Exit status: 0 after a clean stop; 1 on a runtime failure (the port or interface name is
    taken, no CAP_NET_ADMIN, another agent uses DIR); 2 on a usage mistake (a bad flag, variable
    or config value).`,
  )
}
Examples:
  ipop up --state-dir /var/lib/ipop --secret-file /etc/ipop/secret
  ipop up --state-dir /var/lib/ipop --bootstrap udp://seed.example.net:5800 \\
    --secret-file /etc/ipop/secret
  IPOP_CONFIG=/etc/ipop/ipop.json ipop up --log-level debug
`;
