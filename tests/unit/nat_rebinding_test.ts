/**
 * A node whose NAT mapping changes (here: its host moves behind another NAT, a new network)
 * notices it and advertises the new endpoint: the peer sees authenticated packets from a new
 * endpoint, answers with a handshake that says where they come from, and the old endpoint is
 * forgotten once nobody reports it any more. Real link layers on the fake network with the
 * simulator's NAT model, in virtual time.
 */
import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import { NodeAead } from "../../lib/crypto/aead.ts";
import { keyPairFrom } from "../../lib/crypto/x25519.ts";
import { LinkLayer } from "../../lib/link/link_layer.ts";
import { REFLEXIVE_TTL_MS } from "../../lib/link/reflexive.ts";
import { silentLogger } from "../../lib/log.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";
import { NatFabric } from "../../lib/transport/mem_nat.ts";
import { MemNetwork } from "../../lib/transport/mem_network.ts";

function linkLayer(clock: VirtualClock, net: MemNetwork, host: string, seed: number) {
  const identity = keyPairFrom(new Uint8Array(32).fill(seed));
  const links = new LinkLayer({
    identity,
    psk: new Uint8Array(32),
    transport: net.bind(endpoint(host, 5800)),
    clock,
    rng: new SeededRng(seed),
    aead: new NodeAead(),
    logger: silentLogger,
  });
  return { identity, links };
}

Deno.test("a node behind a NAT that moves to another NAT advertises its new endpoint", () => {
  const clock = new VirtualClock();
  const net = new MemNetwork(clock, { latencyMs: 5 });
  const fabric = new NatFabric(clock, { seed: 3 });
  net.route = fabric.route;
  const home = fabric.addNat("198.18.100.1", "port-restricted");
  const away = fabric.addNat("198.18.100.2", "port-restricted");
  fabric.attach("198.19.0.1", home);
  const x = linkLayer(clock, net, "198.19.0.1", 1);
  const y = linkLayer(clock, net, "198.18.0.2", 2);
  const heard: string[] = [];
  y.links.onOverlayMessage((_peer, msg) => heard.push(new TextDecoder().decode(msg)));
  try {
    y.links.addPeer(x.identity.publicKey, null);
    const toY = x.links.addPeer(y.identity.publicKey, endpoint("198.18.0.2", 5800));
    clock.runUntil(2_000);
    assert.ok(toY.current, "no link");
    assert.deepEqual(x.links.reflexiveEndpoints.map((e) => e.host), [home.publicHost]);

    // A new network: the same host now leaves through the other NAT.
    fabric.detach("198.19.0.1");
    fabric.attach("198.19.0.1", away);
    x.links.sendOverlay(toY, new TextEncoder().encode("after the move"));
    clock.runUntil(4_000);
    assert.deepEqual(heard, ["after the move"]);
    assert.equal(y.links.peer(x.identity.publicKey)!.endpoint!.host, away.publicHost);
    assert.equal(x.links.reflexiveEndpoints[0]!.host, away.publicHost, "new endpoint not learnt");
    assert.equal(x.links.reflexiveEndpoints[1]!.host, home.publicHost, "old one dropped at once");

    // Handshakes (rekeys) keep confirming the new endpoint; the old one goes after the TTL.
    clock.runUntil(4_000 + REFLEXIVE_TTL_MS + 2_000);
    assert.deepEqual(x.links.reflexiveEndpoints.map((e) => e.host), [away.publicHost]);
    x.links.sendOverlay(toY, new TextEncoder().encode("much later"));
    clock.runUntil(4_000 + REFLEXIVE_TTL_MS + 3_000);
    assert.deepEqual(heard, ["after the move", "much later"]);
  } finally {
    x.links.close();
    y.links.close();
  }
});
