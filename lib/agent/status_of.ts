import type { KeyPair } from "../crypto/x25519.ts";
import { totalDrops } from "../link/drop_counters.ts";
import type { OverlayNode } from "../overlay/overlay_node.ts";
import type { Peer } from "../link/peer.ts";
import { formatEndpoint } from "../transport/endpoint.ts";
import type { Transport } from "../transport/transport.ts";
import type { Tun } from "../tun/tun.ts";
import type { DhtNode } from "../dht/dht_node.ts";
import { LeaseClient } from "../dhcp/lease_client.ts";
import { formatSubnet, type Subnet } from "../dhcp/subnet.ts";
import { addressToHex } from "../overlay/address.ts";
import type { IpResolver } from "../vnet/ip_resolver.ts";
import { numberToIpv4 } from "../vnet/ipv4.ts";
import type { OverlayRouter } from "../vnet/overlay_router.ts";
import type { AgentStatus, PeerStatus } from "./agent_status.ts";
import { VERSION } from "../version.ts";

/** The parts of a running agent its status is read from. */
export interface StatusSources {
  identity: KeyPair;
  uptimeMs: number;
  now: number;
  transport: Transport;
  tun: Tun | null;
  node: OverlayNode;
  router: OverlayRouter;
  aeadName: string;
  dht: DhtNode;
  lease: LeaseClient;
  resolver: IpResolver;
  network: string;
  subnet: Subnet;
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
  const lease = s.lease.lease;
  const cache = s.resolver.cache;
  return {
    version: VERSION,
    publicKey: s.identity.publicKey.toBase64(),
    listen: formatEndpoint(s.transport.localEndpoint),
    uptimeMs: Math.round(s.uptimeMs),
    tun: s.tun
      ? {
        name: s.tun.name,
        mtu: s.tun.mtu,
        address: lease ? LeaseClient.format(lease) : null,
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
    shortcutsRequested: overlay.shortcutsRequested,
    nat: {
      seenAt: s.node.links.reflexiveEndpoints.map(formatEndpoint),
      behindNat: s.node.selfInfo().behindNat === true,
      mapsPerDestination: s.node.links.mapsPerDestination,
    },
    peers: s.node.links.peers().map((p) => peerStatus(p, s.now)),
    drops: {
      ...d,
      malformed: d.malformed + r.malformed,
      notAllowed: d.notAllowed + r.spoofed,
      total: totalDrops(d) + r.malformed + r.spoofed,
    },
    aead: s.aeadName,
    lease: {
      state: s.lease.state,
      network: s.network,
      subnet: formatSubnet(s.subnet),
      address: lease ? LeaseClient.format(lease) : null,
      expiresInMs: lease ? Math.max(0, Math.round(lease.expiresAt - s.now)) : null,
      collisions: s.lease.collisions,
    },
    resolver: {
      entries: cache.entries(s.now).map((e) => ({
        ip: numberToIpv4(e.ip),
        owner: e.owner === null ? null : addressToHex(e.owner),
        kind: e.kind,
        expiresInMs: Math.round(e.expiresInMs),
      })),
      hits: cache.hits,
      misses: cache.misses,
      lookups: s.resolver.stats.lookups,
    },
    dht: { records: s.dht.store.size, ...s.dht.stats },
    router: { ...r },
    handshakes: {
      initiated: s.node.links.initiations,
      completed: s.node.links.handshakesCompleted,
      primersSent: s.node.links.primersSent,
      fansOpened: s.node.links.fansOpened,
      guessesSent: s.node.links.guessesSent,
    },
  };
}
