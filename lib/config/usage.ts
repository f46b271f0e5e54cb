/** The text of `ipop help`. */
import {
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MTU_BYTES,
  MAX_MTU_BYTES,
  MIN_MTU_BYTES,
} from "./up_config.ts";

/** Usage text for `ipop help`, ending in a newline. */
export const USAGE = `ipop: an IP-over-P2P VPN agent

Usage:
  ipop id --state-dir DIR
      Print this node's public key (creating the key on first use).
  ipop up --state-dir DIR --address IP/PREFIX [options]
      Join the overlay, bring up the TUN interface and link to peers.
  ipop status --state-dir DIR [--json]
      Show the status of the agent running with DIR.
  ipop help | --help        Show this text.
  ipop version | --version  Show the version.

Options of "up":
  --state-dir DIR          Node key and control socket live here (created with mode 0700).
  --listen [HOST:]PORT     UDP listen endpoint; a bare PORT listens on 0.0.0.0; [V6]:PORT for
                           IPv6 (default 0.0.0.0:${DEFAULT_LISTEN_PORT}).
  --address IP/PREFIX      IPv4 address of the TUN interface, e.g. 100.64.0.1/24.
  --bootstrap udp://HOST:PORT
                           An overlay node to join through; repeatable. Without any, this
                           node founds a new overlay that others join through it.
  --peer KEY@HOST:PORT     A fixed link: a peer's public key (base64) and UDP endpoint;
                           repeatable.
  --secret-file FILE       Network secret shared by all members (trailing whitespace ignored).
  --tun NAME               TUN interface name (default: the kernel picks ipopN).
  --mtu BYTES              TUN MTU, ${MIN_MTU_BYTES}-${MAX_MTU_BYTES} (default ${DEFAULT_MTU_BYTES}).
  --log-level LEVEL        error, warn, info or debug (default ${DEFAULT_LOG_LEVEL}).

Exit status: 0 on success, 1 on a runtime failure, 2 on a usage mistake.
`;
