/** The text of `ipop help`. */
import {
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MTU_BYTES,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SHORTCUT_PPS,
  DEFAULT_SUBNET_TEXT,
  MAX_MTU_BYTES,
  MIN_MTU_BYTES,
} from "./up_config.ts";

/** Usage text for `ipop help`, ending in a newline. */
export const USAGE = `ipop: an IP-over-P2P VPN agent

Usage:
  ipop id --state-dir DIR
      Print this node's public key (creating the key on first use).
  ipop up [--config FILE] [--state-dir DIR] [options]
      Join the overlay, bring up the TUN interface and link to peers.
  ipop status --state-dir DIR [--json]
      Show the status of the agent running with DIR: overlay links, lease, resolver cache.
  ipop dht get KEY --state-dir DIR [--json]
      Read the records stored under KEY in the overlay's DHT.
  ipop dht put KEY VALUE --state-dir DIR [--ttl SECONDS] [--json]
      Store VALUE (text, at most 768 bytes) under KEY, signed by this node, for SECONDS
      (1-86400, default 3600).
  ipop resolve IP --state-dir DIR [--json]
      Show which node holds the lease of virtual address IP.
  ipop ping IP --state-dir DIR [--json]
      Ping the node holding IP through the overlay; show the round trip and the route.
  ipop peers --state-dir DIR [--json]
      List the overlay connections (direct, shortcut, relayed and through whom) and links.
  ipop down --state-dir DIR
      Stop the agent cleanly (like SIGTERM): lease released, neighbours told, TUN removed.
  ipop config check FILE
      Validate a config file as "up" would (without flags and environment): print
      "FILE: ok" and the effective config, or every error, one line each (exit 2).
  ipop config example
      Print a config file with every key at its default (see docs/config.md).
  ipop help | --help        Show this text.
  ipop version | --version  Show the version.

Options of "up":
  --config FILE            Read settings from this JSON file (default: $IPOP_CONFIG).
  --state-dir DIR          Node key and control socket live here (created with mode 0700).
                           Required.
  --listen [HOST:]PORT     UDP listen endpoint; a bare PORT listens on 0.0.0.0; [V6]:PORT for
                           IPv6 (default 0.0.0.0:${DEFAULT_LISTEN_PORT}).
  --network NAME           Network name: 1-32 of a-z, 0-9 and "-" (default ${DEFAULT_NETWORK_NAME}).
                           Addresses are leased per network name.
  --subnet CIDR            Virtual IPv4 subnet, prefix 8-30 (default ${DEFAULT_SUBNET_TEXT}).
                           Its first host address (e.g. 100.64.0.1) is kept for a gateway.
  --address IP[/PREFIX]    Static IPv4 address of the TUN interface, e.g. 100.64.0.5/24.
                           Without it the address is leased from the subnet over the DHT.
                           With --subnet it must lie in the subnet (same prefix); without a
                           prefix it takes the subnet's. IP/PREFIX alone sets the subnet.
  --bootstrap udp://HOST:PORT
                           An overlay node to join through; repeatable. Without any, this
                           node founds a new overlay that others join through it.
  --peer KEY@HOST:PORT     A fixed link: a peer's public key (base64) and UDP endpoint;
                           repeatable.
  --secret-file FILE       Network secret shared by all members (trailing whitespace ignored).
  --tun NAME               TUN interface name (default: the kernel picks ipopN).
  --mtu BYTES              TUN MTU, ${MIN_MTU_BYTES}-${MAX_MTU_BYTES} (default ${DEFAULT_MTU_BYTES}).
  --log-format FORMAT      text (LEVEL message) or json (one object a line; default text).
  --metrics [HOST:]PORT    Serve Prometheus metrics at http://HOST:PORT/metrics and a live
                           dashboard at / (default host 127.0.0.1; off unless given).
  --shortcut-pps N         Link directly to a node that gets N or more packets a second through
                           the overlay (default ${DEFAULT_SHORTCUT_PPS}; 0: never).
  --log-level LEVEL        error, warn, info or debug (default ${DEFAULT_LOG_LEVEL}).

Environment of "up": IPOP_STATE_DIR, IPOP_LISTEN, IPOP_BOOTSTRAP, IPOP_NETWORK, IPOP_SUBNET,
IPOP_ADDRESS, IPOP_PEERS, IPOP_SECRET_FILE, IPOP_TUN, IPOP_MTU, IPOP_SHORTCUT_PPS,
IPOP_LOG_LEVEL, IPOP_LOG_FORMAT, IPOP_METRICS and IPOP_CONFIG; lists are comma-separated.
Other IPOP_* names are refused (except IPOP_ARGS and IPOP_TEST_*).
Config file keys are the option names in camelCase (stateDir, ..., peers for --peer).
Precedence: flags > environment > config file > defaults; a list (--bootstrap, --peer) from a
higher source replaces a lower one's. Paths in a config file are relative to its folder. The
other commands take their --state-dir from IPOP_STATE_DIR when it is not given.

Exit status: 0 on success, 1 on a runtime failure, 2 on a usage mistake.
`;
