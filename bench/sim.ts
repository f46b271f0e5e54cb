/**
 * The overlay simulator CLI: thousands of full overlay nodes (the production code) on the fake
 * network in virtual time, deterministic from the seed.
 *
 * ```
 * deno run -A bench/sim.ts --nodes N --seed S [--churn RATE] [--duration SECONDS] [--json]
 *   [--nat-mix P,C,S [--cone TYPE]]
 * ```
 *
 * Prints a progress line to stderr about once per wall second and, at the end, a table (or with
 * `--json` one JSON object) on stdout. `--markdown` prints a row for docs/simulation.md.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadFastAead } from "../ffi/fast_aead.ts";
import { loadFastX25519 } from "../ffi/sodium_x25519.ts";
import { consoleLogger, type LogLevel } from "../lib/log.ts";
import { idealNodeFactory } from "./sim/ideal_node.ts";
import { overlayNodeFactory } from "./sim/overlay_factory.ts";
import { formatTable, MARKDOWN_HEADER, markdownRow } from "./sim/report.ts";
import { MAX_NAT_SIM_HOSTS, parseNatMix } from "./sim/nat_mix.ts";
import { DEFAULT_SIM_OPTIONS, runSimulation } from "./sim/run_sim.ts";
import { MAX_SIM_HOSTS } from "./sim/world.ts";

const USAGE = `Usage: deno run -A bench/sim.ts [options]
  --nodes N            nodes (default ${DEFAULT_SIM_OPTIONS.nodes})
  --seed S             seed (default ${DEFAULT_SIM_OPTIONS.seed})
  --churn RATE         fraction of nodes replaced per simulated minute, e.g. 0.1 (default 0)
  --duration SECONDS   churn phase length in virtual s (default 600 with churn)
  --crash-fraction F   fraction of churn exits that are crashes, the rest leave (default 0.5)
  --json               print one JSON object instead of the table
  --markdown           also print a markdown table row
  --join-interval MS   virtual ms between node starts (default ${DEFAULT_SIM_OPTIONS.joinIntervalMs})
  --bootstrap first|random   bootstrap from node 0 or a random started node (default random)
  --latency MS --jitter MS --loss P   fake network (default 20, 10, 0)
  --probes N           exact probes after convergence (default 10000)
  --nearest-probes N   nearest probes after convergence (default 1000)
  --probe-interval MS  virtual ms between two probes after convergence (default ${DEFAULT_SIM_OPTIONS.probeIntervalMs})
  --idle SECONDS       quiet window measuring maintenance traffic (default 10)
  --max-wait SECONDS   give up waiting for a consistent ring after (default 300)
  --node overlay|ideal the real OverlayNode (default) or a cheating 1-hop stand-in
  --nat-mix P,C,S      fractions of hosts public, behind cone-like NATs, behind symmetric NATs
                       (e.g. 0.2,0.5,0.3; host 0 always public; each NATed host has its own NAT;
                       joiners, churn's too, bootstrap from public hosts)
  --cone TYPE          cone-like NAT type: mixed (full-cone, address-restricted, port-restricted
                       in equal parts; default) or one of them
  --log LEVEL          node log level to stderr (default: silent)
  --quiet              no progress lines`;

function main(): void {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      nodes: { type: "string" },
      seed: { type: "string" },
      churn: { type: "string" },
      duration: { type: "string" },
      "crash-fraction": { type: "string" },
      json: { type: "boolean" },
      markdown: { type: "boolean" },
      "join-interval": { type: "string" },
      bootstrap: { type: "string" },
      latency: { type: "string" },
      jitter: { type: "string" },
      loss: { type: "string" },
      probes: { type: "string" },
      "nearest-probes": { type: "string" },
      "probe-interval": { type: "string" },
      idle: { type: "string" },
      "max-wait": { type: "string" },
      node: { type: "string" },
      "nat-mix": { type: "string" },
      cone: { type: "string" },
      log: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const num = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const v = Number(text);
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`--${name} must be a number >= 0`);
    return v;
  };
  const d = DEFAULT_SIM_OPTIONS;
  const nodes = num("nodes", values.nodes, d.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_SIM_HOSTS / 2) {
    throw new RangeError(`--nodes must be an integer in 1..${MAX_SIM_HOSTS / 2}`);
  }
  const bootstrap = values.bootstrap ?? d.bootstrap;
  if (bootstrap !== "first" && bootstrap !== "random") {
    throw new RangeError("--bootstrap must be first or random");
  }
  const kind = values.node ?? "overlay";
  if (kind !== "overlay" && kind !== "ideal") throw new RangeError("--node must be overlay|ideal");
  const natMix = values["nat-mix"] === undefined
    ? undefined
    : parseNatMix(values["nat-mix"], values.cone);
  if (natMix === undefined && values.cone !== undefined) {
    throw new RangeError("--cone needs --nat-mix");
  }
  if (natMix && nodes > MAX_NAT_SIM_HOSTS) {
    throw new RangeError(`--nodes must be at most ${MAX_NAT_SIM_HOSTS} with --nat-mix`);
  }
  const churn = num("churn", values.churn, 0);
  const result = runSimulation({
    ...d,
    nodes,
    seed: num("seed", values.seed, d.seed),
    churn,
    crashFraction: Math.min(1, num("crash-fraction", values["crash-fraction"], d.crashFraction)),
    durationMs: num("duration", values.duration, d.durationMs / 1000) * 1000,
    joinIntervalMs: num("join-interval", values["join-interval"], d.joinIntervalMs),
    bootstrap,
    latencyMs: num("latency", values.latency, d.latencyMs),
    jitterMs: num("jitter", values.jitter, d.jitterMs),
    lossRate: num("loss", values.loss, d.lossRate),
    probes: num("probes", values.probes, d.probes),
    nearestProbes: num("nearest-probes", values["nearest-probes"], d.nearestProbes),
    probeIntervalMs: num("probe-interval", values["probe-interval"], d.probeIntervalMs),
    idleMs: num("idle", values.idle, d.idleMs / 1000) * 1000,
    maxConvergeMs: num("max-wait", values["max-wait"], d.maxConvergeMs / 1000) * 1000,
    factory: kind === "ideal" ? idealNodeFactory() : overlayNodeFactory(),
    aead: loadFastAead(),
    x25519: loadFastX25519(),
    logger: values.log ? consoleLogger(values.log as LogLevel, "node ") : undefined,
    progress: values.quiet ? undefined : (line) => console.error(line),
    natMix,
  });
  if (values.json) console.log(JSON.stringify(result));
  else console.log(formatTable(result));
  if (values.markdown) console.log(`${MARKDOWN_HEADER}\n${markdownRow(result)}`);
}

if (import.meta.main) {
  try {
    main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(2);
  }
}
