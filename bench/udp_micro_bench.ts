/**
 * Micro-benchmark of the real UDP transport: one `UdpTransport` sends 1400-byte datagrams to
 * another over 127.0.0.1 in the same process, keeping a window of datagrams in flight, and
 * reports datagrams/s and Gbit/s received.
 *
 *   deno run -A bench/udp_micro_bench.ts [--seconds 3] [--window 2048] [--size 1400] [--batch 64]
 */

import { parseArgs } from "node:util";
import { IoLoop } from "../ffi/io_loop.ts";
import { UdpTransport } from "../ffi/udp_transport.ts";
import { endpoint } from "../lib/transport/endpoint.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    window: { type: "string", default: "2048" },
    size: { type: "string", default: "1400" },
    batch: { type: "string", default: "64" },
  },
});
const seconds = Number(values.seconds);
const windowSize = Number(values.window);
const size = Number(values.size);
const batchSize = Number(values.batch);

const loop = new IoLoop();
const tx = UdpTransport.bind(loop, endpoint("127.0.0.1", 0), { batchSize });
const rx = UdpTransport.bind(loop, endpoint("127.0.0.1", 0), { batchSize });
const to = endpoint("127.0.0.1", rx.localEndpoint.port);
const payload = new Uint8Array(size).fill(0x5a);

let received = 0;
let sent = 0;
rx.onReceive(() => received++);

/** Tops the in-flight window up (it must fit the socket buffers, or it stalls on a loss). */
function topUp(): void {
  while (sent - received < windowSize) {
    tx.send(to, payload);
    sent++;
  }
  tx.flush();
}

loop.afterBurst(topUp);
const running = loop.run();
const start = performance.now();
topUp();
// Reads the counters at the end of the measurement window.
await new Promise((r) => setTimeout(r, seconds * 1000));
const elapsedS = (performance.now() - start) / 1000;
const got = rx.stats.datagramsReceived;
await loop.stop();
await running;
tx.close();
rx.close();

const pps = got / elapsedS;
console.log(
  `udp loopback ${size}-byte datagrams, batch ${batchSize}: ${Math.round(pps)} datagrams/s ` +
    `(${(pps * size * 8 / 1e9).toFixed(2)} Gbit/s payload), sent ${tx.stats.datagramsSent}, ` +
    `send drops ${tx.stats.sendDrops}, received ${got}`,
);
