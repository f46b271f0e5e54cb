/**
 * Zero-configuration addresses end to end: eight agents, each a process in its own namespace,
 * started with nothing but the first one's address as bootstrap, each obtain a unique address
 * in the network's subnet through DHCP over the DHT; every pair pings by virtual IP; an HTTP
 * server on one is fetched by all the others; a restarted agent gets its old address back; and
 * an agent started with an address that is taken exits with a clear error. `IPOP_TEST_LOG=1`
 * runs the agents at debug level.
 */
import assert from "node:assert/strict";
import {
  AgentProcess,
  type AgentStatus,
  DENO,
  MAIN_TS,
  makeSecretFile,
} from "../helpers/agent_process.ts";
import { AGENT_PORT, allLogs } from "../helpers/link_fixture.ts";
import {
  canUseNetns,
  createBridgedHosts,
  NEEDS_ROOT_SUFFIX,
  pingUntilReply,
  pollUntil,
  waitTcpListening,
} from "../helpers/netns.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";

const AGENT_COUNT = 8;
const SUBNET = "100.64.0.0/16";
const LEASE_TIMEOUT_MS = 60_000;
const PING_TIMEOUT_MS = 15_000;
const HTTP_PORT = 8080;
/** Where agent 0 serves its metrics, inside its namespace. */
const METRICS_AT = "127.0.0.1:9100";

/** The leased address (without prefix) of a status, or undefined. */
function leasedIp(s: AgentStatus | undefined): string | undefined {
  return s?.lease.state === "bound" ? s.lease.address?.split("/")[0] : undefined;
}

/** Polls until `agent` holds a lease; returns its status. */
async function waitLease(agent: AgentProcess, everyone: AgentProcess[]): Promise<AgentStatus> {
  let last: AgentStatus | undefined;
  const ok = await pollUntil(
    async () => {
      if (!agent.alive) return true;
      last = await agent.tryStatus();
      return leasedIp(last) !== undefined;
    },
    LEASE_TIMEOUT_MS,
    250,
  );
  if (!ok || !agent.alive || last === undefined) {
    throw new Error(
      `${agent.ns}: no lease in ${LEASE_TIMEOUT_MS} ms: ${JSON.stringify(last?.lease)}\n${
        allLogs(everyone)
      }`,
    );
  }
  return last;
}

function inSubnet(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number);
  return a === 100 && b === 64;
}

Deno.test({
  name:
    `dhcp: ${AGENT_COUNT} agents lease unique addresses over the DHT and reach each other${suffix}`,
  ignore,
  async fn() {
    const h = await createBridgedHosts(AGENT_COUNT + 1);
    const agents: AgentProcess[] = [];
    const rig = h.rig;
    try {
      const secretFile = await makeSecretFile(rig);
      const bootstrap = `udp://${h.ips[0]}:${AGENT_PORT}`;
      const start = (
        i: number,
        extra: { stateDir?: string; address?: string; extraArgs?: string[] } = {},
      ) =>
        AgentProcess.start(rig, {
          ns: h.hosts[i]!,
          listen: `${h.ips[i]}:${AGENT_PORT}`,
          subnet: SUBNET,
          secretFile,
          bootstrap: i === 0 ? [] : [bootstrap],
          ...extra,
        });
      const t0 = performance.now();
      for (let i = 0; i < AGENT_COUNT; i++) {
        agents.push(await start(i, i === 0 ? { extraArgs: ["--metrics", METRICS_AT] } : {}));
      }
      const statuses = await Promise.all(agents.map((a) => waitLease(a, agents)));
      const ips = statuses.map((s) => leasedIp(s)!);
      console.log(
        `  ${AGENT_COUNT} leases within ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
          `of the first start: ${ips.join(" ")}`,
      );
      assert.equal(new Set(ips).size, AGENT_COUNT, `duplicate addresses: ${ips}`);
      for (const [i, s] of statuses.entries()) {
        assert.ok(inSubnet(ips[i]!), `${ips[i]} is outside ${SUBNET}`);
        assert.equal(s.tun?.address, `${ips[i]}/16`, "the TUN carries the leased address");
      }

      // Every ordered pair pings (each source works through its targets; sources in parallel).
      const failures: string[] = [];
      await Promise.all(agents.map(async (a, i) => {
        for (const [j, ip] of ips.entries()) {
          if (i === j) continue;
          if (!await pingUntilReply(rig, a.ns, ip, PING_TIMEOUT_MS)) {
            failures.push(`${ips[i]} -> ${ip}`);
          }
        }
      }));
      assert.deepEqual(failures, [], `pings failed\n${allLogs(agents)}`);

      // An HTTP server on agent 0, bound to its virtual address, fetched by everyone else.
      const body = `hello from ${ips[0]} ${crypto.randomUUID()}\n`;
      const dir = await Deno.makeTempDir({ prefix: "ipopt-http-" });
      rig.defer(() => Deno.remove(dir, { recursive: true }));
      await Deno.writeTextFile(`${dir}/hello.txt`, body);
      rig.spawn(agents[0]!.ns, [
        "python3",
        "-m",
        "http.server",
        "--bind",
        ips[0]!,
        "--directory",
        dir,
        String(HTTP_PORT),
      ]);
      assert.ok(await waitTcpListening(rig, agents[0]!.ns, HTTP_PORT, 10_000), "no HTTP server");
      await Promise.all(
        agents.slice(1).map(async (a) => {
          const r = await rig.exec(a.ns, [
            "curl",
            "-sS",
            "--max-time",
            "10",
            `http://${ips[0]}:${HTTP_PORT}/hello.txt`,
          ]);
          assert.equal(r.code, 0, `curl from ${a.ns}: ${r.stderr}`);
          assert.equal(r.stdout, body);
        }),
      );

      // Operators' view: resolve an address, and a DHT put on one node read on another.
      const ipop = (a: AgentProcess, ...args: string[]) =>
        rig.exec(a.ns, [DENO, "run", "-A", MAIN_TS, ...args, "--state-dir", a.stateDir], {
          timeoutMs: 20_000,
        });
      const resolved = await ipop(agents[4]!, "resolve", ips[1]!, "--json");
      assert.equal(resolved.code, 0, resolved.stderr);
      assert.equal(JSON.parse(resolved.stdout).records[0]?.ownerAddress, statuses[1]!.address);
      const put = await ipop(agents[2]!, "dht", "put", "greeting", "hello overlay", "--ttl", "120");
      assert.equal(put.code, 0, `${put.stdout}${put.stderr}`);
      const got = await ipop(agents[5]!, "dht", "get", "greeting", "--json");
      assert.equal(got.code, 0, got.stderr);
      const records = JSON.parse(got.stdout).records as { value: string; owner: string }[];
      assert.deepEqual(records.map((r) => [r.value, r.owner]), [
        ["hello overlay", agents[2]!.publicKey],
      ]);

      // Overlay ping with its route, the peers table, and the metrics of agent 0.
      const ping = await ipop(agents[4]!, "ping", ips[1]!, "--json");
      assert.equal(ping.code, 0, `${ping.stdout}${ping.stderr}`);
      const pinged = JSON.parse(ping.stdout) as { result: string; owner: string; route: string[] };
      assert.equal(pinged.result, "reply");
      assert.equal(pinged.owner, statuses[1]!.address);
      assert.equal(pinged.route.at(-1), statuses[1]!.address, "the route ends at the owner");
      const peers = await ipop(agents[4]!, "peers");
      assert.equal(peers.code, 0, peers.stderr);
      assert.match(peers.stdout, /^KIND +NODE +PATH/m);
      const scrape = await rig.exec(agents[0]!.ns, [
        "curl",
        "-sS",
        "--max-time",
        "5",
        `http://${METRICS_AT}/metrics`,
      ]);
      assert.equal(scrape.code, 0, scrape.stderr);
      assert.match(scrape.stdout, /^ipop_lease_bound 1$/m);
      assert.match(scrape.stdout, /^ipop_links\{kind="near"\} [1-9]/m);

      // A clean restart keeps the address: the key derives the first choice, and the old
      // claim (released on exit) was ours.
      const restarted = 3;
      await agents[restarted]!.stop();
      agents[restarted] = await start(restarted, { stateDir: agents[restarted]!.stateDir });
      const again = await waitLease(agents[restarted]!, agents);
      assert.equal(leasedIp(again), ips[restarted], "the restarted agent got another address");
      assert.ok(await pingUntilReply(rig, agents[0]!.ns, ips[restarted]!, PING_TIMEOUT_MS));

      // A static address that another node holds is refused with one clear line.
      const intruder = await start(AGENT_COUNT, { address: `${ips[1]}/16` });
      const status = await intruder.exited(30_000);
      assert.ok(status !== undefined, `the intruder did not exit\n${intruder.logs()}`);
      assert.equal(status.code, 1, intruder.logs());
      assert.match(
        intruder.logs(),
        new RegExp(`Address ${ips[1]!.replaceAll(".", "\\.")} is taken`),
      );

      // `ipop down` stops an agent cleanly.
      const down = await ipop(agents[7]!, "down");
      assert.equal(down.code, 0, down.stderr);
      const gone = await agents[7]!.exited(5_000);
      assert.equal(gone?.code, 0, agents[7]!.logs());
      await Promise.all(agents.slice(0, 7).map((a) => a.stop()));
    } catch (e) {
      if (Deno.env.get("IPOP_TEST_LOG")) console.error(allLogs(agents));
      throw e;
    } finally {
      await rig.close();
    }
  },
});
