/**
 * The command line of `deno task demo` (bench/demo.ts): flags, their bounds, and the usage text.
 * Pure: parsing never touches the OS.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Fewest agents the demo's topology holds: 2 public, 1 + 1 behind masquerade NATs, 1 symmetric. */
export const DEMO_MIN_AGENTS = 5;
/** Most agents: 5 public, 5 + 5 behind masquerade NATs, 1 behind the symmetric NAT. */
export const DEMO_MAX_AGENTS = 16;
/**
 * Default number of agents: 4 public, 4 + 3 behind masquerade NATs, 1 symmetric. With 3 near
 * neighbours a side, 7 or fewer agents are all linked to each other, so no shortcut can form;
 * with 12 some pairs have no direct link once the join links are closed.
 */
export const DEMO_DEFAULT_AGENTS = 12;
/** Default run time, seconds from the first agent's start. */
export const DEMO_DEFAULT_SECONDS = 60;
/** Longest run time accepted, seconds (one hour). */
export const DEMO_MAX_SECONDS = 3_600;

/** The usage text (`--help`). */
export const DEMO_USAGE = `Usage: deno task demo [--agents N] [--seconds S] [--keep-going]
       (as root: deno run -A bench/demo.ts ...)

A tour of ipop on this machine: builds a small network of agents in network namespaces (some on
public addresses, the others behind NAT routers), shows them joining and leasing virtual
addresses, pings every agent from every other, sends 10 pings/s between two agents that have no
direct link to show an on-demand shortcut forming, and removes everything it made at the end (or
on Ctrl-C).

Options:
  --agents N     agents to run, ${DEMO_MIN_AGENTS}-${DEMO_MAX_AGENTS} (default ${DEMO_DEFAULT_AGENTS})
  --seconds S    keep the live view up until S seconds after the first agent started (default
                 ${DEMO_DEFAULT_SECONDS}); the tour's steps always finish first, Ctrl-C ends it early
  --keep-going   go on with the tour when a step fails (default: stop and clean up)
  -h, --help     this text

Needs root and the tools ip, iptables and ping.
`;

/** What the flags ask for. */
export interface DemoOptions {
  agents: number;
  seconds: number;
  keepGoing: boolean;
}

/** The result of parsing: options, a help request, or a usage error (message). */
export type DemoArgs =
  | { kind: "run"; options: DemoOptions }
  | { kind: "help" }
  | { kind: "error"; message: string };

function intFlag(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number | string {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) return `--${name} wants a whole number, not ${JSON.stringify(text)}`;
  const n = Number(text);
  if (n < min || n > max) return `--${name} must be ${min}-${max}, not ${n}`;
  return n;
}

/** Parses the demo's arguments; never throws. */
export function parseDemoArgs(args: string[]): DemoArgs {
  let values: { agents?: string; seconds?: string; "keep-going"?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        agents: { type: "string" },
        seconds: { type: "string" },
        "keep-going": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    return { kind: "error", message: e instanceof Error ? e.message : String(e) };
  }
  if (values.help === true) return { kind: "help" };
  const agents = intFlag(
    "agents",
    values.agents,
    DEMO_DEFAULT_AGENTS,
    DEMO_MIN_AGENTS,
    DEMO_MAX_AGENTS,
  );
  if (typeof agents === "string") return { kind: "error", message: agents };
  const seconds = intFlag("seconds", values.seconds, DEMO_DEFAULT_SECONDS, 1, DEMO_MAX_SECONDS);
  if (typeof seconds === "string") return { kind: "error", message: seconds };
  return { kind: "run", options: { agents, seconds, keepGoing: values["keep-going"] === true } };
}

/** Where the agents sit: hosts on the core network and behind each masquerade NAT. */
export interface DemoLayout {
  /** Agents on public addresses (the first founds the overlay). */
  publicHosts: number;
  /** Agents behind masquerade NAT 1 and NAT 2. */
  masquerade: [number, number];
  /** Agents behind the symmetric NAT: always 1. */
  symmetric: 1;
}

/**
 * The layout for `agents` agents (`DEMO_MIN_AGENTS`..`DEMO_MAX_AGENTS`): one behind the symmetric
 * NAT, the rest spread over the core network and the two masquerade NATs as evenly as possible,
 * the core and then NAT 1 taking the odd ones (5: 2 + 1 + 1, 6: 2 + 2 + 1, 12: 4 + 4 + 3).
 */
export function demoLayout(agents: number): DemoLayout {
  const rest = agents - 1;
  const publicHosts = Math.ceil(rest / 3);
  const behind = rest - publicHosts;
  const first = Math.ceil(behind / 2);
  return { publicHosts, masquerade: [first, behind - first], symmetric: 1 };
}
