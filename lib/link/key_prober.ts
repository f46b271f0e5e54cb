import type { Clock, Rng } from "../clock/clock.ts";
import type { Endpoint } from "../transport/endpoint.ts";
import { decodeKeyProbe, encodeKeyProbe, KEY_PROBE_NONCE_BYTES } from "../wire/key_probe.ts";
import type { DropCounters } from "./drop_counters.ts";
import type { TokenBucket } from "./rate_limiter.ts";

/** Called with the key a probed endpoint answered with, and where the answer came from. */
export type KeyAnswerHandler = (publicKey: Uint8Array, from: Endpoint) => void;

/** Probes in flight, at most; older ones are forgotten first. */
const MAX_PENDING_PROBES = 64;
/** An answer later than this after its request is ignored. */
const PROBE_TIMEOUT_MS = 10_000;

interface PendingProbe {
  readonly onAnswer: KeyAnswerHandler;
  readonly sentAt: number;
}

/**
 * Answers key probes with our public key and matches answers to the probes we sent (see
 * `lib/wire/key_probe.ts`). Answers are rate-limited with the handshakes' token bucket; an
 * answer without a matching request in flight is dropped.
 */
export class KeyProber {
  readonly #pending = new Map<string, PendingProbe>();

  constructor(
    private readonly publicKey: Uint8Array,
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly limiter: TokenBucket,
    private readonly drops: DropCounters,
    private readonly send: (to: Endpoint, datagram: Uint8Array) => void,
  ) {}

  /** Asks `to` for its public key; `onAnswer` runs once if a matching answer arrives in time. */
  probe(to: Endpoint, onAnswer: KeyAnswerHandler): void {
    const now = this.clock.now();
    for (const [nonce, p] of this.#pending) {
      if (now - p.sentAt > PROBE_TIMEOUT_MS || this.#pending.size >= MAX_PENDING_PROBES) {
        this.#pending.delete(nonce);
      }
    }
    const nonce = this.rng.fill(new Uint8Array(KEY_PROBE_NONCE_BYTES));
    this.#pending.set(nonce.toHex(), { onAnswer, sentAt: now });
    this.send(to, encodeKeyProbe(nonce));
  }

  /** Handles a datagram of type key probe. */
  onProbe(data: Uint8Array, from: Endpoint): void {
    const msg = decodeKeyProbe(data);
    if (!msg) return void this.drops.malformed++;
    if (!msg.answer) {
      if (!this.limiter.take()) return void this.drops.rateLimited++;
      this.send(from, encodeKeyProbe(msg.nonce, this.publicKey));
      return;
    }
    const key = msg.nonce.toHex();
    const pending = this.#pending.get(key);
    if (!pending || this.clock.now() - pending.sentAt > PROBE_TIMEOUT_MS) {
      return void this.drops.unknownSession++;
    }
    this.#pending.delete(key);
    pending.onAnswer(msg.publicKey.slice(), from);
  }
}
