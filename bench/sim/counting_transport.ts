/**
 * A `Transport` wrapper that counts sent datagrams by their wire message type (the second
 * byte of the common header), into counters shared by every node of a world.
 *
 * @module
 */
import type { Endpoint } from "../../lib/transport/endpoint.ts";
import type { DatagramHandler, Transport, TransportStats } from "../../lib/transport/transport.ts";

/** Names of the wire message types (lib/wire/header.ts), by type number. */
export const WIRE_TYPE_NAMES: Record<number, string> = {
  1: "handshake_init",
  2: "handshake_resp",
  3: "key_probe",
  4: "data",
  5: "overlay",
};

/** Datagrams and bytes sent, by wire type (index = type number; 0 and 6.. = other). */
export class TypeCounters {
  readonly datagrams = new Float64Array(8);
  readonly bytes = new Float64Array(8);

  /** Counts one datagram. */
  add(data: Uint8Array): void {
    const t = data.length > 1 && data[1]! < 6 ? data[1]! : 0;
    this.datagrams[t]!++;
    this.bytes[t]! += data.length;
  }

  /** A copy of the datagram counts keyed by type name. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    this.datagrams.forEach((n, t) => {
      if (n > 0) out[WIRE_TYPE_NAMES[t] ?? "other"] = n;
    });
    return out;
  }
}

/** Passes everything to `inner`, counting each sent datagram in `counters`. */
export class CountingTransport implements Transport {
  constructor(private readonly inner: Transport, private readonly counters: TypeCounters) {}

  get localEndpoint(): Endpoint {
    return this.inner.localEndpoint;
  }

  get stats(): TransportStats {
    return this.inner.stats;
  }

  onReceive(handler: DatagramHandler): void {
    this.inner.onReceive(handler);
  }

  send(to: Endpoint, data: Uint8Array): void {
    this.counters.add(data);
    this.inner.send(to, data);
  }

  flush(): void {
    this.inner.flush();
  }

  close(): void {
    this.inner.close();
  }
}
