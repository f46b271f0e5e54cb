import type { LinkLayer } from "../link/link_layer.ts";
import type { Peer } from "../link/peer.ts";
import type { Tun } from "../tun/tun.ts";
import { ipv4Destination, ipv4PacketLength, ipv4Source, numberToIpv4 } from "./ipv4.ts";

/** Packets the router did not forward. */
export interface RouterCounters {
  /** Read from the TUN for an address no peer owns (or not IPv4). */
  noRoute: number;
  /** Received from a peer with a source address that is not the peer's. */
  spoofed: number;
  /** Received from a peer but not a well-formed IPv4 packet. */
  malformed: number;
}

/**
 * The skeleton's virtual network: packets read from the TUN go to the peer that announced the
 * destination address in its handshake; packets from a peer reach the TUN only when their source
 * is that peer's address (no spoofing). The overlay and DHCP-over-DHT replace the address
 * source later; the checks stay.
 */
export class StaticRouter {
  readonly counters: RouterCounters = { noRoute: 0, spoofed: 0, malformed: 0 };
  readonly #routes = new Map<number, Peer>();

  constructor(private readonly tun: Tun, private readonly links: LinkLayer) {
    tun.onPacket((packet) => this.#fromTun(packet));
    links.onPacket((peer, packet) => this.#fromPeer(peer, packet));
    links.onPeerAddress((peer) => this.learn(peer));
    for (const peer of links.peers()) this.learn(peer);
  }

  /** Records (or moves) the route to `peer`'s announced address. */
  learn(peer: Peer): void {
    for (const [ip, p] of this.#routes) if (p === peer) this.#routes.delete(ip);
    if (peer.virtualIp !== null) this.#routes.set(peer.virtualIp, peer);
  }

  /** The routes, as address text → peer key. */
  routes(): Record<string, string> {
    return Object.fromEntries([...this.#routes].map(([ip, p]) => [numberToIpv4(ip), p.keyText]));
  }

  #fromTun(packet: Uint8Array): void {
    if (ipv4PacketLength(packet) < 0) {
      this.counters.noRoute++;
      return;
    }
    const peer = this.#routes.get(ipv4Destination(packet));
    if (!peer) {
      this.counters.noRoute++;
      return;
    }
    this.links.sendPacket(peer, packet);
  }

  #fromPeer(peer: Peer, packet: Uint8Array): void {
    const length = ipv4PacketLength(packet);
    if (length < 0) {
      this.counters.malformed++;
      return;
    }
    if (peer.virtualIp === null || ipv4Source(packet) !== peer.virtualIp) {
      this.counters.spoofed++;
      return;
    }
    this.tun.write(length === packet.length ? packet : packet.subarray(0, length));
  }
}
