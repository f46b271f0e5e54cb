/**
 * A rig of real NATs in network namespaces: a core router, public hosts on the core network, NAT
 * routers (Linux conntrack + iptables) each with a private LAN of hosts behind it, plus a tiny
 * UDP program (`udp_punch.py`) to probe mappings and punch holes.
 *
 * ```
 *   pub0 198.18.0.10 ─┐                       ┌─ nat1 wan0 198.18.1.2 ── br0 198.19.1.1 ─ 198.19.1.10, .11 …
 *   pub1 198.18.0.11 ─┤ br0 198.18.0.1 [core] ├─ nat2 wan0 198.18.2.2 ── br0 198.19.2.1 ─ 198.19.2.10 …
 *                                   (router)  └─ natN: core side 198.18.N.1, NAT side 198.18.N.2
 * ```
 *
 * Public hosts share one bridged /24 with the core router; each NAT router has its own link to
 * the core (198.18.N.0/24), so NATs are never adjacent: a datagram with IP TTL 2 sent by a host
 * behind a NAT creates that NAT's mapping and expires at the core router. Hosts route by default
 * via their NAT, NATs via the core; the core knows no private LAN, so only NAT'd traffic flows.
 *
 * NAT kinds (the public interface is `wan0`):
 * - `"masquerade"`: `MASQUERADE`. Endpoint-independent mapping (the source port is kept while
 *   free), filtering by conntrack: only replies from the exact remote IP:port pass (port-restricted).
 * - `"symmetric"`: `MASQUERADE --random-fully`: a fresh random public port per conntrack entry,
 *   so a different port toward every destination.
 * Both also drop forwarded inbound traffic that is not a reply (`FORWARD -i wan0 ! ESTABLISHED,
 * RELATED -j DROP`). `blockUdp` adds a one-way UDP blackhole on a NAT.
 *
 * Conntrack state cannot be flushed without the `conntrack` tool (Debian package `conntrack`, not
 * installed by .ci/run); tests use fresh ports per try instead, so old entries never collide.
 * `conntrackEntries` reads `/proc/net/nf_conntrack` inside a namespace for diagnostics.
 *
 * Probing: `runUdpPunch` runs `udp_punch.py` once; `runUdpTogether` starts several, waits until all
 * have bound, then releases them with one common start (a fixed lead time is not enough on a
 * loaded machine: starts of 100-300 ms were measured with load 9 on 2 cores).
 *
 * Ownership: everything belongs to the returned `rig` (a `Rig` from netns.ts); `close()` removes
 * all namespaces, also when `createNatRig` fails half-way (it closes the rig before rethrowing).
 */
import { pollUntil, Rig } from "./netns.ts";

/** How a NAT router maps and filters; see the module doc. */
export type NatKind = "masquerade" | "symmetric";

/** One NAT router and how many hosts sit behind it. */
export interface NatSpec {
  kind: NatKind;
  /** Hosts on its private LAN (default 1, at most 200). */
  hosts?: number;
}

/** What `createNatRig` builds. */
export interface NatRigSpec {
  /** Hosts on the core network (default 1, at most 200). */
  publicHosts?: number;
  /** NAT routers, numbered 1.. in this order (at most 200). */
  nats: NatSpec[];
}

/** A namespace and its one underlay address. */
export interface RigHost {
  ns: string;
  ip: string;
}

/** A NAT router namespace. */
export interface NatRouter {
  ns: string;
  kind: NatKind;
  /** N: its link to the core is 198.18.N.0/24, its LAN 198.19.N.0/24. */
  index: number;
  /** Address on the core side (198.18.N.2), the source of everything it NATs. */
  publicIp: string;
  /** Interface on the core side. */
  publicIf: string;
  /** Address on the LAN side (198.19.N.1), the hosts' default gateway. */
  lanIp: string;
  /** LAN bridge interface. */
  lanIf: string;
  /** Hosts behind it: 198.19.N.10, .11, … */
  hosts: RigHost[];
}

/** The built rig. */
export interface NatRig {
  rig: Rig;
  /** The core router (198.18.0.1 on the public bridge). */
  core: RigHost;
  /** Public hosts: 198.18.0.10, .11, … */
  publicHosts: RigHost[];
  nats: NatRouter[];
  /** Tears everything down (same as `rig.close()`). */
  close(): Promise<void>;
}

const MAX_COUNT = 200;
const FIRST_HOST_OCTET = 10;

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_COUNT) throw new RangeError(`Bad ${what}: ${n}`);
}

async function enableForwarding(rig: Rig, ns: string): Promise<void> {
  await rig.execOk(ns, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
}

async function addBridge(rig: Rig, ns: string, name: string, cidr: string): Promise<void> {
  await rig.execOk(ns, ["ip", "link", "add", name, "type", "bridge"]);
  await rig.execOk(ns, ["ip", "link", "set", name, "up"]);
  await rig.addAddress(ns, name, cidr);
}

/** Host namespace `label` on bridge `bridge` of `routerNs` via port `port`, default via `gw`. */
async function addHost(
  rig: Rig,
  routerNs: string,
  bridge: string,
  port: string,
  label: string,
  ip: string,
  gw: string,
): Promise<RigHost> {
  const ns = await rig.addNamespace(label);
  await rig.addVeth(routerNs, port, ns, "eth0");
  await rig.execOk(routerNs, ["ip", "link", "set", port, "master", bridge]);
  await rig.addAddress(ns, "eth0", `${ip}/24`);
  await rig.execOk(ns, ["ip", "route", "add", "default", "via", gw]);
  return { ns, ip };
}

/** The iptables rules that make `ns` a NAT of `kind` with public interface `wan`. */
export function natRules(kind: NatKind, wan: string): string[][] {
  const masq = ["-t", "nat", "-A", "POSTROUTING", "-o", wan, "-j", "MASQUERADE"];
  return [
    kind === "symmetric" ? [...masq, "--random-fully"] : masq,
    ["-A", "FORWARD", "-i", wan, "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED"]
      .concat(["-j", "DROP"]),
  ];
}

async function addNat(
  rig: Rig,
  core: string,
  index: number,
  spec: NatSpec,
): Promise<NatRouter> {
  const hostCount = spec.hosts ?? 1;
  checkCount("host count", hostCount);
  const ns = await rig.addNamespace(`nat${index}`);
  const publicIf = "wan0";
  const lanIf = "br0";
  const publicIp = `198.18.${index}.2`;
  const lanIp = `198.19.${index}.1`;
  await rig.addVeth(core, `n${index}`, ns, publicIf);
  await rig.addAddress(core, `n${index}`, `198.18.${index}.1/24`);
  await rig.addAddress(ns, publicIf, `${publicIp}/24`);
  await rig.execOk(ns, ["ip", "route", "add", "default", "via", `198.18.${index}.1`]);
  await addBridge(rig, ns, lanIf, `${lanIp}/24`);
  await enableForwarding(rig, ns);
  for (const rule of natRules(spec.kind, publicIf)) await rig.execOk(ns, ["iptables", ...rule]);
  const hosts: RigHost[] = [];
  for (let j = 0; j < hostCount; j++) {
    const ip = `198.19.${index}.${FIRST_HOST_OCTET + j}`;
    hosts.push(await addHost(rig, ns, lanIf, `l${j}`, `nat${index}h${j}`, ip, lanIp));
  }
  return { ns, kind: spec.kind, index, publicIp, publicIf, lanIp, lanIf, hosts };
}

/**
 * Builds the topology of the module doc. The caller closes the returned rig (`close()`); on a
 * failure while building, the rig is closed here and the error rethrown.
 */
export async function createNatRig(spec: NatRigSpec): Promise<NatRig> {
  const publicCount = spec.publicHosts ?? 1;
  checkCount("public host count", publicCount);
  if (spec.nats.length > MAX_COUNT) throw new RangeError(`Too many NATs: ${spec.nats.length}`);
  const rig = await Rig.create();
  try {
    const coreNs = await rig.addNamespace("core");
    const coreIp = "198.18.0.1";
    await addBridge(rig, coreNs, "br0", `${coreIp}/24`);
    await enableForwarding(rig, coreNs);
    const publicHosts: RigHost[] = [];
    for (let i = 0; i < publicCount; i++) {
      const ip = `198.18.0.${FIRST_HOST_OCTET + i}`;
      publicHosts.push(await addHost(rig, coreNs, "br0", `p${i}`, `pub${i}`, ip, coreIp));
    }
    const nats: NatRouter[] = [];
    for (const [i, n] of spec.nats.entries()) nats.push(await addNat(rig, coreNs, i + 1, n));
    return { rig, core: { ns: coreNs, ip: coreIp }, publicHosts, nats, close: () => rig.close() };
  } catch (e) {
    await rig.close();
    throw e;
  }
}

/** Which UDP a `blockUdp` rule drops: leaving through the NAT, or arriving from outside. */
export type UdpDirection = "outbound" | "inbound";

/**
 * Drops all UDP forwarded through `nat` in one direction (inserted before the NAT's other rules).
 * Returns a function that removes the rule again; the rule also dies with the rig.
 */
export async function blockUdp(
  rig: Rig,
  nat: NatRouter,
  direction: UdpDirection,
): Promise<() => Promise<void>> {
  const match = direction === "outbound"
    ? ["-o", nat.publicIf, "-p", "udp", "-j", "DROP"]
    : ["-i", nat.publicIf, "-p", "udp", "-j", "DROP"];
  await rig.execOk(nat.ns, ["iptables", "-I", "FORWARD", "1", ...match]);
  return async () => {
    await rig.execOk(nat.ns, ["iptables", "-D", "FORWARD", ...match]);
  };
}

/** The UDP lines of `/proc/net/nf_conntrack` in `ns` (one conntrack entry per line). */
export async function conntrackEntries(rig: Rig, ns: string): Promise<string[]> {
  const r = await rig.exec(ns, ["cat", "/proc/net/nf_conntrack"], { timeoutMs: 5_000 });
  return r.stdout.split("\n").filter((l) => /\budp\b/.test(l));
}

/** Path of the UDP program (`python3 UDP_PUNCH_PY ...`); see its docstring. */
export const UDP_PUNCH_PY: string = new URL("./udp_punch.py", import.meta.url).pathname;

/** One scheduled send of `runUdpPunch`. */
export interface UdpSend {
  /** "IP:PORT". */
  to: string;
  /** Offset from the start, ms (default 0). */
  atMs?: number;
  /** Datagrams (default 1), `everyMs` apart (default 50). */
  count?: number;
  everyMs?: number;
  /** IP TTL of these datagrams (default: the system's). */
  ttl?: number;
}

/** Options of `runUdpPunch`. */
export interface UdpPunchOptions {
  /** Local "IP:PORT" (default "0.0.0.0:0"). */
  bind?: string;
  /** Payload prefix (default "p"). */
  label?: string;
  /** Wall-clock start (Unix ms, `Date.now()` scale) shared by programs started together. */
  startAtMs?: number;
  /** The program exits this long after the start (at most 60 000). */
  deadlineMs: number;
  sends?: UdpSend[];
  /** Answer every datagram with "seen IP:PORT" (its observed source), like a STUN server. */
  echo?: boolean;
}

/** A datagram the program received. */
export interface UdpReceived {
  /** Source "IP:PORT" as seen by the receiver. */
  from: string;
  /** Ms since the start. */
  tMs: number;
  data: string;
}

/** What one run of the program did. */
export interface UdpPunchReport {
  /** The local port it was bound to. */
  port: number;
  /** When it was bound and released, ms after the start (negative: before it, as it should be). */
  readyAtMs: number;
  received: UdpReceived[];
  /** Datagrams sent (echoes not counted). */
  sent: number;
  /** Send/receive errors reported (never fatal). */
  errors: string[];
}

/** The system Python when present (a pyenv shim costs ~0.5 s per start), else `python3`. */
function pythonPath(): string {
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

/** Extra time allowed past the deadline for process start and exit. */
const UDP_PUNCH_SLACK_MS = 5_000;
/** How long `runUdpTogether` waits for every program to bind. */
const UDP_BIND_WAIT_MS = 15_000;
/** Time between releasing a group and its common start. */
const UDP_GO_LEAD_MS = 50;

function udpPunchArgs(opts: UdpPunchOptions): string[] {
  const args = [pythonPath(), UDP_PUNCH_PY, "--deadline-ms", String(opts.deadlineMs)];
  if (opts.bind !== undefined) args.push("--bind", opts.bind);
  if (opts.label !== undefined) args.push("--label", opts.label);
  if (opts.startAtMs !== undefined) args.push("--start-at-ms", String(opts.startAtMs));
  if (opts.echo === true) args.push("--echo");
  for (const s of opts.sends ?? []) {
    let spec = `${s.to},at=${s.atMs ?? 0},count=${s.count ?? 1},every=${s.everyMs ?? 50}`;
    if (s.ttl !== undefined) spec += `,ttl=${s.ttl}`;
    args.push("--send", spec);
  }
  return args;
}

function parseUdpPunch(ns: string, code: number, stdout: string, stderr: string): UdpPunchReport {
  const report: UdpPunchReport = {
    port: -1,
    readyAtMs: Number.NaN,
    received: [],
    sent: 0,
    errors: [],
  };
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const ev = JSON.parse(line) as Record<string, unknown>;
    if (ev.ev === "bound") report.port = Number(ev.port);
    else if (ev.ev === "ready") report.readyAtMs = Number(ev.t);
    else if (ev.ev === "sent") report.sent++;
    else if (ev.ev === "error") report.errors.push(String(ev.what));
    else if (ev.ev === "recv") {
      report.received.push({ from: String(ev.from), tMs: Number(ev.t), data: String(ev.data) });
    }
  }
  if (code !== 0 || report.port < 0) {
    throw new Error(`udp_punch failed in ${ns} (code ${code}): ${stdout}${stderr}`);
  }
  return report;
}

/**
 * Runs the UDP program in `ns` to completion (bounded by the deadline plus slack) and parses its
 * output. Throws when the program fails or prints no `bound` line.
 */
export async function runUdpPunch(
  rig: Rig,
  ns: string,
  opts: UdpPunchOptions,
): Promise<UdpPunchReport> {
  const waitMs = Math.max(0, (opts.startAtMs ?? Date.now()) - Date.now());
  const r = await rig.exec(ns, udpPunchArgs(opts), {
    timeoutMs: waitMs + opts.deadlineMs + UDP_PUNCH_SLACK_MS,
  });
  return parseUdpPunch(ns, r.code, r.stdout, r.stderr);
}

/**
 * Starts one UDP program per run, waits until every one has bound its socket, then releases them
 * with one common start (their `startAtMs` is ignored), so that "at the same moment" holds even
 * on a loaded machine. Reports come back in the order of `runs`.
 * Throws when a program fails to bind in time or fails; every program is bounded in time.
 */
export async function runUdpTogether(
  rig: Rig,
  runs: { ns: string; opts: UdpPunchOptions }[],
): Promise<UdpPunchReport[]> {
  const dir = await Deno.makeTempDir({ prefix: "ipopt-go-" });
  try {
    const goFile = `${dir}/go`;
    const procs = runs.map((r) =>
      rig.spawn(r.ns, [...udpPunchArgs({ ...r.opts, startAtMs: undefined }), "--go-file", goFile])
    );
    const bound = await pollUntil(
      () => Promise.resolve(procs.every((p) => p.stdout().includes('"bound"'))),
      UDP_BIND_WAIT_MS,
      5,
    );
    if (!bound) {
      for (const p of procs) p.kill("SIGKILL");
      throw new Error(`UDP programs did not bind: ${procs.map((p) => p.stderr()).join("; ")}`);
    }
    await Deno.writeTextFile(`${goFile}.tmp`, String(Date.now() + UDP_GO_LEAD_MS));
    await Deno.rename(`${goFile}.tmp`, goFile);
    return await Promise.all(procs.map(async (p, i) => {
      const run = runs[i]!;
      const deadline = UDP_GO_LEAD_MS + run.opts.deadlineMs + UDP_PUNCH_SLACK_MS;
      if (await p.wait(deadline) === undefined) p.kill("SIGKILL");
      const out = await p.output();
      return parseUdpPunch(run.ns, out.status.code, out.stdout, out.stderr);
    }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
