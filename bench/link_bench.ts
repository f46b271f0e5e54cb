/**
 * Link benchmark: TCP throughput (iperf3, 1 and 4 streams) and ping RTT between two network
 * namespaces through (a) the raw veth underlay, (b) ipop (MTU 1420) and (c) wireguard-go (MTU 1420,
 * userspace TUN), plus the CPU (% of one core during the iperf runs) and peak memory of the ipop
 * agents and the wireguard-go processes.
 *
 *   deno run -A bench/link_bench.ts [--duration 10] [--json] [--paths raw,ipop,wireguard-go]
 *                                   [--no-record]
 *
 * Progress goes to stderr; the table (or `--json`) to stdout. When ipop ran, the table is appended
 * with the date to docs/benchmarks.md (unless `--no-record`). Needs root, iperf3, ping,
 * wireguard-go and wg. Everything is torn down in `finally`.
 */
import { parseArgs } from "node:util";
import { AgentProcess, makeSecretFile, productExists } from "../tests/helpers/agent_process.ts";
import {
  canUseNetns,
  createTwoHosts,
  pingUntilReply,
  type Rig,
  waitTcpListening,
} from "../tests/helpers/netns.ts";
import {
  clockTicksPerSecond,
  CpuMeter,
  IPERF_PORT,
  iperfMbps,
  peakMemoryMiB,
  pingAvgMs,
  startIperfServer,
  startWireguardGo,
} from "./netns_bench_rig.ts";

/** One measured path. */
export interface PathResult {
  path: string;
  mbps1: number;
  mbps4: number;
  rttAvgMs: number;
  /** RTT added over the raw underlay, ms (NaN when raw was not measured). */
  rttAddedMs: number;
  /** Per process of the path (agents / wireguard-go): CPU % of one core during iperf, peak MiB. */
  processes: { name: string; cpuPercentOfCore: number; peakMemoryMiB: number }[];
}

const DOCS_FILE = new URL("../docs/benchmarks.md", import.meta.url);

function progress(msg: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

async function measure(
  rig: Rig,
  path: string,
  clientNs: string,
  serverNs: string,
  serverIp: string,
  seconds: number,
  procs: { name: string; pid: number }[],
): Promise<PathResult> {
  const server = startIperfServer(rig, serverNs, serverIp);
  if (!await waitTcpListening(rig, serverNs, IPERF_PORT, 10_000)) {
    throw new Error(`iperf3 server in ${serverNs} did not listen: ${server.stderr()}`);
  }
  const meter = new CpuMeter(procs.map((p) => p.pid), await clockTicksPerSecond());
  try {
    progress(`${path}: iperf3 1 stream, ${seconds} s`);
    await meter.begin();
    const mbps1 = await iperfMbps(rig, clientNs, serverIp, seconds, 1);
    await meter.end();
    progress(`${path}: ${mbps1.toFixed(0)} Mbit/s; iperf3 4 streams, ${seconds} s`);
    await meter.begin();
    const mbps4 = await iperfMbps(rig, clientNs, serverIp, seconds, 4);
    await meter.end();
    progress(`${path}: ${mbps4.toFixed(0)} Mbit/s; ping RTT`);
    const rttAvgMs = await pingAvgMs(rig, clientNs, serverIp);
    progress(`${path}: RTT avg ${rttAvgMs.toFixed(3)} ms`);
    const cpu = meter.percentOfCore();
    const processes = await Promise.all(procs.map(async (p, i) => ({
      name: p.name,
      cpuPercentOfCore: cpu[i]!,
      peakMemoryMiB: await peakMemoryMiB(p.pid),
    })));
    return { path, mbps1, mbps4, rttAvgMs, rttAddedMs: NaN, processes };
  } finally {
    await server.killAndReap();
  }
}

async function benchIpop(rig: Rig, a: string, b: string, ipA: string, ipB: string, s: number) {
  progress("ipop: starting agents");
  const secret = await makeSecretFile(rig);
  const [dirA, keyA] = await AgentProcess.prepare(rig);
  const [dirB, keyB] = await AgentProcess.prepare(rig);
  const common = { secretFile: secret, mtu: 1420, logLevel: "warn" };
  const agentA = await AgentProcess.start(rig, {
    ...common,
    ns: a,
    stateDir: dirA,
    listen: `${ipA}:51820`,
    address: "100.64.0.1/24",
    peers: [`${keyB}@${ipB}:51820`],
  });
  const agentB = await AgentProcess.start(rig, {
    ...common,
    ns: b,
    stateDir: dirB,
    listen: `${ipB}:51820`,
    address: "100.64.0.2/24",
    peers: [`${keyA}@${ipA}:51820`],
  });
  await agentA.waitEstablished();
  await agentB.waitEstablished();
  if (!await pingUntilReply(rig, a, "100.64.0.2", 10_000)) {
    throw new Error(`no ping through ipop\n${agentA.logs()}\n${agentB.logs()}`);
  }
  const r = await measure(rig, "ipop", a, b, "100.64.0.2", s, [
    { name: "ipop agent A", pid: agentA.pid },
    { name: "ipop agent B", pid: agentB.pid },
  ]);
  progress("ipop: stopping agents (SIGTERM)");
  await agentA.stop();
  await agentB.stop();
  return r;
}

async function benchWireguardGo(
  rig: Rig,
  a: string,
  b: string,
  ipA: string,
  ipB: string,
  s: number,
) {
  progress("wireguard-go: starting");
  const [wa, wb] = await startWireguardGo(rig, a, ipA, b, ipB, `wg${Deno.pid % 100000}`);
  if (!await pingUntilReply(rig, a, "100.65.0.2", 10_000)) {
    throw new Error(`no ping through wireguard-go: ${wa.proc.stderr()} ${wb.proc.stderr()}`);
  }
  return await measure(rig, "wireguard-go", a, b, "100.65.0.2", s, [
    { name: "wireguard-go A", pid: wa.proc.pid },
    { name: "wireguard-go B", pid: wb.proc.pid },
  ]);
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/** The results as a markdown table plus ratio and process lines. */
export function renderTable(results: PathResult[]): string {
  const lines = [
    "| path | 1-stream Mbit/s | 4-stream Mbit/s | RTT avg ms | RTT added over raw ms |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.path} | ${fmt(r.mbps1, 0)} | ${fmt(r.mbps4, 0)} | ${fmt(r.rttAvgMs, 3)} | ${
        fmt(r.rttAddedMs, 3)
      } |`,
    );
  }
  const by = (p: string) => results.find((r) => r.path === p);
  const ipop = by("ipop");
  lines.push("");
  for (const [other, label] of [["wireguard-go", "wireguard-go"], ["raw veth", "raw"]]) {
    const o = by(other!);
    if (ipop === undefined || o === undefined) continue;
    lines.push(
      `- ipop/${label}: 1-stream ${fmt(ipop.mbps1 / o.mbps1, 2)}×, 4-stream ${
        fmt(ipop.mbps4 / o.mbps4, 2)
      }×, RTT ${fmt(ipop.rttAvgMs / o.rttAvgMs, 2)}×`,
    );
  }
  for (const r of results) {
    for (const p of r.processes) {
      lines.push(
        `- ${p.name}: CPU ${fmt(p.cpuPercentOfCore, 0)}% of one core during iperf, peak memory ` +
          `(VmHWM) ${fmt(p.peakMemoryMiB, 1)} MiB`,
      );
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      json: { type: "boolean", default: false },
      paths: { type: "string", default: "raw,ipop,wireguard-go" },
      "no-record": { type: "boolean", default: false },
    },
  });
  const seconds = Number(values.duration);
  if (!(seconds >= 1 && seconds <= 600)) throw new RangeError("--duration must be 1..600 s");
  if (!canUseNetns()) throw new Error("The link benchmark needs root (network namespaces)");
  const wanted = new Set(values.paths.split(","));
  if (wanted.has("ipop") && !productExists()) {
    progress("ipop: main.ts not found, skipping the ipop path");
    wanted.delete("ipop");
  }
  const results: PathResult[] = [];
  progress("building namespaces");
  const h = await createTwoHosts();
  try {
    if (wanted.has("raw")) {
      results.push(await measure(h.rig, "raw veth", h.a, h.b, h.ipB, seconds, []));
    }
    if (wanted.has("ipop")) results.push(await benchIpop(h.rig, h.a, h.b, h.ipA, h.ipB, seconds));
    if (wanted.has("wireguard-go")) {
      results.push(await benchWireguardGo(h.rig, h.a, h.b, h.ipA, h.ipB, seconds));
    }
  } finally {
    progress("tearing down");
    await h.rig.close();
  }
  const raw = results.find((r) => r.path === "raw veth");
  for (const r of results) r.rttAddedMs = raw === undefined ? NaN : r.rttAvgMs - raw.rttAvgMs;
  const date = new Date().toISOString();
  const table = renderTable(results);
  if (values.json) {
    console.log(
      JSON.stringify({ date, durationS: seconds, cpus: navigator.hardwareConcurrency, results }),
    );
  } else {
    console.log(table);
  }
  if (results.some((r) => r.path === "ipop") && !values["no-record"]) {
    const kernel = Deno.osRelease();
    const section =
      `\n## ${date.slice(0, 16).replace("T", " ")} UTC — link bench, ${seconds} s per ` +
      `iperf run\n\nTwo network namespaces on a veth pair; Linux ${kernel}, ` +
      `${navigator.hardwareConcurrency} CPUs. \`deno task bench --duration ${seconds}\`.\n\n${table}\n`;
    let existing = "";
    try {
      existing = await Deno.readTextFile(DOCS_FILE);
    } catch { /* first run */ }
    if (existing === "") existing = "# Benchmarks\n";
    await Deno.writeTextFile(DOCS_FILE, existing + section);
    progress(`appended to ${DOCS_FILE.pathname}`);
  }
}

if (import.meta.main) await main();
