import type { DhtNode } from "../dht/dht_node.ts";
import type { Outcome } from "../dht/quorum.ts";
import { DhtStatus } from "../dht/dht_message.ts";
import { MAX_KEY_BYTES, MAX_TTL_SECONDS, MAX_VALUE_BYTES } from "../dht/dht_record.ts";
import { leaseKey, parseCanonicalIpv4 } from "../dhcp/subnet.ts";
import { addressOfKey, addressToHex } from "../overlay/address.ts";
import type { Echoes, EchoResult } from "../overlay/echo.ts";
import { DEFAULT_TTL } from "../overlay/overlay_message.ts";

/** Default lifetime of `ipop dht put`, in seconds. */
export const DEFAULT_PUT_TTL_SECONDS = 3_600;

/** What the control commands act on. */
export interface ControlParts {
  dht: DhtNode;
  network: string;
  status(): unknown;
  /** Overlay ping and traceroute (`OverlayNode.echoes`). */
  echoes: Echoes;
}

/** The answer of `ping`: the owner, round-trip time, and the route hop by hop. */
export interface PingAnswer {
  ip: string;
  /** The owner's overlay address (hex), or null when nobody holds the address. */
  owner: string | null;
  /** "reply", "timeout", or "unowned". */
  result: string;
  rttMs: number | null;
  /** The overlay nodes the request crossed, the owner last (hex; null: a hop that did not say). */
  route: (string | null)[];
}

/** Longest route `ping` traces. */
export const MAX_TRACE_HOPS = 16;
/** How long `ping` spends tracing the route at most (the control exchange has 10 s). */
export const TRACE_BUDGET_MS = 5_000;
/** How long `ping` waits for each answer. */
export const PING_TIMEOUT_MS = 2_000;

/** One record as the CLI shows it. */
export interface RecordView {
  /** The owner's public key, base64. */
  owner: string;
  /** The owner's overlay address, hex. */
  ownerAddress: string;
  /** The value as UTF-8 text (invalid bytes replaced) and as base64. */
  value: string;
  valueBase64: string;
  seq: number;
  expiresInMs: number;
}

/** The answer of a DHT command. */
export interface DhtAnswer {
  status: string;
  records: RecordView[];
}

/** A request the agent refuses (bad arguments): its message is one line for the user. */
export class ControlArgumentError extends Error {
  override name = "ControlArgumentError";
}

const STATUS_NAMES: Record<number, string> = {
  [DhtStatus.Ok]: "ok",
  [DhtStatus.Taken]: "taken",
  [DhtStatus.NotFound]: "not found",
  [DhtStatus.Rejected]: "rejected",
  [DhtStatus.Full]: "full",
  [DhtStatus.NoQuorum]: "no quorum (the replicas did not answer)",
};

/**
 * Answers one control request: `{"cmd":"status"}`, `{"cmd":"dht-get","key":K}`,
 * `{"cmd":"dht-put","key":K,"value":V,"ttl":SECONDS}` and `{"cmd":"resolve","ip":IP}`.
 * Throws `ControlArgumentError` (one line) for an unknown command or bad arguments.
 */
export async function answerControl(
  parts: ControlParts,
  request: Record<string, unknown>,
): Promise<unknown> {
  switch (request.cmd) {
    case "status":
      return parts.status();
    case "dht-get": {
      const key = keyArgument(request.key);
      return view(await outcomeOf((done) => parts.dht.get(key, done)));
    }
    case "dht-put": {
      const key = keyArgument(request.key);
      const value = new TextEncoder().encode(stringArgument(request.value, "value"));
      if (value.length > MAX_VALUE_BYTES) {
        throw new ControlArgumentError(`A value is at most ${MAX_VALUE_BYTES} bytes`);
      }
      const ttlSeconds = ttlArgument(request.ttl);
      return view(await outcomeOf((done) => parts.dht.put({ key, value, ttlSeconds }, done)));
    }
    case "ping":
      return await ping(parts, stringArgument(request.ip, "ip"));
    case "resolve": {
      const text = stringArgument(request.ip, "ip");
      const ip = parseCanonicalIpv4(text);
      if (ip === null) throw new ControlArgumentError(`Not an IPv4 address: ${text}`);
      const key = leaseKey(parts.network, ip);
      return { ip: text, ...view(await outcomeOf((done) => parts.dht.get(key, done))) };
    }
    default:
      throw new ControlArgumentError(`Unknown command ${JSON.stringify(request.cmd ?? null)}`);
  }
}

async function ping(parts: ControlParts, text: string): Promise<PingAnswer> {
  const ip = parseCanonicalIpv4(text);
  if (ip === null) throw new ControlArgumentError(`Not an IPv4 address: ${text}`);
  const found = await outcomeOf((done) => parts.dht.get(leaseKey(parts.network, ip), done));
  const record = found.records[0]?.record;
  if (found.status !== DhtStatus.Ok || !record) {
    return { ip: text, owner: null, result: "unowned", rttMs: null, route: [] };
  }
  const owner = addressOfKey(record.owner);
  const echo = (ttl: number) =>
    new Promise<EchoResult>((resolve) => parts.echoes.send(owner, ttl, PING_TIMEOUT_MS, resolve));
  const first = await echo(DEFAULT_TTL);
  const answer: PingAnswer = {
    ip: text,
    owner: addressToHex(owner),
    result: first.kind === "reply" ? "reply" : "timeout",
    rttMs: first.kind === "reply" ? Math.round(first.rttMs * 1000) / 1000 : null,
    route: [],
  };
  if (first.kind !== "reply") return answer;
  const startedAt = performance.now();
  for (let ttl = 1; ttl <= MAX_TRACE_HOPS; ttl++) {
    if (performance.now() - startedAt > TRACE_BUDGET_MS) break; // the control exchange has 10 s
    const step = await echo(ttl);
    if (step.kind === "reply") break;
    answer.route.push(step.kind === "expired" ? addressToHex(step.at) : null);
    if (step.kind === "expired" && step.at === owner) break;
  }
  if (answer.route.at(-1) !== answer.owner) answer.route.push(answer.owner);
  return answer;
}

function outcomeOf(start: (done: (o: Outcome) => void) => void): Promise<Outcome> {
  return new Promise((resolve) => start(resolve));
}

function view(o: Outcome): DhtAnswer {
  return {
    status: STATUS_NAMES[o.status] ?? String(o.status),
    records: o.records.map(({ record, remainingMs }) => ({
      owner: record.owner.toBase64(),
      ownerAddress: addressToHex(addressOfKey(record.owner)),
      value: new TextDecoder().decode(record.value),
      valueBase64: record.value.toBase64(),
      seq: record.seq,
      expiresInMs: remainingMs,
    })),
  };
}

function stringArgument(v: unknown, name: string): string {
  if (typeof v !== "string") throw new ControlArgumentError(`Missing ${name}`);
  return v;
}

function keyArgument(v: unknown): Uint8Array {
  const key = new TextEncoder().encode(stringArgument(v, "key"));
  if (key.length < 1 || key.length > MAX_KEY_BYTES) {
    throw new ControlArgumentError(`A key is 1 to ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

function ttlArgument(v: unknown): number {
  if (v === undefined) return DEFAULT_PUT_TTL_SECONDS;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_TTL_SECONDS) {
    throw new ControlArgumentError(`The TTL is 1 to ${MAX_TTL_SECONDS} seconds`);
  }
  return v;
}
