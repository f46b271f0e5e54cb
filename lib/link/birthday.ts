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
 * This module holds the cone side (`PortGuesser`) and how a node tells which kind it is.
 */
import type { Rng } from "../clock/clock.ts";
import { type Endpoint, sameEndpoint } from "../transport/endpoint.ts";
import { endpoint } from "../transport/endpoint.ts";
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
