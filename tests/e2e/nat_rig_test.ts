/**
 * Proves how the NATs of the NAT rig behave (no ipop involved): mapping (port kept or random per
 * destination), filtering of unsolicited UDP, and UDP hole punching between hosts behind two NATs,
 * naive versus primed with an IP-TTL-2 probe. Every try uses fresh ports, so conntrack entries of
 * earlier tries never collide with it (no flush needed). Prints what it measured.
 */
import assert from "node:assert/strict";
import { canUseNetns, NEEDS_ROOT_SUFFIX } from "../helpers/netns.ts";
import {
  blockUdp,
  conntrackEntries,
  createNatRig,
  type NatRig,
  type NatRouter,
  type RigHost,
  runUdpPunch,
  runUdpTogether,
  type UdpPunchReport,
  type UdpSend,
} from "../helpers/nat_rig.ts";

const ignore = !canUseNetns();
const suffix = ignore ? NEEDS_ROOT_SUFFIX : "";

const REFLECTOR_PORT = 3478;
/** Normal punch datagrams per side, `PUNCH_EVERY_MS` apart. */
const PUNCH_COUNT = 10;
const PUNCH_EVERY_MS = 50;
const NAIVE_TRIES = 4;
const PRIMED_TRIES = 5;
const PRIMED_SIMULTANEOUS_TRIES = 3;
const SYMMETRIC_TRIES_PER_VARIANT = 2;

let nextPort = 41_000;
function freshPort(): number {
  return nextPort++;
}

/** Groups whose programs were released after their common start (loaded machine). */
let lateGroups = 0;

/** True when every program of a group was ready before the common start. */
function onTime(reports: UdpPunchReport[]): boolean {
  const late = reports.some((r) => !(r.readyAtMs < 0));
  if (late) lateGroups++;
  return !late;
}

/** Each `{host, port}` sends to every reflector; returns its public endpoints as seen there. */
async function observe(
  n: NatRig,
  refls: RigHost[],
  senders: { host: RigHost; port: number }[],
): Promise<string[][]> {
  const sends: UdpSend[] = refls.map((r) => ({ to: `${r.ip}:${REFLECTOR_PORT}`, count: 3 }));
  const reports = await runUdpTogether(n.rig, [
    ...refls.map((r) => ({
      ns: r.ns,
      opts: { bind: `0.0.0.0:${REFLECTOR_PORT}`, deadlineMs: 400, echo: true },
    })),
    ...senders.map((s) => ({
      ns: s.host.ns,
      opts: { bind: `0.0.0.0:${s.port}`, deadlineMs: 300, sends },
    })),
  ]);
  return reports.slice(refls.length).map((rep) =>
    refls.map((r) => {
      const echo = rep.received.find((d) => d.from === `${r.ip}:${REFLECTOR_PORT}`);
      assert.ok(echo !== undefined, `no answer from reflector ${r.ip}`);
      return echo.data.replace(/^seen /, "");
    })
  );
}

/** One side of a punch: who, from which port, to which believed peer endpoint, and when. */
interface Side {
  host: RigHost;
  port: number;
  label: string;
  /** The peer's public endpoint as this side believes it. */
  peer: string;
  /** Send one IP TTL 2 probe to `peer` at t = 0. */
  prime: boolean;
  /** When the normal datagrams start (ms after the common start). */
  sendAtMs: number;
}

interface PunchResult {
  ok: boolean;
  /** Sources of the peer's datagrams as each side saw them (empty: nothing arrived). */
  aFrom: string[];
  bFrom: string[];
}

/** Runs one punch; undefined when a program was released late (the schedule did not hold). */
async function punch(n: NatRig, a: Side, b: Side): Promise<PunchResult | undefined> {
  const last = Math.max(a.sendAtMs, b.sendAtMs) + PUNCH_COUNT * PUNCH_EVERY_MS;
  const run = (s: Side) => {
    const sends: UdpSend[] = [];
    if (s.prime) sends.push({ to: s.peer, ttl: 2 });
    sends.push({ to: s.peer, atMs: s.sendAtMs, count: PUNCH_COUNT, everyMs: PUNCH_EVERY_MS });
    return {
      ns: s.host.ns,
      opts: { bind: `0.0.0.0:${s.port}`, label: s.label, deadlineMs: last + 200, sends },
    };
  };
  const [ra, rb] = await runUdpTogether(n.rig, [run(a), run(b)]) as [
    UdpPunchReport,
    UdpPunchReport,
  ];
  if (!onTime([ra, rb])) return undefined;
  const from = (r: UdpPunchReport, peer: Side) => [
    ...new Set(r.received.filter((d) => d.data.startsWith(`${peer.label} `)).map((d) => d.from)),
  ];
  const aFrom = from(ra, b);
  const bFrom = from(rb, a);
  return { ok: aFrom.length > 0 && bFrom.length > 0, aFrom, bFrom };
}

/** A punch schedule between two hosts (the `Side`s without ports and endpoints). */
interface Plan {
  aPrime: boolean;
  bPrime: boolean;
  aAtMs: number;
  bAtMs: number;
}

/**
 * Punches `tries` times between `x` and `y` (fresh ports each try, endpoints learned from
 * reflector `refl`), redoing a try whose programs were released late (at most 3 times each).
 * Logs one line per try (with `note`'s extra text); returns the successes.
 */
async function punchTries(
  n: NatRig,
  refl: RigHost,
  x: RigHost,
  y: RigHost,
  plan: Plan,
  tries: number,
  note: (
    r: PunchResult,
    ports: { px: number; py: number; ex: string; ey: string },
  ) => Promise<string>,
): Promise<number> {
  let wins = 0;
  for (let i = 0; i < tries; i++) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const px = freshPort();
      const py = freshPort();
      const [ex, ey] = await observe(n, [refl], [{ host: x, port: px }, { host: y, port: py }]);
      const ports = { px, py, ex: ex![0]!, ey: ey![0]! };
      const r = await punch(
        n,
        { host: x, port: px, label: "x", peer: ports.ey, prime: plan.aPrime, sendAtMs: plan.aAtMs },
        { host: y, port: py, label: "y", peer: ports.ex, prime: plan.bPrime, sendAtMs: plan.bAtMs },
      );
      if (r === undefined) continue;
      if (r.ok) wins++;
      console.log(
        `    try ${i + 1}: ${r.ok ? "ok" : "FAILED"}; x got from [${r.aFrom}], y got from ` +
          `[${r.bFrom}]${await note(r, ports)}`,
      );
      break;
    }
  }
  return wins;
}

/** Fields of a `/proc/net/nf_conntrack` line: original direction, then reply direction. */
function parseEntry(line: string): { orig: Record<string, string>; reply: Record<string, string> } {
  const orig: Record<string, string> = {};
  const reply: Record<string, string> = {};
  for (const tok of line.split(/\s+/)) {
    const m = /^(src|dst|sport|dport)=(.+)$/.exec(tok);
    if (m === null) continue;
    const [, k, v] = m as unknown as [string, string, string];
    if (orig[k] === undefined) orig[k] = v;
    else if (reply[k] === undefined) reply[k] = v;
  }
  return { orig, reply };
}

/** Public ports `ns` maps `srcIp:sport` to, toward `dstIp` (from its conntrack table). */
async function mappedPorts(
  n: NatRig,
  ns: string,
  srcIp: string,
  sport: number,
  dstIp: string,
): Promise<string[]> {
  return (await conntrackEntries(n.rig, ns)).map(parseEntry)
    .filter((e) => e.orig.src === srcIp && e.orig.sport === String(sport) && e.orig.dst === dstIp)
    .map((e) => `${e.orig.dport}<-${e.reply.dport}`);
}

Deno.test({
  name: `nat rig: real NATs in namespaces map, filter and punch as measured${suffix}`,
  ignore,
  async fn(t) {
    const n = await createNatRig({
      publicHosts: 2,
      nats: [{ kind: "masquerade" }, { kind: "masquerade" }, { kind: "symmetric" }],
    });
    try {
      const [s1, s2] = n.publicHosts as [RigHost, RigHost];
      const [natA, natB, natC] = n.nats as [NatRouter, NatRouter, NatRouter];
      const a = natA.hosts[0]!;
      const b = natB.hosts[0]!;
      const c = natC.hosts[0]!;

      await t.step("masquerade NAT keeps the source port toward every destination", async () => {
        const port = freshPort();
        const [seen] = await observe(n, [s1, s2], [{ host: a, port }]);
        console.log(
          `  ${a.ip}:${port} seen by ${s1.ip} as ${seen![0]}, by ${s2.ip} as ${seen![1]}`,
        );
        assert.equal(seen![0], `${natA.publicIp}:${port}`);
        assert.equal(seen![1], `${natA.publicIp}:${port}`);
      });

      await t.step("symmetric NAT uses a different public port per destination", async () => {
        const port = freshPort();
        const [seen] = await observe(n, [s1, s2], [{ host: c, port }]);
        console.log(
          `  ${c.ip}:${port} seen by ${s1.ip} as ${seen![0]}, by ${s2.ip} as ${seen![1]}`,
        );
        const [e1, e2] = seen as [string, string];
        assert.ok(e1.startsWith(`${natC.publicIp}:`) && e2.startsWith(`${natC.publicIp}:`));
        assert.notEqual(e1, e2, "symmetric NAT reused its public port for a second destination");
      });

      await t.step("unsolicited UDP to a NAT's public address never reaches the host", async () => {
        const mapped = freshPort();
        const idle = freshPort();
        const deadlineMs = 600;
        const probe = (port: number): UdpSend => ({
          to: `${natA.publicIp}:${port}`,
          atMs: 100,
          count: 5,
        });
        const reflector = `${s1.ip}:${REFLECTOR_PORT}`;
        const [, , , host, idleHost] = await runUdpTogether(n.rig, [
          { ns: s1.ns, opts: { bind: `0.0.0.0:${REFLECTOR_PORT}`, deadlineMs, echo: true } },
          // The same public host from another port: port-restricted filtering drops it.
          {
            ns: s1.ns,
            opts: { bind: `0.0.0.0:${REFLECTOR_PORT + 1}`, deadlineMs, sends: [probe(mapped)] },
          },
          { ns: s2.ns, opts: { deadlineMs, sends: [probe(mapped), probe(idle)] } },
          { ns: a.ns, opts: { bind: `0.0.0.0:${mapped}`, deadlineMs, sends: [{ to: reflector }] } },
          { ns: a.ns, opts: { bind: `0.0.0.0:${idle}`, deadlineMs } },
        ]) as UdpPunchReport[] as [unknown, unknown, unknown, UdpPunchReport, UdpPunchReport];
        const froms = host.received.map((d) => d.from);
        console.log(
          `  host with a mapping toward ${reflector} got from: [${froms.join(", ")}]; ` +
            `host without one got ${idleHost.received.length} datagrams`,
        );
        assert.ok(froms.includes(reflector), "the solicited reply was dropped");
        assert.ok(froms.every((f) => f === reflector), "unsolicited UDP got in");
        assert.equal(idleHost.received.length, 0, "UDP reached a host that never sent");
      });

      await t.step("blockUdp drops one direction only and is undone by its remover", async () => {
        const reflector = `${s1.ip}:${REFLECTOR_PORT}`;
        const exchange = async () => {
          const [refl, host] = await runUdpTogether(n.rig, [
            { ns: s1.ns, opts: { bind: `0.0.0.0:${REFLECTOR_PORT}`, deadlineMs: 300, echo: true } },
            { ns: a.ns, opts: { deadlineMs: 300, sends: [{ to: reflector, count: 3 }] } },
          ]) as [UdpPunchReport, UdpPunchReport];
          return { out: refl.received.length, back: host.received.length };
        };
        const results: Record<string, { out: number; back: number }> = {};
        for (const dir of ["inbound", "outbound"] as const) {
          const unblock = await blockUdp(n.rig, natA, dir);
          results[dir] = await exchange();
          await unblock();
        }
        results.none = await exchange();
        console.log(`  datagrams out / echoes back: ${JSON.stringify(results)}`);
        assert.deepEqual(results.inbound, { out: 3, back: 0 });
        assert.deepEqual(results.outbound, { out: 0, back: 0 });
        assert.deepEqual(results.none, { out: 3, back: 3 });
      });

      const noNote = () => Promise.resolve("");

      await t.step("naive simultaneous punch between two masquerade NATs (reported)", async () => {
        console.log(`  x = ${a.ip} behind ${natA.publicIp}, y = ${b.ip} behind ${natB.publicIp}`);
        const wins = await punchTries(
          n,
          s1,
          a,
          b,
          { aPrime: false, bPrime: false, aAtMs: 0, bAtMs: 0 },
          NAIVE_TRIES,
          async (r, p) => {
            if (r.ok) return "";
            const mapX = await mappedPorts(n, natA.ns, a.ip, p.px, natB.publicIp);
            const mapY = await mappedPorts(n, natB.ns, b.ip, p.py, natA.publicIp);
            return `; public ports [peer port<-own public port]: x ${mapX}, y ${mapY}`;
          },
        );
        console.log(`  naive: ${wins}/${NAIVE_TRIES} punches succeeded`);
      });

      await t.step("a TTL-2 probe creates its own NAT's mapping and dies at the core", async () => {
        const px = freshPort();
        const py = freshPort();
        const peer = `${natB.publicIp}:${py}`;
        await runUdpPunch(n.rig, a.ns, {
          bind: `0.0.0.0:${px}`,
          deadlineMs: 100,
          sends: [{ to: peer, ttl: 2 }],
        });
        const own = await mappedPorts(n, natA.ns, a.ip, px, natB.publicIp);
        const far = (await conntrackEntries(n.rig, natB.ns)).map(parseEntry)
          .filter((e) => e.orig.src === natA.publicIp && e.orig.dport === String(py));
        console.log(`  NAT A entries for the probe: ${own}; NAT B entries: ${far.length}`);
        assert.deepEqual(own, [`${py}<-${px}`], "the probe did not create A's mapping");
        assert.equal(far.length, 0, "the TTL-2 probe reached the far NAT");
      });

      await t.step("TTL-2 priming by x, then y sends, then x: every punch succeeds", async () => {
        const wins = await punchTries(
          n,
          s1,
          a,
          b,
          { aPrime: true, bPrime: false, aAtMs: 250, bAtMs: 20 },
          PRIMED_TRIES,
          noNote,
        );
        console.log(`  primed, y first: ${wins}/${PRIMED_TRIES} punches succeeded`);
        assert.equal(wins, PRIMED_TRIES, "a primed punch failed");
      });

      await t.step("TTL-2 priming by x, then both send at once (reported)", async () => {
        const wins = await punchTries(
          n,
          s1,
          a,
          b,
          { aPrime: true, bPrime: false, aAtMs: 20, bAtMs: 20 },
          PRIMED_SIMULTANEOUS_TRIES,
          noNote,
        );
        console.log(`  primed, then simultaneous: ${wins}/${PRIMED_SIMULTANEOUS_TRIES}`);
      });

      await t.step("symmetric NAT to masquerade NAT with priming (reported)", async () => {
        console.log(
          `  x = ${a.ip} behind masquerade ${natA.publicIp}, y = ${c.ip} behind ` +
            `symmetric ${natC.publicIp}`,
        );
        const variants: [string, Plan][] = [
          ["symmetric y primes, x sends first", {
            aPrime: false,
            bPrime: true,
            aAtMs: 20,
            bAtMs: 250,
          }],
          ["masquerade x primes, y sends first", {
            aPrime: true,
            bPrime: false,
            aAtMs: 250,
            bAtMs: 20,
          }],
          ["both prime, then both send at once", {
            aPrime: true,
            bPrime: true,
            aAtMs: 20,
            bAtMs: 20,
          }],
        ];
        for (const [name, plan] of variants) {
          console.log(`  ${name}:`);
          const wins = await punchTries(
            n,
            s1,
            a,
            c,
            plan,
            SYMMETRIC_TRIES_PER_VARIANT,
            async (_r, p) => {
              const mapY = await mappedPorts(n, natC.ns, c.ip, p.py, natA.publicIp);
              return `; y seen by S1 as ${p.ey}, y's mapping toward x [peer port<-public port] ${mapY}`;
            },
          );
          console.log(`    => ${wins}/${SYMMETRIC_TRIES_PER_VARIANT}`);
        }
      });
    } finally {
      console.log(`groups released late (redone): ${lateGroups}`);
      await n.close();
    }
  },
});
