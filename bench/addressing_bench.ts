/**
 * Addressing benchmark (issue 4), real agents in network namespaces on one bridge (underlay
 * 198.18.0.0/24, virtual subnet 100.64.0.0/16):
 *
 * 1. start to usable address: a fifth agent joining a leased overlay of four, timed from just
 *    before the spawn to its TUN carrying the leased address and to its first ping reply from
 *    the founder (`--runs`, default 20), plus a lone founder's time to address (`--founder-runs`,
 *    default 5);
 * 2. ping RTT over 1, 2 and 3 overlay hops on a line A-B-C-D forced with iptables, against the
 *    raw underlay RTT (`--pings` per path, default 50, every `--interval` s, default 0.05).
 *
 *   deno run -A bench/addressing_bench.ts [--runs 20] [--founder-runs 5] [--pings 50]
 *       [--interval 0.05] [--parts start,hops] [--json] [--no-record]
 *
 * Progress goes to stderr, the tables (or `--json`) to stdout; unless `--no-record`, the tables
 * are appended to docs/benchmarks.md under "Addressing (issue 4)". Needs root, ip, iptables and
 * ping. Every namespace is removed in `finally`, also on failure; every wait is bounded.
 */
import { parseArgs } from "node:util";
import { canUseNetns } from "../tests/helpers/netns.ts";
import { productExists } from "../tests/helpers/agent_process.ts";
import type { Summary } from "./_addressing_rig.ts";
import { benchStart, type StartReport } from "./_addressing_start.ts";
import { benchHops, type HopsReport } from "./_addressing_hops.ts";

/** Starts slower than this are counted apart (the distribution is bimodal, see the docs). */
const SLOW_START_MS = 2_000;
const DOCS_FILE = new URL("../docs/benchmarks.md", import.meta.url);

function progress(msg: string): void {
  console.error(`[addressing ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function f(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

function startRow(label: string, s: Summary): string {
  return `| ${label} | ${s.n} | ${f(s.p50, 0)} | ${f(s.p99, 0)} | ${f(s.min, 0)} | ${
    f(s.max, 0)
  } |`;
}

/** Part 1 as a markdown table (ms). */
export function renderStart(r: StartReport): string {
  const lines = [
    "| from spawn to … (ms) | n | p50 | p99 | min | max |",
    "|---|---:|---:|---:|---:|---:|",
    startRow("joiner: leased address on its TUN", r.toAddress),
    startRow("joiner: first ping reply from the founder", r.toPing),
  ];
  if (r.founderToAddress.n > 0) {
    lines.push(startRow("lone founder: leased address on its TUN", r.founderToAddress));
  }
  lines.push(startRow("joiner: SIGTERM to exit (lease released)", r.toExit));
  const sorted = [...r.toAddressSamples].sort((a, b) => a - b);
  const slow = sorted.filter((ms) => ms > SLOW_START_MS).length;
  lines.push(
    "",
    `Joiner spawn → address, all runs sorted (ms): ${
      sorted.map((ms) => ms.toFixed(0)).join(", ")
    }` +
      ` — ${slow} of ${sorted.length} over ${SLOW_START_MS} ms.`,
  );
  if (r.failures.length > 0) lines.push("", `Failures: ${r.failures.join("; ")}`);
  return lines.join("\n");
}

/** Part 2 as a markdown table (ms) plus A's connections. */
export function renderHops(r: HopsReport): string {
  const lines = [
    "| A → | overlay hops | replies | RTT min | avg | p50 | max | underlay avg | underlay p50 | " +
    "added (p50) | A's router: direct / routed |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const x of r.results) {
    const o = x.overlay;
    const u = x.underlay;
    lines.push(
      `| ${x.target} | ${x.hops} | ${x.reachable ? `${x.received}/${x.sent}` : "unreachable"} | ` +
        `${f(o.min, 3)} | ${f(o.avg, 3)} | ${f(o.p50, 3)} | ${f(o.max, 3)} | ${f(u.avg, 3)} | ` +
        `${f(u.p50, 3)} | ${f(o.p50 - u.p50, 3)} | ${x.direct} / ${x.routed} |`,
    );
  }
  const conns = r.connectionsOfA.map((c) => `${c.name} (${c.kind}, ${c.endpoint})`).join(", ");
  lines.push(
    "",
    `Ring order (overlay addresses, clockwise): ${
      r.addresses.map((a, i) => `${"ABCD"[i]} ${a.slice(0, 12)}…`).join(", ")
    }; virtual IPs ${r.vips.join(", ")}.`,
    `A's connections at the end: ${conns || "none"}${
      r.shortcut ? " (A is linked to C or D: hop counts NOT as intended)" : " (none to C or D)"
    }.`,
  );
  if (r.diagnostics !== "") lines.push("", "```", r.diagnostics.trimEnd(), "```");
  return lines.join("\n");
}

const EXPLANATION = `What the figures mean:
- *joiner: leased address on its TUN*: from just before \`deno run main.ts up\` is spawned (fresh
  identity and state dir, bootstrap = the founder of a leased 4-agent overlay) until
  \`ip -4 addr show dev ipop0\` (polled every 10 ms) shows the leased 100.64.x.y. It covers Deno
  start-up, joining the ring, the DHT claim with its quorum, and the address set on the TUN.
- *joiner: first ping reply from the founder*: from the same instant to the first echo reply
  from the founder's virtual IP (\`ping -c 1 -i 0.01\`, started once the address is there); it
  adds the resolver's DHT look-up of the founder's address and the founder's of the joiner's.
- *lone founder*: an agent with no bootstrap founding its own overlay, spawn to address.
- *SIGTERM to exit*: the joiner's clean stop, which releases its lease first (a DHT delete).
- *A → B/C/D*: \`ping -i 0.05\` RTT from A's virtual IP; A, B, C, D have consecutive overlay
  addresses and iptables drops UDP between A-C, A-D and B-D, so B is 1 overlay hop away (direct
  link), C 2 (A→B→C) and D 3 (A→B→C→D), both ways. *underlay* is \`ping\` between the same two
  namespaces' underlay addresses in the same run; *added* is overlay p50 minus underlay p50.
  *A's router* counts the pings' packets A sent over a direct link or routed through the overlay.
- p99 of 20 samples is the largest but one at best (nearest rank: it is the maximum here).`;

async function record(text: string): Promise<void> {
  let existing = "";
  try {
    existing = await Deno.readTextFile(DOCS_FILE);
  } catch { /* first run */ }
  if (existing === "") existing = "# Benchmarks\n";
  await Deno.writeTextFile(DOCS_FILE, existing.trimEnd() + "\n\n" + text + "\n");
  progress(`appended to ${DOCS_FILE.pathname}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "20" },
      "founder-runs": { type: "string", default: "5" },
      pings: { type: "string", default: "50" },
      interval: { type: "string", default: "0.05" },
      parts: { type: "string", default: "start,hops" },
      json: { type: "boolean", default: false },
      "no-record": { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  const founderRuns = Number(values["founder-runs"]);
  const pings = Number(values.pings);
  const interval = Number(values.interval);
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= 200)) throw new RangeError("--runs 1..200");
  if (!(Number.isInteger(founderRuns) && founderRuns >= 0 && founderRuns <= 50)) {
    throw new RangeError("--founder-runs 0..50");
  }
  if (!(Number.isInteger(pings) && pings >= 1 && pings <= 1000)) {
    throw new RangeError("--pings 1..1000");
  }
  if (!(interval >= 0.01 && interval <= 1)) throw new RangeError("--interval 0.01..1 s");
  if (!canUseNetns()) throw new Error("The addressing benchmark needs root (network namespaces)");
  if (!productExists()) throw new Error("main.ts not found");
  const parts = new Set(values.parts.split(","));

  const date = new Date().toISOString();
  let start: StartReport | undefined;
  let hops: HopsReport | undefined;
  if (parts.has("start")) start = await benchStart(runs, founderRuns, progress);
  if (parts.has("hops")) hops = await benchHops(pings, interval, progress);

  if (values.json) {
    console.log(JSON.stringify({ date, cpus: navigator.hardwareConcurrency, start, hops }));
  }
  const blocks: string[] = [];
  if (start) {
    blocks.push(
      `### Start to usable address (${runs} joiner starts${
        founderRuns > 0 ? `, ${founderRuns} lone-founder starts` : ""
      })\n\n${renderStart(start)}`,
    );
  }
  if (hops) {
    blocks.push(
      `### Ping RTT by overlay hop count (${pings} pings every ${interval} s per path)\n\n${
        renderHops(hops)
      }`,
    );
  }
  const body = blocks.join("\n\n");
  if (!values.json) console.log(body);
  if (!values["no-record"]) {
    const flags = `--runs ${runs} --founder-runs ${founderRuns} --pings ${pings} ` +
      `--interval ${interval} --parts ${values.parts}`;
    await record(
      `## Addressing (issue 4) — ${date.slice(0, 16).replace("T", " ")} UTC\n\n` +
        `Real agents (\`main.ts up\`, one per network namespace) on one bridge; Linux ` +
        `${Deno.osRelease()}, ${navigator.hardwareConcurrency} CPUs with other work running ` +
        `on the machine. \`deno run -A bench/addressing_bench.ts ${flags}\`.\n\n${body}\n\n` +
        EXPLANATION,
    );
  }
}

if (import.meta.main) await main();
