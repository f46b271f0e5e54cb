/**
 * Builds small networks of real link layers on the fake network, in virtual time: the same
 * LinkLayer and StaticRouter code as production, with MemNetwork, MemTun and VirtualClock.
 */
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import { NodeAead } from "../../lib/crypto/aead.ts";
import { type KeyPair, keyPairFrom } from "../../lib/crypto/x25519.ts";
import type { LinkTuning } from "../../lib/link/constants.ts";
import { LinkLayer } from "../../lib/link/link_layer.ts";
import { silentLogger } from "../../lib/log.ts";
import { type Endpoint, endpoint } from "../../lib/transport/endpoint.ts";
import { MemNetwork, type MemNetworkOptions } from "../../lib/transport/mem_network.ts";
import type { DatagramHandler, Transport } from "../../lib/transport/transport.ts";
import { MemTun } from "../../lib/tun/mem_tun.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";
import { StaticRouter } from "../../lib/vnet/static_router.ts";

/** A transport that records a copy of every datagram it receives, then passes it on. */
export class RecordingTransport implements Transport {
  readonly received: Uint8Array[] = [];
  constructor(private readonly inner: Transport) {}
  get localEndpoint() {
    return this.inner.localEndpoint;
  }
  get stats() {
    return this.inner.stats;
  }
  onReceive(handler: DatagramHandler): void {
    this.inner.onReceive((data, from) => {
      this.received.push(data.slice());
      handler(data, from);
    });
  }
  send(to: Endpoint, data: Uint8Array): void {
    this.inner.send(to, data);
  }
  flush(): void {
    this.inner.flush();
  }
  close(): void {
    this.inner.close();
  }
}

/** One simulated host. */
export interface TestNode {
  identity: KeyPair;
  endpoint: Endpoint;
  virtualIp: string;
  transport: RecordingTransport;
  links: LinkLayer;
  tun: MemTun;
  router: StaticRouter;
}

/** A set of nodes on one fake network. */
export class LinkHarness {
  readonly clock = new VirtualClock();
  readonly network: MemNetwork;
  readonly nodes: TestNode[] = [];
  readonly #rng: SeededRng;

  constructor(readonly seed = Number(Deno.env.get("SEED") ?? 1), net: MemNetworkOptions = {}) {
    this.#rng = new SeededRng(seed);
    this.network = new MemNetwork(this.clock, { latencyMs: 1, seed, ...net });
  }

  /** Adds a node `n` (1-based) at 198.18.0.n:5800 with virtual address 100.64.0.n/24. */
  addNode(opts: { psk?: Uint8Array; tuning?: Partial<LinkTuning> } = {}): TestNode {
    const n = this.nodes.length + 1;
    const identity = keyPairFrom(this.#rng.fill(new Uint8Array(32)));
    const ep = endpoint(`198.18.0.${n}`, 5800);
    const transport = new RecordingTransport(this.network.bind(ep));
    const virtualIp = `100.64.0.${n}`;
    const links = new LinkLayer({
      identity,
      psk: opts.psk ?? new Uint8Array(32),
      transport,
      clock: this.clock,
      rng: new SeededRng(this.seed * 1000 + n),
      aead: new NodeAead(),
      logger: silentLogger,
      tuning: opts.tuning,
      virtualIp: { ip: ipv4ToNumber(virtualIp), prefix: 24 },
    });
    const tun = new MemTun({ name: `mem${n}`, mtu: 1420 });
    const router = new StaticRouter(tun, links);
    const node = { identity, endpoint: ep, virtualIp, transport, links, tun, router };
    this.nodes.push(node);
    return node;
  }

  /** Makes `a` and `b` peers of each other (both start handshaking). */
  peer(a: TestNode, b: TestNode): void {
    a.links.addPeer(b.identity.publicKey, b.endpoint);
    b.links.addPeer(a.identity.publicKey, a.endpoint);
  }

  /** Runs virtual time forward. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Closes every node and the network (no timers left). */
  close(): void {
    for (const n of this.nodes) {
      n.links.close();
      n.tun.close();
      n.transport.close();
    }
    this.network.close();
  }
}

/** A minimal IPv4/UDP packet from `src` to `dst` carrying `payload`. */
export function ipv4Packet(src: string, dst: string, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  p[8] = 64;
  p[9] = 17;
  v.setUint32(12, ipv4ToNumber(src));
  v.setUint32(16, ipv4ToNumber(dst));
  v.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  return p;
}
