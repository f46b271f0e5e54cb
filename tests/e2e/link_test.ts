/**
 * End to end over the kernel: two hosts A and B in network namespaces joined by veth, each running
 * the real agent (`main.ts up`), peered with each other with the same network secret. Checks ping,
 * HTTP, TCP bulk (iperf3), MTU-sized packets and the SIGTERM shutdown contract.
 */
import assert from "node:assert/strict";
import { DENO } from "../helpers/agent_process.ts";
import { AGENT_PORT, allLogs, startAgents } from "../helpers/link_fixture.ts";
import { parsePcapUdp } from "../helpers/pcap.ts";
import {
  canUseNetns,
  createTwoHosts,
  NEEDS_ROOT_SUFFIX,
  pingUntilReply,
  pollUntil,
  startCapture,
  waitTcpListening,
} from "../helpers/netns.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";
const VIP_A = "100.64.0.1";
const VIP_B = "100.64.0.2";

Deno.test({
  name:
    `link: two agents over veth carry ping, HTTP, TCP and MTU-sized packets, then exit cleanly${suffix}`,
  ignore,
  async fn(t) {
    const h = await createTwoHosts();
    let agents: Awaited<ReturnType<typeof startAgents>> = [];
    const failed: string[] = [];
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) failed.push(name);
    };
    try {
      agents = await startAgents(h.rig, [
        { ns: h.a, ip: h.ipA, vip: VIP_A },
        { ns: h.b, ip: h.ipB, vip: VIP_B },
      ]);
      const [a, b] = agents as [(typeof agents)[0], (typeof agents)[0]];
      await a.waitEstablished();
      await b.waitEstablished();

      await step("ping goes both ways through the tunnel", async () => {
        assert.ok(await pingUntilReply(h.rig, h.a, VIP_B, 10_000), "A cannot ping B's 100.64.0.2");
        assert.ok(await pingUntilReply(h.rig, h.b, VIP_A, 10_000), "B cannot ping A's 100.64.0.1");
        const sb = await b.status();
        assert.ok(sb.tun !== null && sb.tun.packetsWritten > 0, "B's TUN wrote no packets");
        assert.ok(sb.peers[0]!.rxPackets > 0 && sb.peers[0]!.txPackets > 0);
      });

      await step("an HTTP server in B is fetched from A through the tunnel", async () => {
        const token = crypto.getRandomValues(new Uint8Array(16)).toHex();
        h.rig.spawn(h.b, [
          DENO,
          "eval",
          `Deno.serve({ hostname: "${VIP_B}", port: 8080, onListen() {} }, ` +
          `() => new Response(Deno.env.get("IPOPT_TOKEN")));`,
        ], { IPOPT_TOKEN: token });
        const cap = await startCapture(h.rig, h.b, "veth0", `udp and port ${AGENT_PORT}`, 10_000);
        let body = "";
        const ok = await pollUntil(
          async () => {
            const r = await h.rig.exec(h.a, [
              "curl",
              "-sS",
              "--max-time",
              "3",
              `http://${VIP_B}:8080/`,
            ]);
            body = r.stdout + r.stderr;
            return r.code === 0;
          },
          15_000,
          250,
        );
        assert.ok(ok, `curl through the tunnel failed: ${body}`);
        assert.equal(body, token);
        const seen = parsePcapUdp(await cap.stop());
        assert.ok(seen.length > 0, "no tunnel datagrams captured on B's veth");
        const plain = new TextEncoder().encode(token).toHex();
        for (const d of seen) {
          assert.ok(
            !d.payload.toHex().includes(plain),
            "the HTTP body crossed the underlay in clear",
          );
        }
      });

      await step("a 5 s iperf3 TCP run A→B completes through the tunnel", async () => {
        const server = h.rig.spawn(h.b, ["iperf3", "-s", "-1", "-B", VIP_B, "-p", "5201"]);
        assert.ok(await waitTcpListening(h.rig, h.b, 5201, 10_000), "iperf3 server did not listen");
        const r = await h.rig.exec(h.a, ["iperf3", "-c", VIP_B, "-p", "5201", "-t", "5", "-J"], {
          timeoutMs: 30_000,
        });
        const out = (r.stdout + r.stderr).slice(0, 4000);
        assert.equal(r.code, 0, `iperf3 failed: ${out}`);
        const json = JSON.parse(r.stdout) as {
          end?: { sum_received?: { bytes?: number; bits_per_second?: number } };
        };
        const bytes = json.end?.sum_received?.bytes ?? 0;
        const mbps = (json.end?.sum_received?.bits_per_second ?? 0) / 1e6;
        assert.ok(bytes > 0, `iperf3 moved no bytes: ${out}`);
        console.log(`  iperf3 A→B through ipop: ${mbps.toFixed(1)} Mbit/s (${bytes} bytes in 5 s)`);
        await server.wait(5_000);
      });

      await step(
        "packets up to the 1420 MTU pass with DF; one byte more fails locally",
        async () => {
          const ok = await pingUntilReply(h.rig, h.a, VIP_B, 10_000, ["-M", "do", "-s", "1392"]);
          assert.ok(ok, "a 1420-byte DF ping did not get through");
          const big = await h.rig.exec(h.a, [
            "ping",
            "-n",
            "-c",
            "1",
            "-W",
            "1",
            "-M",
            "do",
            "-s",
            "1393",
            VIP_B,
          ]);
          assert.notEqual(big.code, 0, "a 1421-byte DF ping succeeded");
          assert.match(big.stdout + big.stderr, /message too long/i);
        },
      );

      await step(
        "SIGTERM stops each agent with code 0 within 2 s and removes its TUN",
        async () => {
          const msA = await a.stop();
          const msB = await b.stop();
          console.log(`  shutdown took ${msA.toFixed(0)} ms (A), ${msB.toFixed(0)} ms (B)`);
        },
      );
    } catch (e) {
      console.error(allLogs(agents));
      throw e;
    } finally {
      if (failed.length > 0) {
        console.error(`failed steps: ${failed.join("; ")}\n${allLogs(agents)}`);
      }
      await h.rig.close();
    }
  },
});
