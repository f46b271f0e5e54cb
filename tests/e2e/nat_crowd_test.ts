/**
 * NAT traversal in a crowd (the topology of `deno task demo --agents 6`): two public agents A and B, two
 * agents C and D behind one MASQUERADE router (ports 5800 and 5801), E behind a second one, F
 * behind a symmetric NAT; all bootstrap from A and join in that order.
 *
 * ```
 *   A 198.18.0.10:5800 (founder)   B 198.18.0.11:5801
 *     └ core ┬ nat1 masquerade 198.18.1.2 ─ C 198.19.1.10:5800, D 198.19.1.11:5801
 *            ├ nat2 masquerade 198.18.2.2 ─ E 198.19.2.10:5800
 *            └ nat3 symmetric  198.18.3.2 ─ F 198.19.3.10:5800
 * ```
 *
 * What used to go wrong: a public node's packet reached a NAT before the host behind it had sent
 * anything to that node (a TTL-2 primer, which expires only after two routers, or a handshake
 * sent on a neighbour list that did not say the host was behind a NAT). Linux then maps the
 * host's own packets to that node to a fresh port, and reuses that newest port for later peers:
 * the endpoints the host advertised went stale and every NAT-to-NAT punch failed (all pairs
 * among C, D, E relayed). The test checks both the cause (public nodes see every masquerade host
 * at its own port) and the effect (C-E, D-E and C-D link directly within the bound).
 */
import assert from "node:assert/strict";
import { AgentProcess, type AgentStatus, makeSecretFile } from "../helpers/agent_process.ts";
import { allLogs } from "../helpers/link_fixture.ts";
import {
  describeConnection,
  directLinkTo,
  leasedIp,
  NAT_AGENT_SUBNET,
  statusOf,
} from "../helpers/nat_agents.ts";
import { conntrackEntries, createNatRig, type RigHost } from "../helpers/nat_rig.ts";
import { canUseNetns, NEEDS_ROOT_SUFFIX, pollUntil } from "../helpers/netns.ts";

const ignore = !canUseNetns();

/** Bound for every agent to hold a lease, from the last start. */
const LEASE_TIMEOUT_MS = 40_000;
/** Bound for the masquerade pairs to link directly, from the last lease. */
const DIRECT_BOUND_MS = 15_000;
const POLL_MS = 250;

interface Member {
  name: string;
  host: RigHost;
  port: number;
  /** Where public nodes must see it (its NAT's address, its own port); null when public. */
  natEndpoint: string | null;
  proc?: AgentProcess;
}

Deno.test({
  name: `nat crowd: hosts behind two masquerade NATs link directly, ports kept${
    ignore ? NEEDS_ROOT_SUFFIX : ""
  }`,
  ignore,
  async fn() {
    const nat = await createNatRig({
      publicHosts: 2,
      nats: [{ kind: "masquerade", hosts: 2 }, { kind: "masquerade", hosts: 1 }, {
        kind: "symmetric",
        hosts: 1,
      }],
    });
    const [n1, n2, n3] = nat.nats as [
      (typeof nat.nats)[0],
      (typeof nat.nats)[0],
      (typeof nat.nats)[0],
    ];
    const m: Member[] = [
      { name: "A", host: nat.publicHosts[0]!, port: 5800, natEndpoint: null },
      { name: "B", host: nat.publicHosts[1]!, port: 5801, natEndpoint: null },
      { name: "C", host: n1.hosts[0]!, port: 5800, natEndpoint: `${n1.publicIp}:5800` },
      { name: "D", host: n1.hosts[1]!, port: 5801, natEndpoint: `${n1.publicIp}:5801` },
      { name: "E", host: n2.hosts[0]!, port: 5800, natEndpoint: `${n2.publicIp}:5800` },
      { name: "F", host: n3.hosts[0]!, port: 5800, natEndpoint: null },
    ];
    const procs = () => m.flatMap((x) => x.proc ? [x.proc] : []);
    try {
      const rig = nat.rig;
      const secretFile = await makeSecretFile(rig);
      const prepared = await Promise.all(m.map(() => AgentProcess.prepare(rig)));
      for (const [i, x] of m.entries()) {
        x.proc = await AgentProcess.start(rig, {
          ns: x.host.ns,
          stateDir: prepared[i]![0],
          listen: `${x.host.ip}:${x.port}`,
          subnet: NAT_AGENT_SUBNET,
          secretFile,
          bootstrap: i === 0 ? [] : [`udp://${m[0]!.host.ip}:${m[0]!.port}`],
          logLevel: "debug",
        });
      }
      let st: (AgentStatus | undefined)[] = [];
      const leased = await pollUntil(
        async () => {
          st = await Promise.all(procs().map(statusOf));
          return st.every((s) => leasedIp(s) !== undefined);
        },
        LEASE_TIMEOUT_MS,
        POLL_MS,
      );
      assert.ok(leased, `not every agent leased an address\n${allLogs(procs())}`);

      const [c, d, e] = [2, 3, 4];
      const pairs: [number, number][] = [[c, e], [d, e], [c, d]];
      const direct = (s: AgentStatus[], [x, y]: [number, number]) =>
        directLinkTo(s[x]!, s[y]!.address) !== undefined &&
        directLinkTo(s[y]!, s[x]!.address) !== undefined;
      const t0 = performance.now();
      const linked = await pollUntil(
        async () => {
          st = await Promise.all(procs().map(statusOf));
          if (st.some((s) => s === undefined)) return false;
          return pairs.every((p) => direct(st as AgentStatus[], p));
        },
        DIRECT_BOUND_MS,
        POLL_MS,
      );
      const tookMs = performance.now() - t0;
      const all = st as AgentStatus[];
      const table = m.map((x, i) =>
        `  ${x.name}: ${
          (all[i]?.connections ?? []).map((cn) => {
            const who = m[all.findIndex((s) => s?.address === cn.address)]?.name ?? "?";
            return `${who} ${describeConnection(cn)}`;
          }).join(", ")
        }`
      ).join("\n");
      console.log(`  masquerade pairs direct after ${tookMs.toFixed(0)} ms:\n${table}`);

      // The cause: public nodes see each masquerade host at its own port (no remap).
      const seenAt: string[] = [];
      for (const pub of [0, 1]) {
        for (const x of m) {
          if (x.natEndpoint === null) continue;
          const ep = all[pub]?.peers.find((p) => p.publicKey === x.proc!.publicKey)?.endpoint;
          if (ep !== x.natEndpoint) seenAt.push(`${m[pub]!.name} sees ${x.name} at ${ep}`);
        }
      }
      if (!linked || seenAt.length > 0) {
        const ct = async (ns: string) => (await conntrackEntries(rig, ns)).join("\n");
        assert.fail(
          `${linked ? "" : `masquerade pairs not all direct within ${DIRECT_BOUND_MS} ms\n`}${
            seenAt.join("\n")
          }\n${table}\nconntrack nat1:\n${await ct(n1.ns)}\nconntrack nat2:\n${await ct(
            n2.ns,
          )}\n${Deno.env.get("IPOP_TEST_LOG") ? allLogs(procs()) : ""}`,
        );
      }
    } finally {
      await nat.close();
    }
  },
});
