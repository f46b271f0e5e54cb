import type { DropCounters as LinkDropCounters } from "../link/drop_counters.ts";
import type { ConnectionStatus } from "../overlay/overlay_status.ts";

/**
 * The read-only status of a running agent: a plain JSON-safe object, the same one `ipop status`
 * prints and the e2e tests read over the control socket. Byte and packet counters count since the
 * agent started; keys are standard base64 (44 characters).
 */

/** One configured or discovered peer. */
export interface PeerStatus {
  /** The peer's static public key, standard base64. */
  publicKey: string;
  /** The peer's current underlay endpoint as `HOST:PORT` / `[V6]:PORT`, or null when unknown. */
  endpoint: string | null;
  /** "established" once a session is usable for data. */
  state: "connecting" | "established";
  /** Milliseconds since the last completed handshake, or null when none has completed. */
  lastHandshakeAgoMs: number | null;
  /** Inner (decrypted) payload bytes received from this peer. */
  rxBytes: number;
  /** Inner payload bytes sent to this peer. */
  txBytes: number;
  /** Data packets received from this peer. */
  rxPackets: number;
  /** Data packets sent to this peer. */
  txPackets: number;
  /** Live sessions (current, previous and pending) with this peer. */
  sessions: number;
}

/** Datagrams and packets dropped, by reason (see `lib/link/drop_counters.ts`), and their sum. */
export type DropCounters = LinkDropCounters & { total: number };

/** The whole status object of one agent. */
export interface AgentStatus {
  /** The ipop version string. */
  version: string;
  /** This node's static public key, standard base64. */
  publicKey: string;
  /** The local underlay endpoint, `HOST:PORT`. */
  listen: string;
  /** Milliseconds since the agent started. */
  uptimeMs: number;
  /** The TUN interface, or null when the agent runs without one. */
  tun: {
    name: string;
    mtu: number;
    /** `IP/PREFIX`, or null before an address is assigned. */
    address: string | null;
    packetsRead: number;
    packetsWritten: number;
    writeDrops: number;
  } | null;
  /** Underlay (UDP) counters. */
  transport: {
    datagramsSent: number;
    datagramsReceived: number;
    bytesSent: number;
    bytesReceived: number;
    sendDrops: number;
  };
  /** This node's overlay address, 40 hex digits. */
  address: string;
  /** The number of overlay nodes, estimated from neighbour density. */
  estimatedSize: number;
  /** Overlay connections that are up (kind, address, endpoint, RTT, age, bytes). */
  connections: ConnectionStatus[];
  /** On-demand shortcut requests sent since the agent started. */
  shortcutsRequested: number;
  /** What peers tell of our NAT (absent from agents before it was added). */
  nat?: NatStatus;
  /** One entry per peer. */
  peers: PeerStatus[];
  /** Drop counters. */
  drops: DropCounters;
  /** The AEAD in use, e.g. "chacha20-poly1305". */
  aead: string;
  /** The virtual address lease (DHCP over the DHT). */
  lease: LeaseStatus;
  /** What the resolver knows: virtual IP -> owner. */
  resolver: ResolverStatus;
  /** This node's share of the DHT. */
  dht: DhtStatusSummary;
  /** Virtual-IP packets the router forwarded or dropped, by reason. */
  router: Record<string, number>;
  /**
   * Link handshakes: initiations sent, handshakes completed (either role), and hole punching:
   * primers sent, fans of sockets opened and port guesses sent (birthday punching).
   */
  handshakes?: {
    initiated: number;
    completed: number;
    primersSent?: number;
    fansOpened?: number;
    guessesSent?: number;
  };
}

/** The lease part of the status. */
export interface LeaseStatus {
  /** "waiting" (to join the ring), "claiming", "bound", "refused" or "released". */
  state: string;
  /** The network name (the DHT namespace of its leases). */
  network: string;
  /** The subnet, `A.B.C.D/P`. */
  subnet: string;
  /** The leased address, `IP/PREFIX`, or null. */
  address: string | null;
  /** Milliseconds until the lease runs out unless renewed, or null. */
  expiresInMs: number | null;
  /** Addresses found taken while claiming. */
  collisions: number;
}

/** The resolver part of the status. */
export interface ResolverStatus {
  entries: { ip: string; owner: string | null; kind: string; expiresInMs: number }[];
  hits: number;
  misses: number;
  lookups: number;
}

/** The DHT part of the status. */
export interface DhtStatusSummary {
  /** Records this node holds as a replica (tombstones included). */
  records: number;
  requests: number;
  coordinated: number;
  replicaRequests: number;
  handoffsReceived: number;
  dropped: number;
}

/** What a node knows of the NAT in front of it. */
export interface NatStatus {
  /** `HOST:PORT`s peers saw us at, most recent first (the reflexive endpoints we advertise). */
  seenAt: string[];
  /** Peers see us at an endpoint that is not our own. */
  behindNat: boolean;
  /** The NAT gives every destination its own port: links go by birthday punching. */
  mapsPerDestination: boolean;
}
