/**
 * Birthday punching's decisions and the cone side's guesses: which NAT a node thinks it is
 * behind, which address a peer's NAT has, and the waves of guesses a `LinkLayer` sends (to a
 * recording fake `Transport`, in virtual time).
 */
import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import { NodeAead } from "../../lib/crypto/aead.ts";
import { keyPairFrom } from "../../lib/crypto/x25519.ts";
import { mapsPerDestination, MAX_GUESS_WAVES, natHostOf } from "../../lib/link/birthday.ts";
import { LinkLayer } from "../../lib/link/link_layer.ts";
import { silentLogger } from "../../lib/log.ts";
import { type Endpoint, endpoint } from "../../lib/transport/endpoint.ts";
import { newTransportStats, type Transport } from "../../lib/transport/transport.ts";
import { MessageType, readMessageType } from "../../lib/wire/header.ts";

const LOCAL = endpoint("198.19.2.10", 5800);

Deno.test("mapsPerDestination: several ports at one address, or one port not our own", () => {
  const at = (host: string, port: number) => endpoint(host, port);
  assert.equal(mapsPerDestination([], LOCAL), false, "no reports: no NAT known");
  assert.equal(mapsPerDestination([LOCAL], LOCAL), false, "seen at our own endpoint");
  assert.equal(mapsPerDestination([at("198.18.2.2", 5800)], LOCAL), false, "port kept: cone");
  assert.equal(mapsPerDestination([at("198.18.2.2", 31_000)], LOCAL), true, "port changed");
  assert.equal(
    mapsPerDestination([at("198.18.2.2", 5800), at("198.18.2.2", 5801)], LOCAL),
    true,
    "two ports at one address",
  );
  assert.equal(
    mapsPerDestination([at("198.18.2.2", 5800), at("198.18.3.2", 5800), LOCAL], LOCAL),
    false,
    "two NAT addresses (two uplinks), each keeping our port",
  );
});

Deno.test("natHostOf: the address named most often, the later one on a tie", () => {
  assert.equal(natHostOf([]), null);
  assert.equal(
    natHostOf([endpoint("198.19.1.10", 5800), endpoint("198.18.1.2", 4000)]),
    "198.18.1.2",
  );
  assert.equal(
    natHostOf([
      endpoint("198.18.1.2", 4000),
      endpoint("198.19.1.10", 5800),
      endpoint("198.18.1.2", 4001),
    ]),
    "198.18.1.2",
  );
});

/** A fake transport (the `Transport` seam) that records what is sent. */
class SendRecorder implements Transport {
  readonly sent: { to: Endpoint; data: Uint8Array }[] = [];
  readonly localEndpoint = LOCAL;
  readonly stats = newTransportStats();
  onReceive(): void {}
  send(to: Endpoint, data: Uint8Array): void {
    this.sent.push({ to, data: data.slice() });
  }
  flush(): void {}
  close(): void {}
}

function guessingLinkLayer() {
  const clock = new VirtualClock();
  const transport = new SendRecorder();
  const links = new LinkLayer({
    identity: keyPairFrom(new Uint8Array(32).fill(1)),
    psk: new Uint8Array(32),
    transport,
    clock,
    rng: new SeededRng(7),
    aead: new NodeAead(),
    logger: silentLogger,
    tuning: { guessesPerWave: 500 },
  });
  return { clock, transport, links };
}

const PEER_KEY = keyPairFrom(new Uint8Array(32).fill(2)).publicKey;
const CANDIDATES = [endpoint("198.19.1.10", 5800), endpoint("198.18.1.2", 40_000)];

Deno.test("the cone side waits out the hold, then sends its initiation to a wave of guessed ports", () => {
  const { clock, transport, links } = guessingLinkLayer();
  links.addPeerAt(PEER_KEY, CANDIDATES, 300, "198.18.1.2");
  clock.runUntil(299);
  assert.equal(transport.sent.length, 0, "nothing before the hold ends");
  clock.runUntil(300);
  const sent = transport.sent;
  assert.equal(sent.length, 2 + 500);
  assert.ok(sent.every((s) => readMessageType(s.data) === MessageType.HandshakeInitiation));
  assert.ok(sent.every((s) => s.data.every((b, i) => b === sent[0]!.data[i])), "one initiation");
  const guesses = sent.slice(2);
  assert.ok(guesses.every((s) => s.to.host === "198.18.1.2"));
  const ports = new Set(guesses.map((s) => s.to.port));
  assert.equal(ports.size, 500, "no port guessed twice in a wave");
  assert.ok([...ports].every((p) => p >= 1024 && p <= 65_535));
  assert.equal(links.guessesSent, 500);
});

Deno.test("guessing stops after its waves while the initiations go on", () => {
  const { clock, transport, links } = guessingLinkLayer();
  links.addPeerAt(PEER_KEY, CANDIDATES, 0, "198.18.1.2");
  clock.runUntil(9_000); // initiations retried at 1, 2, 4 s...
  const waves = transport.sent.filter((s) => s.to.host === "198.18.1.2" && s.to.port !== 40_000);
  assert.equal(waves.length, MAX_GUESS_WAVES * 500);
  assert.ok(links.initiations > MAX_GUESS_WAVES, "initiations went on without guesses");
});

Deno.test("a node sends at most 6 waves in 10 s, whatever the peers", () => {
  const { clock, links } = guessingLinkLayer();
  for (let i = 0; i < 10; i++) {
    const key = keyPairFrom(new Uint8Array(32).fill(10 + i)).publicKey;
    links.addPeerAt(key, [endpoint(`198.18.${i}.2`, 40_000)], 0, `198.18.${i}.2`);
  }
  clock.runUntil(100);
  assert.equal(links.guessesSent, 6 * 500);
});
