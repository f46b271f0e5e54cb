import { IoLoop } from "../../ffi/io_loop.ts";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { TunDevice } from "../../ffi/tun_device.ts";
import { UdpTransport } from "../../ffi/udp_transport.ts";
import { RealClock, SecureRng } from "../clock/real_clock.ts";
import type { UpConfig } from "../config/up_config.ts";
import type { KeyPair } from "../crypto/x25519.ts";
import { OverlayNode } from "../overlay/overlay_node.ts";
import { DEFAULT_SHORTCUT_TUNING } from "../overlay/shortcuts.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import type { Logger } from "../log.ts";
import { formatEndpoint } from "../transport/endpoint.ts";
import { ipv4ToNumber, numberToIpv4 } from "../vnet/ipv4.ts";
import { OverlayRouter } from "../vnet/overlay_router.ts";
import { IpResolver } from "../vnet/ip_resolver.ts";
import { ResolverCache } from "../vnet/resolver_cache.ts";
import { DhtNode } from "../dht/dht_node.ts";
import { LeaseClient } from "../dhcp/lease_client.ts";
import { XEDDSA_RANDOM_BYTES, xeddsaSign, xeddsaVerify } from "../crypto/xeddsa.ts";
import type { AgentStatus } from "./agent_status.ts";
import { agentStatus } from "./status_of.ts";
import { answerControl } from "./agent_control.ts";
import { readSavedState, SAVED_STATE_FILE, writeSavedState } from "./saved_state.ts";
import { DATA_OVERHEAD_BYTES } from "../wire/data_message.ts";
import { VERSION } from "../version.ts";

/** What `startAgent` needs. */
export interface StartAgentOptions {
  config: UpConfig;
  identity: KeyPair;
  logger: Logger;
}

/** A running agent. */
export interface RunningAgent {
  /** A snapshot of the agent's state. */
  status(): AgentStatus;
  /** Answers a control request (`agent_control.ts`): status, dht-get, dht-put, resolve. */
  control(request: Record<string, unknown>): Promise<unknown>;
  /** Removes the interface, closes the socket and stops the loop. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the agent has stopped (after `close()` or a fatal I/O error). */
  readonly closed: Promise<void>;
}

/** Room for the biggest IPv4/IPv6 + UDP headers, or the overlay header, around a data message. */
const DATAGRAM_SLACK_BYTES = 64;
/** Overlay control messages (DHT, ring maintenance) fit this, whatever the TUN MTU. */
const MIN_DATAGRAM_PAYLOAD_BYTES = 1280;
/** How long a clean exit waits for the lease release to be acknowledged. */
const RELEASE_WAIT_MS = 1_500;

/**
 * Starts the agent: binds the UDP socket, creates the TUN interface, and links to the configured
 * peers, all driven by one `IoLoop`. Throws a one-line `Error` when the socket or the interface
 * cannot be set up (nothing is left behind then).
 */
export function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const { config, identity, logger } = opts;
  const loop = new IoLoop();
  loop.onError = (err) => logger.error(`I/O loop: ${err instanceof Error ? err.message : err}`);
  const opened: { close(): void }[] = [];
  try {
    const transport = UdpTransport.bind(loop, config.listen, {
      slotBytes: Math.max(config.mtu, MIN_DATAGRAM_PAYLOAD_BYTES) + DATA_OVERHEAD_BYTES +
        DATAGRAM_SLACK_BYTES,
    });
    opened.push(transport);
    transport.onPinned = (local, peer) =>
      logger.debug(`birthday punch: ${formatEndpoint(peer)} reached our socket ${local.port}`);
    transport.onPinClosed = (local) => logger.debug(`birthday socket ${local.port} idle: closed`);
    // The address comes with the lease (a static --address too: it is claimed first).
    const tun = TunDevice.open(loop, { name: config.tunName, mtu: config.mtu });
    opened.push(tun);
    const clock = new RealClock();
    const aead = loadFastAead();
    const node = new OverlayNode({
      identity,
      psk: config.psk,
      transport,
      clock,
      rng: new SecureRng(),
      aead,
      x25519: loadFastX25519(),
      logger,
      tuning: {
        shortcuts: { ...DEFAULT_SHORTCUT_TUNING, thresholdPps: config.shortcutPps },
      },
    });
    const rng = new SecureRng();
    const saved = readSavedState(config.stateDir);
    const dht = new DhtNode({
      host: node,
      signer: {
        publicKey: identity.publicKey,
        sign: (m) =>
          xeddsaSign(identity.privateKey, m, rng.fill(new Uint8Array(XEDDSA_RANDOM_BYTES))),
      },
      verify: xeddsaVerify,
    });
    const resolver = new IpResolver(dht, new ResolverCache(), clock, config.network);
    const router = new OverlayRouter(tun, node, resolver, config.subnet);
    let refused: Error | null = null;
    let failAgent: (err: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => failAgent = reject);
    const lease = new LeaseClient({
      dht,
      clock,
      rng,
      network: config.network,
      subnet: config.subnet,
      publicKey: identity.publicKey,
      staticIp: config.address ? ipv4ToNumber(config.address.ip) : undefined,
      preferredIp: saved.lease ?? undefined,
      ready: () => node.settled,
      alone: () => node.upAddresses.length === 0,
      onLease: (held) => {
        router.setOwnIp(held?.ip ?? null);
        node.links.setVirtualIp(held ? { ip: held.ip, prefix: held.prefix } : null);
        if (!held) return logger.warn("lost the address lease; claiming another");
        tun.setAddress(numberToIpv4(held.ip), held.prefix);
        logger.info(`address ${LeaseClient.format(held)} leased (network ${config.network})`);
      },
      onRefused: (ip, owner) => {
        const who = owner ? `the node with key ${owner.toBase64()}` : "another node";
        refused = new Error(`Address ${numberToIpv4(ip)} is taken by ${who}`);
        failAgent(refused); // settles `closed` first: the agent failed, it did not just stop
        void close();
      },
    });
    for (const peer of config.peers) node.connectFixed(peer.publicKey, peer.endpoint);
    // A joiner tries its bootstrap nodes first, then the nodes it was linked to last time (a
    // founder stays a founder: the others come back to it).
    const known = config.bootstrap.length === 0
      ? []
      : saved.peers.filter((p) =>
        !config.bootstrap.some((b) => b.host === p.host && b.port === p.port)
      );
    node.start([...config.bootstrap, ...known]);
    lease.start();
    const startedAt = clock.now();
    const listening = formatEndpoint(transport.localEndpoint);
    logger.info(
      `ipop ${VERSION} up: key ${identity.publicKey.toBase64()}, tun ${tun.name} ` +
        `(address ${config.address ? config.address.ip : "by DHCP"} in ${config.network}), ` +
        `listening on ${listening}, ` +
        `${config.peers.length} fixed peer(s), ${config.bootstrap.length} bootstrap(s), ` +
        `overlay address ${node.status().address}, aead ${aead.name}`,
    );

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        const remember = {
          lease: lease.lease?.ip ?? null,
          peers: [...node.upByAddress.values()].flatMap((c) => c.peer.endpoint ?? []),
        };
        const failedToSave = writeSavedState(config.stateDir, remember);
        if (failedToSave) logger.warn(`cannot save ${SAVED_STATE_FILE}: ${failedToSave.message}`);
        if (!refused) await releaseLease(lease, clock);
        lease.close();
        dht.close();
        node.leave(); // tells the neighbours first
        transport.flush();
        tun.close();
        transport.close();
        await loop.stop();
      })();
      return closing;
    };
    const closed = Promise.race([loop.run(), failed]);
    const status = () =>
      agentStatus({
        identity,
        uptimeMs: clock.now() - startedAt,
        now: clock.now(),
        transport,
        tun,
        node,
        router,
        aeadName: aead.name,
        dht,
        lease,
        resolver,
        network: config.network,
        subnet: config.subnet,
      });
    return Promise.resolve({
      status,
      control: (request) =>
        answerControl({ dht, network: config.network, status, echoes: node.echoes }, request),
      close,
      closed,
    });
  } catch (err) {
    for (const r of opened.reverse()) r.close();
    void loop.stop();
    throw err;
  }
}

/** Releases the lease (a DHT delete), waiting at most `RELEASE_WAIT_MS` for the answer. */
function releaseLease(lease: LeaseClient, clock: RealClock): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(RELEASE_WAIT_MS, resolve);
    lease.release(() => {
      timer.cancel();
      resolve();
    });
  });
}
