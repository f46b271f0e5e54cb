/**
 * The live dashboard (`GET /` on the metrics port) loaded in headless Chromium, its rendered DOM
 * read back (`--dump-dom` after a virtual-time budget, so the page's fetch of /status.json and its
 * drawing have run):
 *
 * 1. against a status served in-process (every kind, a relayed link with its `via`, two peers;
 *    then a failing status read): needs only Chromium;
 * 2. against a real agent in a 4-agent overlay, Chromium running inside the agent's namespace:
 *    needs root and Chromium. Every agent starts from its own config file (`up --config FILE`,
 *    no other flag). The rendered links and peer rows must match `status --json`, and so must
 *    the scraped metrics (links by kind, peers); after a clean stop no TUN interface, control
 *    socket, metrics listener or lease is left.
 *
 * Both are skipped with a reason when `chromium` is not installed (Debian's `chromium` package).
 */
import assert from "node:assert/strict";
import { exists } from "../helpers/command.ts";
import type { AgentStatus } from "../../lib/agent/agent_status.ts";
import type { ConnectionStatus } from "../../lib/overlay/overlay_status.ts";
import { MetricsServer } from "../../lib/metrics/metrics_server.ts";
import { AgentProcess, DENO, MAIN_TS, makeSecretFile } from "../helpers/agent_process.ts";
import { AGENT_PORT, allLogs } from "../helpers/link_fixture.ts";
import {
  canUseNetns,
  createBridgedHosts,
  NEEDS_ROOT_SUFFIX,
  pollUntil,
  run,
  waitTcpListening,
} from "../helpers/netns.ts";

const hasChromium = new Deno.Command("sh", {
  args: ["-c", "command -v chromium"],
  stdout: "null",
  stderr: "null",
}).outputSync().success;
const NO_CHROMIUM_SUFFIX = " (skipped: needs chromium, Debian's chromium package)";

/** Bound on one headless page load, in ms (it takes ~2 s here). */
const CHROMIUM_TIMEOUT_MS = 60_000;
const AGENT_COUNT = 4;
const METRICS_PORT = 9100;
const OVERLAY_TIMEOUT_MS = 60_000;

/** Loads `url` in headless Chromium (argv prefixed by `wrap`, e.g. `ip netns exec`); its DOM. */
async function dumpDom(url: string, wrap: (cmd: string[]) => string[] = (c) => c) {
  const profile = await Deno.makeTempDir({ prefix: "ipopt-chromium-" });
  try {
    const r = await run(
      wrap([
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=5000",
        "--dump-dom",
        url,
      ]),
      { timeoutMs: CHROMIUM_TIMEOUT_MS },
    );
    assert.equal(r.code, 0, `chromium failed (code ${r.code}): ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

/** What a test reads off the rendered page. */
interface Rendered {
  state: string | undefined;
  error: string | undefined;
  selfText: string | undefined;
  selfData: string | undefined;
  lease: string | undefined;
  size: string | undefined;
  /** `kind address [via]`, sorted. */
  links: string[];
  /** `kind address`, sorted. */
  rows: string[];
  peerKeys: string[];
  /** Centre of each link's dot, by address. */
  dots: Map<string, [number, number]>;
}

function parseDom(html: string): Rendered {
  const one = (re: RegExp) => re.exec(html)?.[1];
  const links: string[] = [];
  const dots = new Map<string, [number, number]>();
  const linkRe =
    /<g class="link kind-([a-z]+)" data-address="([0-9a-f]{40})"(?: data-via="([0-9a-f]{40})")?>.*?<circle cx="([\d.]+)" cy="([\d.]+)"/g;
  for (const m of html.matchAll(linkRe)) {
    links.push([m[1], m[2], m[3]].filter((x) => x !== undefined).join(" "));
    dots.set(m[2]!, [Number(m[4]), Number(m[5])]);
  }
  const rowRe = /<tr class="conn kind-([a-z]+)" data-address="([0-9a-f]{40})">/g;
  const peerRe = /<tr class="peer" data-key="([A-Za-z0-9+/=]+)">/g;
  return {
    state: one(/<body data-state="(\w+)">/),
    error: one(/<div id="error">([^<]*)<\/div>/),
    selfText: one(/<code id="self-address">([^<]*)<\/code>/),
    selfData: one(/<g id="self" data-address="([0-9a-f]{40})"/),
    lease: one(/<b id="lease">([^<]*)<\/b>/),
    size: one(/<b id="size">([^<]*)<\/b>/),
    links: links.sort(),
    rows: [...html.matchAll(rowRe)].map((m) => `${m[1]} ${m[2]}`).sort(),
    peerKeys: [...html.matchAll(peerRe)].map((m) => m[1]!).sort(),
    dots,
  };
}

/** The links the page should draw for `connections`, in `Rendered.links` form. */
function expectedLinks(connections: ConnectionStatus[]): string[] {
  return connections.map((c) => [c.kind, c.address, c.via].filter((x) => x).join(" ")).sort();
}

const hex = (lead: string) => lead.padEnd(40, "0");
const conn = (kind: ConnectionStatus["kind"], address: string, via?: string): ConnectionStatus => ({
  kind,
  address,
  endpoint: via ? null : "198.18.0.2:51820",
  rtt_ms: via ? null : 0.4,
  ageMs: 5_000,
  rxBytes: 10,
  txBytes: 20,
  ...(via ? { via } : {}),
});
const peer = (key: string) => ({
  publicKey: key,
  endpoint: "198.18.0.2:51820",
  state: "established" as const,
  lastHandshakeAgoMs: 1_000,
  rxBytes: 1,
  txBytes: 2,
  rxPackets: 1,
  txPackets: 1,
  sessions: 1,
});

Deno.test({
  name: `dashboard: Chromium draws the ring, every link by kind, relays with via, and the peers${
    hasChromium ? "" : NO_CHROMIUM_SUFFIX
  }`,
  ignore: !hasChromium,
  async fn() {
    const connections = [
      conn("near", hex("4")), // a quarter turn: right of the centre
      conn("near", hex("c")), // three quarters: left
      conn("far", hex("2")),
      conn("shortcut", hex("e8")),
      conn("relay", hex("a1"), hex("4")),
    ];
    const keys = ["A".repeat(43) + "=", "B".repeat(43) + "="];
    const status = {
      address: hex("0"), // the top of the ring
      estimatedSize: 6,
      lease: {
        state: "bound",
        network: "ipop",
        subnet: "100.64.0.0/24",
        address: "100.64.0.9/24",
        expiresInMs: 30_000,
        collisions: 0,
      },
      connections,
      peers: keys.map(peer),
    } as unknown as AgentStatus;
    let fail = false;
    const server = await MetricsServer.listen({ port: 0 }, () => {
      if (fail) throw new Error("agent is closing");
      return status;
    });
    try {
      const page = parseDom(await dumpDom(`http://${server.address}/`));
      assert.equal(page.state, "ok", `error: ${page.error}`);
      assert.equal(page.selfText, status.address);
      assert.equal(page.selfData, status.address);
      assert.equal(page.lease, "bound 100.64.0.9/24 in ipop (100.64.0.0/24), 30.0 s left");
      assert.equal(page.size, "6");
      assert.deepEqual(page.links, expectedLinks(connections));
      assert.ok(page.links.includes(`relay ${hex("a1")} ${hex("4")}`), "relay carries its via");
      assert.deepEqual(page.rows, connections.map((c) => `${c.kind} ${c.address}`).sort());
      assert.deepEqual(page.peerKeys, keys);
      // angle = address / 2^160 of a turn, clockwise from the top; centre (200,200), radius 160.
      assert.deepEqual(page.dots.get(hex("4")), [360, 200]);
      assert.deepEqual(page.dots.get(hex("c")), [40, 200]);

      fail = true;
      const broken = parseDom(await dumpDom(`http://${server.address}/`));
      assert.equal(broken.state, "error");
      assert.match(broken.error ?? "", /^Cannot read the status: HTTP 500: .*agent is closing/);
      assert.deepEqual(broken.links, []);
    } finally {
      await server.close();
    }
  },
});

const agentIgnore = !canUseNetns() || !hasChromium;
const agentSuffix = !canUseNetns() ? NEEDS_ROOT_SUFFIX : hasChromium ? "" : NO_CHROMIUM_SUFFIX;

Deno.test({
  name:
    `dashboard: Chromium in an agent's namespace shows its address, its links and its peers${agentSuffix}`,
  ignore: agentIgnore,
  async fn() {
    const h = await createBridgedHosts(AGENT_COUNT);
    const rig = h.rig;
    const agents: AgentProcess[] = [];
    try {
      const secretFile = await makeSecretFile(rig);
      // Every agent starts from its own config file, `up --config FILE` and no other flag; agent 0
      // also takes its metrics port and JSON logs from it.
      for (let i = 0; i < AGENT_COUNT; i++) {
        agents.push(
          await AgentProcess.start(rig, {
            ns: h.hosts[i]!,
            listen: `${h.ips[i]}:${AGENT_PORT}`,
            subnet: "100.64.0.0/24",
            secretFile,
            bootstrap: i === 0 ? [] : [`udp://${h.ips[0]}:${AGENT_PORT}`],
            configFile: true,
            extraConfig: i === 0
              ? { metrics: `127.0.0.1:${METRICS_PORT}`, logFormat: "json" }
              : { network: "ipop" },
          }),
        );
      }
      const a0 = agents[0]!;
      assert.ok(
        await waitTcpListening(rig, a0.ns, METRICS_PORT, 20_000),
        `no metrics port\n${a0.logs()}`,
      );
      let last: AgentStatus | undefined;
      const joined = await pollUntil(
        async () => {
          last = await a0.tryStatus();
          return last !== undefined && last.connections.length >= AGENT_COUNT - 1 &&
            last.connections.some((c) => c.kind === "near") && last.lease.state === "bound";
        },
        OVERLAY_TIMEOUT_MS,
        250,
      );
      assert.ok(joined, `overlay not formed: ${JSON.stringify(last)}\n${allLogs(agents)}`);
      for (const a of agents) {
        const argv = (await Deno.readTextFile(`/proc/${a.pid}/cmdline`)).split("\0");
        const up = argv.slice(argv.indexOf("up"));
        assert.deepEqual(up, ["up", "--config", a.configFile, ""], "no flag but --config");
      }

      // The overlay may still be settling: a page must match the status read just before or just
      // after it; try a few times.
      const url = `http://127.0.0.1:${METRICS_PORT}/`;
      let page: Rendered | undefined;
      let before: AgentStatus | undefined;
      let after: AgentStatus | undefined;
      const same = (s: AgentStatus | undefined) =>
        s !== undefined && page !== undefined &&
        JSON.stringify(page.links) === JSON.stringify(expectedLinks(s.connections)) &&
        JSON.stringify(page.peerKeys) === JSON.stringify(s.peers.map((p) => p.publicKey).sort());
      for (let attempt = 0; attempt < 3; attempt++) {
        before = await a0.status();
        const t0 = performance.now();
        page = parseDom(await dumpDom(url, (cmd) => ["ip", "netns", "exec", a0.ns, ...cmd]));
        if (attempt === 0) {
          console.log(`  page rendered in ${(performance.now() - t0).toFixed(0)} ms`);
        }
        after = await a0.status();
        if (same(before) || same(after)) break;
      }
      assert.ok(page !== undefined && after !== undefined);
      assert.equal(page.state, "ok", `page error: ${page.error}`);
      assert.equal(page.selfText, after.address, "this node's address is shown");
      assert.equal(page.selfData, after.address);
      assert.ok(
        same(before) || same(after),
        `rendered ${JSON.stringify(page)}\nstatus ${JSON.stringify(after.connections)} ${
          JSON.stringify(after.peers.map((p) => p.publicKey))
        }`,
      );
      assert.ok(page.links.some((l) => l.startsWith("near ")), "a near link is drawn");
      assert.equal(page.rows.length, page.links.length, "one table row per link");
      assert.ok(page.peerKeys.length >= 1, "the peers table has rows");
      assert.match(page.lease ?? "", /^bound 100\.64\.0\.\d+\/24 in /);
      console.log(`  ${page.links.length} links drawn: ${page.links.map((l) => l.split(" ")[0])}`);

      // Metrics over the port agree with the status over the control socket: the links gauge by
      // kind with the connections (read before or after the scrape: the overlay may still move),
      // the lease, and handshakes were made.
      let metrics: Map<string, number> | undefined;
      let agreed = false;
      for (let attempt = 0; attempt < 3 && !agreed; attempt++) {
        before = await a0.status();
        const scrape = await rig.exec(a0.ns, ["curl", "-sS", "--max-time", "5", `${url}metrics`]);
        assert.equal(scrape.code, 0, scrape.stderr);
        metrics = parseMetrics(scrape.stdout);
        after = await a0.status();
        agreed = metricsAgree(metrics, before) || metricsAgree(metrics, after);
      }
      assert.ok(metrics !== undefined && after !== undefined);
      assert.ok(
        agreed,
        `metrics ${JSON.stringify([...metrics].filter(([k]) => /^ipop_(links|peers)\{/.test(k)))}` +
          ` vs status ${JSON.stringify(after.connections.map((c) => c.kind))}, ` +
          `${after.peers.length} peers`,
      );
      assert.equal(metrics.get("ipop_lease_bound"), 1);
      assert.ok((metrics.get("ipop_handshakes_completed_total") ?? 0) > 0, "handshakes completed");
      assert.match(a0.logs(), /^\{"time":"[^"]+","level":"info","msg":"ipop /m, "JSON log lines");

      // A clean stop leaves no interface, no control socket, no metrics port and no lease.
      const leasedIp = after.lease.address!.split("/")[0]!;
      await a0.stop();
      const links = await rig.execOk(a0.ns, ["ip", "-o", "-d", "link", "show"]);
      const tunLeft = new RegExp(`: ${a0.tun}[:@]|\\btun type\\b`);
      assert.doesNotMatch(links, tunLeft, `a TUN interface is left:\n${links}`);
      assert.equal(await exists(`${a0.stateDir}/control.sock`), false, "control socket removed");
      const listening = await rig.execOk(a0.ns, ["ss", "-Hltn", `sport = :${METRICS_PORT}`]);
      assert.equal(listening.trim(), "", "the metrics port is closed");
      const resolve = await rig.exec(agents[1]!.ns, [
        DENO,
        "run",
        "-A",
        MAIN_TS,
        "resolve",
        leasedIp,
        "--json",
        "--state-dir",
        agents[1]!.stateDir,
      ], { timeoutMs: 20_000 });
      assert.equal(resolve.code, 0, resolve.stderr);
      assert.equal(JSON.parse(resolve.stdout).status, "not found", "the lease was released");
      await Promise.all(agents.slice(1).map((a) => a.stop()));
    } catch (e) {
      if (Deno.env.get("IPOP_TEST_LOG")) console.error(allLogs(agents));
      throw e;
    } finally {
      await rig.close();
    }
  },
});

/** Unlabelled samples by name; labelled ones by `name{labels}` as written. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

/**
 * True when each `ipop_links{kind=...}` sample is the number of `status`'s connections of that
 * kind (and they add up to all of them), and the `ipop_peers{state=...}` samples to its peers.
 */
function metricsAgree(metrics: Map<string, number>, status: AgentStatus): boolean {
  const named = (prefix: string) => [...metrics.keys()].filter((k) => k.startsWith(prefix));
  const sum = (keys: string[]) => keys.reduce((n, k) => n + metrics.get(k)!, 0);
  const kinds = named("ipop_links{");
  const count = (kind: string) => status.connections.filter((c) => c.kind === kind).length;
  return kinds.length > 0 &&
    kinds.every((k) => metrics.get(k) === count(/kind="([a-z]+)"/.exec(k)?.[1] ?? "")) &&
    sum(kinds) === status.connections.length &&
    sum(named("ipop_peers{")) === status.peers.length;
}
