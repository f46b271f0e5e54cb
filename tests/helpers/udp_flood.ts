/**
 * A UDP flood sender, run as its own process inside a namespace (`ip netns exec NS deno run -A
 * tests/helpers/udp_flood.ts ...`): sends random datagrams of random sizes and/or replays the UDP
 * payloads of a pcap file at one target, paced evenly over a bounded duration, in a seeded random
 * order. Prints one JSON line `FloodResult` on stdout.
 *
 *   --target HOST:PORT   where to send (required)
 *   --bind HOST          local address to send from (default 0.0.0.0)
 *   --random N           random datagrams to send (default 0)
 *   --min-size B / --max-size B   their size range in bytes (default 1 / 1400)
 *   --replay FILE        pcap whose UDP payloads (to --replay-port if given) are resent once each
 *   --replay-port P      only replay datagrams sent to this port
 *   --duration-ms MS     spread the sending over this long (default 3000)
 *   --seed S             seed for sizes, contents and order (default: random, printed)
 */
import { createSocket } from "node:dgram";
import { parseArgs } from "node:util";
import { parsePcapUdp } from "./pcap.ts";

/** What the sender reports. */
export interface FloodResult {
  seed: number;
  randomSent: number;
  replaySent: number;
  sendErrors: number;
  elapsedMs: number;
}

/** A seeded PRNG (mulberry32) returning uint32s. */
export function seededUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The path of this script, for `deno run`. */
export const UDP_FLOOD_TS = new URL(import.meta.url).pathname;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: "string" },
      bind: { type: "string", default: "0.0.0.0" },
      random: { type: "string", default: "0" },
      "min-size": { type: "string", default: "1" },
      "max-size": { type: "string", default: "1400" },
      replay: { type: "string" },
      "replay-port": { type: "string" },
      "duration-ms": { type: "string", default: "3000" },
      seed: { type: "string" },
    },
  });
  const target = values.target ?? "";
  const colon = target.lastIndexOf(":");
  if (colon < 0) throw new Error("--target HOST:PORT is required");
  const hostname = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  const seed = values.seed !== undefined
    ? Number(values.seed)
    : crypto.getRandomValues(new Uint32Array(1))[0]!;
  const next = seededUint32(seed);
  const minSize = Number(values["min-size"]);
  const maxSize = Number(values["max-size"]);
  const durationMs = Number(values["duration-ms"]);

  // Build the whole schedule first: null = a random datagram, else a replayed payload.
  const items: (Uint8Array | null)[] = [];
  for (let i = 0; i < Number(values.random); i++) items.push(null);
  if (values.replay !== undefined) {
    const onlyPort = values["replay-port"] === undefined
      ? undefined
      : Number(values["replay-port"]);
    for (const d of parsePcapUdp(await Deno.readFile(values.replay))) {
      if (onlyPort === undefined || d.dstPort === onlyPort) items.push(d.payload);
    }
  }
  for (let i = items.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }

  const sock = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, values.bind, () => resolve());
  });
  const send = (data: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      sock.send(data, port, hostname, (err) => err ? reject(err) : resolve())
    );
  const result: FloodResult = { seed, randomSent: 0, replaySent: 0, sendErrors: 0, elapsedMs: 0 };
  const batch = 50;
  const batches = Math.max(1, Math.ceil(items.length / batch));
  const t0 = performance.now();
  try {
    for (let b = 0; b < batches; b++) {
      for (const item of items.slice(b * batch, (b + 1) * batch)) {
        let data = item;
        if (data === null) {
          data = new Uint8Array(minSize + (next() % (maxSize - minSize + 1)));
          for (let k = 0; k < data.length; k += 4) {
            const r = next();
            data[k] = r;
            data[k + 1] = r >>> 8;
            data[k + 2] = r >>> 16;
            data[k + 3] = r >>> 24;
          }
        }
        try {
          await send(data);
          if (item === null) result.randomSent++;
          else result.replaySent++;
        } catch {
          result.sendErrors++;
        }
      }
      // Pace: batch b+1 is due at (b+1)/batches of the duration.
      const due = t0 + ((b + 1) / batches) * durationMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
  result.elapsedMs = Math.round(performance.now() - t0);
  console.log(JSON.stringify(result));
}

if (import.meta.main) await main();
