import type { KeyPair } from "../crypto/x25519.ts";
import { totalDrops } from "../link/drop_counters.ts";
import type { OverlayNode } from "../overlay/overlay_node.ts";
import type { Peer } from "../link/peer.ts";
import { formatEndpoint } from "../transport/endpoint.ts";
import type { Transport } from "../transport/transport.ts";
import type { Tun } from "../tun/tun.ts";
import type { StaticRouter } from "../vnet/static_router.ts";
import type { AgentStatus, PeerStatus } from "./agent_status.ts";
import { VERSION } from "../version.ts";

/** The parts of a running agent its status is read from. */
export interface StatusSources {
  identity: KeyPair;
  uptimeMs: number;
  now: number;
  transport: Transport;
  tun: Tun | null;
  address: string | null;
  node: OverlayNode;
  router: StaticRouter;
  aeadName: string;
}

function peerStatus(peer: Peer, now: number): PeerStatus {
  return {
    publicKey: peer.keyText,
    endpoint: peer.endpoint ? formatEndpoint(peer.endpoint) : null,
    state: peer.current ? "established" : "connecting",
    lastHandshakeAgoMs: Number.isFinite(peer.lastHandshakeAt)
      ? Math.round(now - peer.lastHandshakeAt)
      : null,
    ...peer.counters,
    sessions: peer.sessions().length,
  };
}

/** Builds the plain status object of an agent. */
export function agentStatus(s: StatusSources): AgentStatus {
  const d = s.node.links.drops;
  const overlay = s.node.status();
  const r = s.router.counters;
  const t = s.transport.stats;
  return {
    version: VERSION,
    publicKey: s.identity.publicKey.toBase64(),
    listen: formatEndpoint(s.transport.localEndpoint),
    uptimeMs: Math.round(s.uptimeMs),
    tun: s.tun
      ? {
        name: s.tun.name,
        mtu: s.tun.mtu,
        address: s.address,
        packetsRead: s.tun.stats.packetsRead,
        packetsWritten: s.tun.stats.packetsWritten,
        writeDrops: s.tun.stats.writeDrops,
      }
      : null,
    transport: {
      datagramsSent: t.datagramsSent,
      datagramsReceived: t.datagramsReceived,
      bytesSent: t.bytesSent,
      bytesReceived: t.bytesReceived,
      sendDrops: t.sendDrops,
    },
    address: overlay.address,
    estimatedSize: overlay.estimatedSize,
    connections: overlay.connections,
    peers: s.node.links.peers().map((p) => peerStatus(p, s.now)),
    drops: {
      ...d,
      malformed: d.malformed + r.malformed,
      notAllowed: d.notAllowed + r.spoofed,
      total: totalDrops(d) + r.malformed + r.spoofed,
    },
    aead: s.aeadName,
  };
}
