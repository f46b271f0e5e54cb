import type { LinkLayer } from "../link/link_layer.ts";
import type { Peer } from "../link/peer.ts";
import type { OverlayAddress } from "../overlay/address.ts";
import type { Connection } from "../overlay/connection.ts";
import { OverlayKind } from "../overlay/overlay_message.ts";
import type { Delivery } from "../overlay/overlay_node.ts";
import type { Tun } from "../tun/tun.ts";
import type { Subnet } from "../dhcp/subnet.ts";
import { subnetContains } from "../dhcp/subnet.ts";
import { ipv4Destination, ipv4PacketLength, ipv4Source } from "./ipv4.ts";
import type { IpResolver } from "./ip_resolver.ts";

/** The slice of `OverlayNode` the router needs. */
export interface RouterOverlay {
  readonly links: LinkLayer;
  readonly conns: ReadonlyMap<string, Connection>;
  readonly upByAddress: ReadonlyMap<OverlayAddress, Connection>;
  /** Told of traffic that crossed the overlay, to ask for shortcuts (absent: none). */
  readonly shortcuts?: {
    noteRouted(dst: OverlayAddress): void;
    noteUse(peer: OverlayAddress): void;
  };
  onKind(kind: typeof OverlayKind.Ip, handler: (d: Delivery) => void): void;
  sendKind(
    kind: typeof OverlayKind.Ip,
    dst: OverlayAddress,
    mode: "exact" | "nearest",
    body: Uint8Array,
  ): void;
}

/** Packets the router did not forward, by reason. */
export interface OverlayRouterCounters {
  /** From the TUN: not IPv4, outside the subnet, or we hold no lease yet. */
  noRoute: number;
  /** From the TUN: the destination address has no owner (or the lookup failed). */
  unresolved: number;
  /** Received with a source address that is not the sender's lease. */
  spoofed: number;
  /** Received for an address that is not ours. */
  notForUs: number;
  /** Received but not a well-formed IPv4 packet. */
  malformed: number;
  /** Sent over a direct link / routed through the overlay. */
  direct: number;
  routed: number;
}

/**
 * The virtual network over the overlay. A packet read from the TUN is resolved (destination IP
 * → owner's overlay address, `IpResolver`) and goes over the direct link to the owner when there
 * is one (no overlay header), otherwise routed through the overlay (exact delivery). A packet
 * received either way reaches the TUN only when it is for our lease and its source address is
 * the sender's own lease (no spoofing). Packets waiting for a lookup are copies (the TUN and
 * link buffers are reused); how many may wait is bounded by the resolver.
 */
export class OverlayRouter {
  readonly counters: OverlayRouterCounters = {
    noRoute: 0,
    unresolved: 0,
    spoofed: 0,
    notForUs: 0,
    malformed: 0,
    direct: 0,
    routed: 0,
  };
  #ownIp: number | null = null;

  constructor(
    private readonly tun: Tun,
    private readonly overlay: RouterOverlay,
    private readonly resolver: IpResolver,
    private readonly subnet: Subnet,
  ) {
    tun.onPacket((packet) => this.#fromTun(packet));
    overlay.links.onPacket((peer, packet) => this.#fromPeer(peer, packet));
    overlay.onKind(OverlayKind.Ip, (d) => this.#check(d.src, d.payload));
  }

  /** Our leased address (null: none yet, or lost). */
  setOwnIp(ip: number | null): void {
    this.#ownIp = ip;
  }

  #fromTun(packet: Uint8Array): void {
    if (this.#ownIp === null || ipv4PacketLength(packet) < 0) return void this.counters.noRoute++;
    const dst = ipv4Destination(packet);
    if (!subnetContains(this.subnet, dst) || dst === this.#ownIp) {
      return void this.counters.noRoute++;
    }
    const owner = this.resolver.cached(dst);
    if (owner !== undefined) return this.#forward(owner, packet);
    const copy = packet.slice();
    this.resolver.resolve(dst, (found) => this.#forward(found, copy));
  }

  #forward(owner: OverlayAddress | null, packet: Uint8Array): void {
    if (owner === null) return void this.counters.unresolved++;
    const conn = this.overlay.upByAddress.get(owner);
    if (conn && conn.address === owner) { // not a relayed neighbour: a link of our own
      this.counters.direct++;
      this.overlay.shortcuts?.noteUse(owner);
      return this.overlay.links.sendPacket(conn.peer, packet);
    }
    this.counters.routed++;
    this.overlay.shortcuts?.noteRouted(owner);
    this.overlay.sendKind(OverlayKind.Ip, owner, "exact", packet);
  }

  #fromPeer(peer: Peer, packet: Uint8Array): void {
    const conn = this.overlay.conns.get(peer.keyText);
    if (!conn) return void this.counters.spoofed++;
    this.overlay.shortcuts?.noteUse(conn.address);
    this.#check(conn.address, packet);
  }

  /** Writes `packet` from `sender` to the TUN if it is for us and its source is the sender's. */
  #check(sender: OverlayAddress, packet: Uint8Array): void {
    const length = ipv4PacketLength(packet);
    if (length < 0) return void this.counters.malformed++;
    if (this.#ownIp === null || ipv4Destination(packet) !== this.#ownIp) {
      return void this.counters.notForUs++;
    }
    const ip = length === packet.length ? packet : packet.subarray(0, length);
    const src = ipv4Source(ip);
    const owner = this.resolver.cached(src);
    if (owner !== undefined) return this.#deliver(sender, owner, ip);
    const copy = ip.slice();
    this.resolver.resolve(src, (found) => this.#deliver(sender, found, copy));
  }

  #deliver(sender: OverlayAddress, owner: OverlayAddress | null, packet: Uint8Array): void {
    if (owner !== sender) return void this.counters.spoofed++;
    this.tun.write(packet);
  }
}
