/**
 * Birthday punching between a node behind a NAT that maps every destination to a fresh random
 * port ("symmetric") and one behind a NAT that keeps one port for all destinations (a cone).
 * Neither side can know the port the symmetric NAT gives the flow toward the cone, and the
 * cone's NAT passes only replies from the exact address and port it sent to. So the symmetric
 * side opens many sockets and primes a mapping from each (`Transport.fanOut`), and the cone side
 * sends its handshake initiation to many random ports of the symmetric NAT's address: with 256
 * mappings among ~64,500 ports, a wave of 1,024 guesses hits one with odds of about 98%. The
 * initiation that hits gets its answer back through that mapping, and the link stays on it.
 *
 * This module holds both sides as the link layer runs them (`BirthdayPunch`), the cone side's
 * guesses (`PortGuesser`) and how a node tells which kind of NAT it is behind.
 */
import type { Clock, Rng } from "../clock/clock.ts";
import type { Logger } from "../log.ts";
import { type Endpoint, endpoint, formatEndpoint, sameEndpoint } from "../transport/endpoint.ts";
import type { Transport } from "../transport/transport.ts";
import { PRIMER_DATAGRAM } from "../wire/header.ts";
import type { LinkTuning } from "./constants.ts";
import type { Peer } from "./peer.ts";

/** How long a fan of sockets waits for the peer's guesses. */
export const FAN_WINDOW_MS = 10_000;
/** A new fan toward a peer replaces the open one, but not sooner than this after it. */
export const FAN_REOPEN_MS = 2_000;
/** How long after a Connect-To-Me the cone side keeps guessing (one wave per initiation). */
export const GUESS_WINDOW_MS = 10_000;
/** Waves of guesses per Connect-To-Me. */
export const MAX_GUESS_WAVES = 3;
/** Waves this node sends within `WAVE_BUDGET_WINDOW_MS`, whatever the peers: a bound on spraying. */
const WAVE_BUDGET = 6;
const WAVE_BUDGET_WINDOW_MS = 10_000;
/** NATs map to ports from here up (Linux: 1024-65535 for sources above 1023). */
const FIRST_GUESSED_PORT = 1024;
const GUESSED_PORTS = 65_536 - FIRST_GUESSED_PORT;

/** A peer's guessing, armed by a Connect-To-Me with a peer that fans out. */
export interface GuessState {
  /** The peer's NAT address, whose ports are guessed. */
  host: string;
  until: number;
  waves: number;
}

/**
 * True when our NAT seems to give each destination its own port: peers saw us at two or more
 * ports of one address, or (one report so far, as with a single peer) at a port other than our
 * own, which a NAT that keeps one mapping for all destinations preserves when it can. A cone
 * NAT taken for symmetric costs a fan of sockets, and the punch still works through it (each
 * socket of the fan has a mapping of its own toward the peer).
 */
export function mapsPerDestination(reflexive: readonly Endpoint[], local: Endpoint): boolean {
  const ports = new Map<string, Set<number>>();
  for (const e of reflexive) {
    if (sameEndpoint(e, local)) continue;
    const set = ports.get(e.host) ?? new Set<number>();
    set.add(e.port);
    ports.set(e.host, set);
  }
  for (const set of ports.values()) {
    if (set.size >= 2 || !set.has(local.port)) return true;
  }
  return false;
}

/**
 * The address of a peer's NAT among the endpoints it advertises: the host named most often
 * (a symmetric NAT's address comes with one port per peer that reported it), the later one on
 * a tie (reflexive endpoints follow the local one). Null for no endpoints.
 */
export function natHostOf(endpoints: readonly Endpoint[]): string | null {
  const counts = new Map<string, number>();
  let best: string | null = null;
  for (const e of endpoints) {
    const n = (counts.get(e.host) ?? 0) + 1;
    counts.set(e.host, n);
    if (best === null || n >= counts.get(best)!) best = e.host;
  }
  return best;
}

/** The cone side: sends waves of an initiation to random ports of the peer's NAT. */
export class PortGuesser {
  /** Guesses sent. */
  probesSent = 0;
  readonly #recentWaves: number[] = [];

  constructor(private readonly rng: Rng, private readonly probesPerWave: number) {}

  /** Arms guessing for `peer` at `host` (its NAT's address) from `now`. */
  arm(peer: Peer, host: string, now: number): void {
    peer.guess = { host, until: now + GUESS_WINDOW_MS, waves: 0 };
  }

  /**
   * Sends `datagram` (the initiation just sent to the peer's candidates) to one wave of random
   * ports of the peer's NAT, when guessing is armed for it, its waves are not used up and the
   * node's budget allows. True when a wave went.
   */
  wave(
    peer: Peer,
    datagram: Uint8Array,
    now: number,
    send: (to: Endpoint, d: Uint8Array) => void,
  ): boolean {
    const g = peer.guess;
    if (!g || peer.current || now >= g.until || g.waves >= MAX_GUESS_WAVES) return false;
    while (this.#recentWaves.length > 0 && now - this.#recentWaves[0]! >= WAVE_BUDGET_WINDOW_MS) {
      this.#recentWaves.shift();
    }
    if (this.#recentWaves.length >= WAVE_BUDGET) return false;
    this.#recentWaves.push(now);
    g.waves++;
    const ports = new Set<number>();
    const count = Math.min(this.probesPerWave, GUESSED_PORTS);
    while (ports.size < count) ports.add(FIRST_GUESSED_PORT + this.rng.uint32() % GUESSED_PORTS);
    for (const port of ports) send(endpoint(g.host, port), datagram);
    this.probesSent += ports.size;
    return true;
  }
}

/** What birthday punching needs of the link layer. */
export interface BirthdayHost {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tuning: LinkTuning;
  isClosed(): boolean;
  /** The peer with this key (made when there is none). */
  peerOf(publicKey: Uint8Array): Peer;
  /** Starts a new round of handshakes to `peer`. */
  initiateNow(peer: Peer): void;
}

/** Birthday punching as a `LinkLayer` runs it: fans on the symmetric side, guesses on the cone side. */
export class BirthdayPunch {
  /** Fans of sockets opened. */
  fansOpened = 0;
  readonly #guesser: PortGuesser;

  constructor(private readonly host: BirthdayHost, rng: Rng) {
    this.#guesser = new PortGuesser(rng, host.tuning.guessesPerWave);
  }

  /** Guesses sent. */
  get guessesSent(): number {
    return this.#guesser.probesSent;
  }

  /**
   * The symmetric side: opens a fan of sockets, each priming its own mapping toward the peer's
   * `targets` (its candidate endpoints). A new round (another Connect-To-Me) replaces the fan,
   * but not within `FAN_REOPEN_MS` of the last. True when the transport opened one.
   */
  fanOut(publicKey: Uint8Array, targets: readonly Endpoint[]): boolean {
    const { transport, tuning, clock } = this.host;
    if (!transport.fanOut || this.host.isClosed()) return false;
    const peer = this.host.peerOf(publicKey);
    const now = clock.now();
    const lastOpenedAt = peer.fanUntil - FAN_WINDOW_MS;
    if (peer.current || now - lastOpenedAt < FAN_REOPEN_MS) return false;
    const opened = transport.fanOut(targets, PRIMER_DATAGRAM, {
      count: tuning.fanSockets,
      ttl: tuning.primerTtl,
      windowMs: FAN_WINDOW_MS,
    });
    const what = `a fan of ${tuning.fanSockets} sockets`;
    const toward = targets.map(formatEndpoint).join(", ");
    this.host.logger.debug(
      `birthday punch: ${opened ? "opened" : "could not open"} ${what} toward ${toward}`,
    );
    if (!opened) return false;
    this.fansOpened++;
    peer.fanUntil = now + FAN_WINDOW_MS;
    return true;
  }

  /**
   * The cone side: each initiation to `peer` in the next seconds also goes to a wave of random
   * ports of `natHost`, its NAT. The first goes when the hold ends (not at the link layer's next
   * tick: the peer's fan of sockets is open for a few seconds only).
   */
  armGuessing(peer: Peer, natHost: string, holdMs: number): void {
    this.#guesser.arm(peer, natHost, this.host.clock.now());
    if (holdMs <= 0) return;
    this.host.clock.setTimer(holdMs, () => {
      if (!this.host.isClosed() && !peer.current) this.host.initiateNow(peer);
    });
  }

  /** The cone side: `datagram`, an initiation just sent to `peer`, also goes to a wave of guesses. */
  afterInitiation(peer: Peer, datagram: Uint8Array, now: number): void {
    const g = peer.guess;
    if (!g) return;
    const send = (to: Endpoint, d: Uint8Array) => this.host.transport.send(to, d);
    if (!this.#guesser.wave(peer, datagram, now, send)) return;
    this.host.logger.debug(
      `birthday punch: wave ${g.waves} of guesses toward ${g.host} for ${peer.keyText}`,
    );
  }
}
