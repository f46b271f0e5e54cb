/**
 * Which two agents of `deno task demo` exchange traffic to show an on-demand shortcut forming: a
 * pair with no direct link either way (a shortcut can only form where there is no link yet),
 * preferably not with the host behind the symmetric NAT (a link to it takes birthday punching,
 * see docs/nat.md; two symmetric hosts never link). Pure: agents and statuses in, a choice out.
 *
 * @module
 */
import type { AgentStatus } from "../lib/agent/agent_status.ts";
import type { DemoAgent } from "./_demo_view.ts";

/** The pair to send traffic between (indices into the agents), and whether it had no link. */
export interface PairChoice {
  /** Index of the sender. */
  from: number;
  /** Index of the receiver. */
  to: number;
  /**
   * True: no direct link either way when chosen (a shortcut can form). False: the fallback, two
   * agents behind different masquerade NATs that are already linked.
   */
  unlinked: boolean;
}

/**
 * How well a pair shows a shortcut, higher is better; -1: never a candidate. 3: behind two
 * different masquerade NATs (the shortcut is punched through both), 2: one behind a masquerade
 * NAT and one public, 1: both public, 0: behind the same masquerade NAT, or one behind the
 * symmetric NAT (birthday punching), -1: both behind symmetric NATs (relayed only).
 */
export function pairRank(a: DemoAgent, b: DemoAgent): number {
  if (a.place === "symmetric" && b.place === "symmetric") return -1;
  if (a.place === "symmetric" || b.place === "symmetric") return 0;
  if (a.place === "masquerade" && b.place === "masquerade") return a.site === b.site ? 0 : 3;
  return a.place === b.place ? 1 : 2;
}

/**
 * True when `a` lists a direct (not relayed) connection to `b` or `b` to `a`; also true when a
 * status is missing (unknown counts as linked, so it is never chosen as unlinked).
 */
export function linkedDirectly(a: AgentStatus | undefined, b: AgentStatus | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  const has = (s: AgentStatus, peer: string) =>
    s.connections.some((c) => c.kind !== "relay" && c.address.toLowerCase() === peer.toLowerCase());
  return has(a, b.address) || has(b, a.address);
}

/**
 * The pair for the shortcut step: among pairs with no direct link and a rank of 0 or more, the
 * best ranked, ties to the lowest indices (the sender is the lower index); else, marked
 * `unlinked: false`, the first two agents behind different masquerade NATs (the demo's old
 * choice); undefined when there is neither (fewer than two such agents).
 */
export function chooseShortcutPair(
  agents: readonly DemoAgent[],
  statuses: readonly (AgentStatus | undefined)[],
): PairChoice | undefined {
  let best: PairChoice | undefined;
  let bestRank = -1;
  let fallback: PairChoice | undefined;
  for (let i = 0; i < agents.length; i++) {
    for (let j = i + 1; j < agents.length; j++) {
      const rank = pairRank(agents[i]!, agents[j]!);
      if (rank === 3 && fallback === undefined) fallback = { from: i, to: j, unlinked: false };
      if (rank > bestRank && !linkedDirectly(statuses[i], statuses[j])) {
        best = { from: i, to: j, unlinked: true };
        bestRank = rank;
      }
    }
  }
  return best ?? fallback;
}
