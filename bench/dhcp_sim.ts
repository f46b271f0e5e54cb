/**
 * The DHCP-over-DHT simulator CLI: N full nodes (overlay, DHT, lease client: the production
 * code) on the fake network in virtual time, deterministic from the seed. See docs/dhcp.md.
 *
 * ```
 * deno run -A bench/dhcp_sim.ts --nodes N --seed S [--churn RATE] [--duration SECONDS]
 *   [--subnet CIDR] [--json] [--markdown] [--quiet]
 * ```
 *
 * Prints a progress line to stderr about once per wall second and, at the end, a table (or with
 * `--json` one JSON object) on stdout. Bad flags: a one-line error and exit status 2.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadFastAead } from "../ffi/fast_aead.ts";
import { loadFastX25519 } from "../ffi/sodium_x25519.ts";
import { parseSubnet } from "../lib/dhcp/subnet.ts";
import {
  DEFAULT_DHCP_SIM_OPTIONS,
  DEFAULT_DHCP_SIM_SUBNET,
  runDhcpSimulation,
} from "./sim/dhcp_run.ts";
import { DHCP_MARKDOWN_HEADER, dhcpMarkdownRow, formatDhcpTable } from "./sim/dhcp_report.ts";
import { MAX_SIM_HOSTS } from "./sim/world.ts";

const d = DEFAULT_DHCP_SIM_OPTIONS;
const USAGE = `Usage: deno run -A bench/dhcp_sim.ts [options]
  --nodes N            nodes (default ${d.nodes})
  --seed S             seed (default ${d.seed})
  --churn RATE         fraction of nodes replaced per simulated minute, e.g. 0.1 (default 0)
  --duration SECONDS   churn phase length in virtual s (default ${d.durationMs / 1000})
  --subnet CIDR        the virtual subnet (default ${DEFAULT_DHCP_SIM_SUBNET})
  --json               print one JSON object instead of the table
  --markdown           also print a markdown table row (docs/dhcp.md)
  --quiet              no progress lines`;

/** Parses the flags and runs; throws a one-line error for bad flags. */
function main(): void {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      nodes: { type: "string" },
      seed: { type: "string" },
      churn: { type: "string" },
      duration: { type: "string" },
      subnet: { type: "string" },
      json: { type: "boolean" },
      markdown: { type: "boolean" },
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
    if (text.trim() === "" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`--${name} must be a number >= 0`);
    }
    return v;
  };
  const nodes = num("nodes", values.nodes, d.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_SIM_HOSTS / 2) {
    throw new RangeError(`--nodes must be an integer in 1..${MAX_SIM_HOSTS / 2}`);
  }
  const seed = num("seed", values.seed, d.seed);
  if (!Number.isInteger(seed)) throw new RangeError("--seed must be an integer >= 0");
  const result = runDhcpSimulation({
    ...d,
    nodes,
    seed,
    churn: num("churn", values.churn, 0),
    durationMs: num("duration", values.duration, d.durationMs / 1000) * 1000,
    subnet: parseSubnet(values.subnet ?? DEFAULT_DHCP_SIM_SUBNET),
    aead: loadFastAead(),
    x25519: loadFastX25519(),
    progress: values.quiet ? undefined : (line) => console.error(line),
  });
  if (values.json) console.log(JSON.stringify(result));
  else console.log(formatDhcpTable(result));
  if (values.markdown) console.log(`${DHCP_MARKDOWN_HEADER}\n${dhcpMarkdownRow(result)}`);
}

if (import.meta.main) {
  try {
    main();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(message.split("\n")[0]); // one line (parseArgs explains over several)
    Deno.exit(2);
  }
}
