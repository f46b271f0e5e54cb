import type { TimerHandle } from "../clock/clock.ts";
import type { OverlayAddress } from "./address.ts";
import { ADDRESS_BYTES, addressFromBytes, addressToBytes } from "./address.ts";
import { OverlayKind, type OverlayMessage } from "./overlay_message.ts";

/**
 * Overlay-level ping and traceroute (`ipop ping`).
 *
 * ```
 * EchoRequest / EchoReply body:  | id (u32 BE) |
 * Expired body:                  | id (u32 BE) | address of the node where the hop limit ran out (20) |
 * ```
 * An echo request is routed exactly to its destination, which answers with an echo reply
 * routed back; the reply's `hops` tells how many hops the answer took. A request sent with a
 * small hop limit (`ttl`) that runs out on the way is answered by the node where it ran out
 * with `Expired` and that node's address: sending limits 1, 2, … traces the route.
 */

/** What a ping or a trace step learned. */
export type EchoResult =
  | { kind: "reply"; rttMs: number; hops: number }
  | { kind: "expired"; rttMs: number; at: OverlayAddress }
  | { kind: "timeout" };

/** The slice of `OverlayNode` echoes need. */
export interface EchoHost {
  readonly address: OverlayAddress;
  now(): number;
  readonly clock: { setTimer(ms: number, fn: () => void): TimerHandle };
  readonly rng: { uint32(): number };
  message(kind: number, dst: OverlayAddress, flags: number, body: Uint8Array): OverlayMessage;
  route(msg: OverlayMessage): void;
}

/** Echoes waiting at once, at most. */
export const MAX_PENDING_ECHOES = 64;

interface Pending {
  sentAt: number;
  timer: TimerHandle;
  done: (r: EchoResult) => void;
}

/** Sends echo requests and answers them (see the module comment). */
export class Echoes {
  readonly #pending = new Map<number, Pending>();

  constructor(private readonly host: EchoHost) {}

  /** Sends an echo request to `dst` with hop limit `ttl`; `done` is called once. */
  send(dst: OverlayAddress, ttl: number, timeoutMs: number, done: (r: EchoResult) => void): void {
    if (this.#pending.size >= MAX_PENDING_ECHOES) return done({ kind: "timeout" });
    let id: number;
    do id = this.host.rng.uint32(); while (this.#pending.has(id));
    const timer = this.host.clock.setTimer(timeoutMs, () => this.#end(id, { kind: "timeout" }));
    this.#pending.set(id, { sentAt: this.host.now(), timer, done });
    const msg = this.host.message(OverlayKind.EchoRequest, dst, 0, idBody(id));
    msg.ttl = ttl;
    this.host.route(msg);
  }

  /** A routed echo request, reply or expiry notice delivered here. */
  delivered(msg: OverlayMessage): void {
    if (msg.body.length < 4) return;
    const id = new DataView(msg.body.buffer, msg.body.byteOffset, 4).getUint32(0);
    switch (msg.kind) {
      case OverlayKind.EchoRequest:
        return this.host.route(this.host.message(OverlayKind.EchoReply, msg.src, 0, idBody(id)));
      case OverlayKind.EchoReply:
        return this.#answer(id, (rttMs) => ({ kind: "reply", rttMs, hops: msg.hops }));
      case OverlayKind.Expired:
        if (msg.body.length < 4 + ADDRESS_BYTES) return;
        return this.#answer(id, (rttMs) => ({
          kind: "expired",
          rttMs,
          at: addressFromBytes(msg.body, 4),
        }));
    }
  }

  /** An echo request's hop limit ran out here: tell its sender where. */
  expired(msg: OverlayMessage): void {
    if (msg.kind !== OverlayKind.EchoRequest || msg.body.length < 4) return;
    const body = new Uint8Array(4 + ADDRESS_BYTES);
    body.set(msg.body.subarray(0, 4), 0);
    body.set(addressToBytes(this.host.address), 4);
    this.host.route(this.host.message(OverlayKind.Expired, msg.src, 0, body));
  }

  /** Ends every echo as a timeout (the node is closing). */
  close(): void {
    for (const id of [...this.#pending.keys()]) this.#end(id, { kind: "timeout" });
  }

  #answer(id: number, result: (rttMs: number) => EchoResult): void {
    const p = this.#pending.get(id);
    if (p) this.#end(id, result(this.host.now() - p.sentAt));
  }

  #end(id: number, r: EchoResult): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    p.timer.cancel();
    p.done(r);
  }
}

function idBody(id: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, id);
  return b;
}
