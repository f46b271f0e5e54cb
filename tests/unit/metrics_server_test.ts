import assert from "node:assert/strict";
import type { AgentStatus } from "../../lib/agent/agent_status.ts";
import { DASHBOARD_PAGE_HTML } from "../../lib/metrics/dashboard_page.ts";
import {
  MetricsServer,
  MetricsSetupError,
  parseMetricsAddress,
} from "../../lib/metrics/metrics_server.ts";

const STATUS: AgentStatus = {
  version: "0.1.0",
  publicKey: "A".repeat(43) + "=",
  listen: "198.18.0.1:5800",
  uptimeMs: 1_000,
  tun: null,
  transport: {
    datagramsSent: 10,
    datagramsReceived: 11,
    bytesSent: 2048,
    bytesReceived: 100,
    sendDrops: 0,
  },
  address: "0123456789abcdef0123456789abcdef01234567",
  estimatedSize: 1,
  shortcutsRequested: 0,
  connections: [],
  peers: [],
  drops: {
    malformed: 0,
    unauthenticated: 0,
    replayed: 0,
    unknownSession: 0,
    rateLimited: 0,
    notAllowed: 0,
    total: 0,
  },
  aead: "chacha20-poly1305",
  lease: {
    state: "waiting",
    network: "ipop",
    subnet: "100.64.0.0/24",
    address: null,
    expiresInMs: null,
    collisions: 0,
  },
  resolver: { entries: [], hits: 0, misses: 0, lookups: 0 },
  dht: {
    records: 0,
    requests: 0,
    coordinated: 0,
    replicaRequests: 0,
    handoffsReceived: 0,
    dropped: 0,
  },
  router: { direct: 0, routed: 0, noRoute: 0 },
};

async function get(server: MetricsServer, path: string, init?: RequestInit): Promise<Response> {
  return await fetch(`http://${server.address}${path}`, init);
}

Deno.test("metrics server: GET /metrics serves the status as Prometheus text on 127.0.0.1", async () => {
  let scrapes = 0;
  const server = await MetricsServer.listen({ port: 0 }, () => {
    scrapes++;
    return STATUS;
  });
  try {
    assert.equal(server.host, "127.0.0.1");
    assert.ok(server.port > 0);
    const res = await get(server, "/metrics");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const body = await res.text();
    assert.match(body, /^ipop_transport_datagrams_sent_total 10$/m);
    assert.match(body, /^ipop_lease_bound 0$/m);
    assert.equal(scrapes, 1);
  } finally {
    await server.close();
  }
});

Deno.test("metrics server: GET /status.json serves the status object as JSON", async () => {
  let scrapes = 0;
  const server = await MetricsServer.listen({ port: 0 }, () => {
    scrapes++;
    return { ...STATUS, estimatedSize: 7 };
  });
  try {
    const res = await get(server, "/status.json");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.deepEqual(await res.json(), { ...STATUS, estimatedSize: 7 });
    const head = await get(server, "/status.json", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    assert.equal(scrapes, 2);
  } finally {
    await server.close();
  }
});

Deno.test("metrics server: GET / serves the self-contained dashboard without reading the status", async () => {
  let scrapes = 0;
  const server = await MetricsServer.listen({ port: 0 }, () => {
    scrapes++;
    return STATUS;
  });
  try {
    const res = await get(server, "/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const html = await res.text();
    assert.equal(html, DASHBOARD_PAGE_HTML);
    assert.equal(scrapes, 0, "the page itself needs no status");
    for (const hook of ['id="ring"', 'id="self"', 'id="connections"', 'id="peers"']) {
      assert.ok(html.includes(hook), hook);
    }
    assert.doesNotMatch(html, /(src|href)=|@import|url\(/, "no external resources");
    assert.ok(html.split("\n").length < 200, "the page stays small");
  } finally {
    await server.close();
  }
});

Deno.test("metrics server: the dashboard's inline script is valid JavaScript that reads /status.json", () => {
  const m = /<script>([\s\S]*)<\/script>/.exec(DASHBOARD_PAGE_HTML);
  assert.ok(m?.[1] !== undefined, "one inline script");
  assert.doesNotThrow(() => new Function(m[1]!), "the script parses");
  assert.match(m[1]!, /fetch\("\/status\.json"/);
  assert.match(m[1]!, /setInterval\(refresh, REFRESH_MS\)/);
  assert.match(m[1]!, /const REFRESH_MS = 2000;/);
});

Deno.test("metrics server: other paths are 404 and other methods 405", async () => {
  const server = await MetricsServer.listen({ host: "127.0.0.1", port: 0 }, () => STATUS);
  try {
    for (const path of ["/index.html", "/metrics/", "/status", "/status.json/", "/metricsx"]) {
      const res = await get(server, path);
      await res.body?.cancel();
      assert.equal(res.status, 404, path);
    }
    for (const path of ["/metrics", "/status.json", "/"]) {
      const post = await get(server, path, { method: "POST", body: "x" });
      await post.body?.cancel();
      assert.equal(post.status, 405, path);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
    }
  } finally {
    await server.close();
  }
});

Deno.test("metrics server: a port in use is a one-line MetricsSetupError", async () => {
  const first = await MetricsServer.listen({ port: 0 }, () => STATUS);
  try {
    await assert.rejects(
      MetricsServer.listen({ port: first.port }, () => STATUS),
      (err: unknown) => {
        assert.ok(err instanceof MetricsSetupError);
        assert.equal(
          err.message,
          `Cannot serve metrics on 127.0.0.1:${first.port}: address in use`,
        );
        return true;
      },
    );
  } finally {
    await first.close();
  }
});

Deno.test("metrics server: after close the port is free and nothing answers", async () => {
  const server = await MetricsServer.listen({ port: 0 }, () => STATUS);
  const port = server.port;
  const res = await get(server, "/metrics");
  await res.text();
  await server.close();
  await server.close(); // idempotent
  await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  const again = await MetricsServer.listen({ port }, () => STATUS);
  await again.close();
});

Deno.test("metrics server: more concurrent scrapes than allowed get 503", async () => {
  const { promise: release, resolve } = Promise.withResolvers<void>();
  let waiting = 0;
  const { promise: bothWaiting, resolve: onBoth } = Promise.withResolvers<void>();
  const server = await MetricsServer.listen({ port: 0 }, async () => {
    if (++waiting === 2) onBoth();
    await release;
    return STATUS;
  }, { maxConcurrentRequests: 2 });
  try {
    const slow = [get(server, "/metrics"), get(server, "/metrics")];
    await bothWaiting;
    const busy = await get(server, "/metrics");
    await busy.body?.cancel();
    assert.equal(busy.status, 503);
    resolve();
    for (const res of await Promise.all(slow)) {
      assert.equal(res.status, 200);
      await res.text();
    }
    const after = await get(server, "/metrics");
    await after.text();
    assert.equal(after.status, 200, "slots are given back");
  } finally {
    resolve();
    await server.close();
  }
});

Deno.test("metrics server: a failing status read is a 500 with a one-line message", async () => {
  const server = await MetricsServer.listen({ port: 0 }, () => {
    throw new Error("agent is closing\nstack");
  });
  try {
    const res = await get(server, "/metrics");
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "Cannot read the agent status: agent is closing\n");
  } finally {
    await server.close();
  }
});

Deno.test("metrics server: a closed server does not keep the process alive", async () => {
  const url = new URL("../../lib/metrics/metrics_server.ts", import.meta.url).href;
  const script = `
    import { MetricsServer } from ${JSON.stringify(url)};
    const s = await MetricsServer.listen({ port: 0 }, () => { throw new Error("x"); });
    const r = await fetch("http://" + s.address + "/metrics"); await r.text();
    await s.close();
    console.log("closed");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout), "closed\n");
  } finally {
    clearTimeout(timer);
  }
});

Deno.test("metrics server: --metrics values parse as PORT, HOST:PORT or [V6]:PORT", () => {
  assert.deepEqual(parseMetricsAddress("9100"), { host: "127.0.0.1", port: 9100 });
  assert.deepEqual(parseMetricsAddress("127.0.0.1:9100"), { host: "127.0.0.1", port: 9100 });
  assert.deepEqual(parseMetricsAddress("localhost:0"), { host: "localhost", port: 0 });
  assert.deepEqual(parseMetricsAddress("[::1]:9100"), { host: "::1", port: 9100 });
  for (const bad of ["", "host", "host:", ":9100", "1.2.3.4:65536", "::1:9100", "h:9100x"]) {
    assert.throws(() => parseMetricsAddress(bad), MetricsSetupError, bad);
  }
});
