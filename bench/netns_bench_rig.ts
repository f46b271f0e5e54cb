/**
 * Measurement pieces for the link benchmark, on top of the namespace rig: iperf3 TCP throughput,
 * ping RTT, per-process CPU and peak memory from /proc, and a wireguard-go tunnel between two
 * namespaces (the userspace implementation, on a TUN device: never the kernel module).
 */
import { generateKeyPairSync } from "node:crypto";
import { type BackgroundProcess, pollUntil, type Rig, run, runOk } from "../tests/helpers/netns.ts";

/** The iperf3 port used in every namespace. */
export const IPERF_PORT = 5201;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`). */
export async function clockTicksPerSecond(): Promise<number> {
  const r = await run(["getconf", "CLK_TCK"]);
  const n = Number(r.stdout.trim());
  return r.code === 0 && n > 0 ? n : 100;
}

/** user+sys CPU seconds of a process so far, or NaN when it is gone. */
export async function cpuSeconds(pid: number, ticksPerSecond: number): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the ")" that closes the command name: state is field 3; utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond;
  } catch {
    return NaN;
  }
}

/** Peak resident memory (VmHWM) of a process in MiB, or NaN when it is gone. */
export async function peakMemoryMiB(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Samples the CPU use of some processes over a window. */
export class CpuMeter {
  readonly #pids: number[];
  readonly #tps: number;
  #start: number[] = [];
  #wallMs = 0;
  #t0 = 0;
  #busy: number[];

  /** Meters `pids`; `ticksPerSecond` from `clockTicksPerSecond()`. */
  constructor(pids: number[], ticksPerSecond: number) {
    this.#pids = pids;
    this.#tps = ticksPerSecond;
    this.#busy = pids.map(() => 0);
  }

  /** Opens a window. */
  async begin(): Promise<void> {
    this.#start = await Promise.all(this.#pids.map((p) => cpuSeconds(p, this.#tps)));
    this.#t0 = performance.now();
  }

  /** Closes the window, adding its CPU and wall time to the totals. */
  async end(): Promise<void> {
    const now = await Promise.all(this.#pids.map((p) => cpuSeconds(p, this.#tps)));
    this.#wallMs += performance.now() - this.#t0;
    now.forEach((s, i) => (this.#busy[i]! += s - this.#start[i]!));
  }

  /** Per process: CPU seconds over all windows as % of one core. */
  percentOfCore(): number[] {
    return this.#busy.map((s) => (this.#wallMs > 0 ? (100 * s) / (this.#wallMs / 1000) : NaN));
  }
}

/** Runs an iperf3 TCP test from `clientNs` to `serverIp` (a server must listen); returns Mbit/s. */
export async function iperfMbps(
  rig: Rig,
  clientNs: string,
  serverIp: string,
  seconds: number,
  streams: number,
): Promise<number> {
  const cmd = ["iperf3", "-c", serverIp, "-p", String(IPERF_PORT), "-t", String(seconds), "-J"];
  if (streams > 1) cmd.push("-P", String(streams));
  let last = "";
  // The server may need a moment to listen: retry connection failures for a few seconds.
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = await rig.exec(clientNs, cmd, { timeoutMs: (seconds + 20) * 1000 });
    last = r.stdout + r.stderr;
    if (r.code === 0) {
      const j = JSON.parse(r.stdout);
      const bps = Number(j?.end?.sum_received?.bits_per_second);
      const bytes = Number(j?.end?.sum_received?.bytes);
      if (!(bytes > 0)) throw new Error(`iperf3 moved no bytes: ${last.slice(0, 2000)}`);
      return bps / 1e6;
    }
    if (!/connect|refused|busy/i.test(last)) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`iperf3 to ${serverIp} failed: ${last.slice(0, 2000)}`);
}

/** Starts `iperf3 -s` bound to `ip` in `ns` (the rig kills it). */
export function startIperfServer(rig: Rig, ns: string, ip: string): BackgroundProcess {
  return rig.spawn(ns, ["iperf3", "-s", "-B", ip, "-p", String(IPERF_PORT)]);
}

/** Average RTT in ms of `count` pings at `intervalS` from `ns` to `target`. */
export async function pingAvgMs(
  rig: Rig,
  ns: string,
  target: string,
  count = 50,
  intervalS = 0.01,
): Promise<number> {
  const r = await rig.exec(
    ns,
    ["ping", "-n", "-q", "-c", String(count), "-i", String(intervalS), "-W", "1", target],
    { timeoutMs: 30_000 },
  );
  const m = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(r.stdout);
  if (m === null) throw new Error(`ping to ${target} gave no RTT: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

/** One wireguard-go end. */
export interface WgEnd {
  ns: string;
  ifname: string;
  proc: BackgroundProcess;
}

function b64urlToB64(s: string): string {
  return Uint8Array.fromBase64(s, { alphabet: "base64url" }).toBase64();
}

/** A fresh X25519 key pair as wireguard's base64 text. */
export function wgKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { privateKey: b64urlToB64(jwk.d!), publicKey: b64urlToB64(jwk.x!) };
}

/**
 * Builds a wireguard-go tunnel between `nsA` (underlay `ipA`) and `nsB` (`ipB`): interfaces
 * `<base>a` / `<base>b` with 100.65.0.1/24 and 100.65.0.2/24, MTU `mtu`, UDP port `port`. Checks
 * each interface is a TUN (userspace wireguard-go), not a kernel wireguard link. The rig stops it.
 */
export async function startWireguardGo(
  rig: Rig,
  nsA: string,
  ipA: string,
  nsB: string,
  ipB: string,
  base: string,
  port = 51821,
  mtu = 1420,
): Promise<[WgEnd, WgEnd]> {
  const keys = [wgKeyPair(), wgKeyPair()];
  const ends: WgEnd[] = [];
  const sides = [
    {
      ns: nsA,
      ifname: `${base}a`,
      addr: "100.65.0.1/24",
      peerAllowed: "100.65.0.2/32",
      peerIp: ipB,
    },
    {
      ns: nsB,
      ifname: `${base}b`,
      addr: "100.65.0.2/24",
      peerAllowed: "100.65.0.1/32",
      peerIp: ipA,
    },
  ];
  for (const [i, s] of sides.entries()) {
    // Both namespaces share /var/run/wireguard, hence distinct interface names.
    const proc = rig.spawn(s.ns, ["wireguard-go", "-f", s.ifname], { LOG_LEVEL: "error" });
    rig.defer(async () => {
      proc.kill("SIGTERM");
      if (await proc.wait(3_000) === undefined) proc.kill("SIGKILL");
    });
    const sock = `/var/run/wireguard/${s.ifname}.sock`;
    const up = await pollUntil(
      async () =>
        proc.exitStatus !== undefined || await Deno.stat(sock).then(() => true, () => false),
      10_000,
      50,
    );
    if (!up || proc.exitStatus !== undefined) {
      throw new Error(`wireguard-go ${s.ifname} did not start: ${proc.stderr()}${proc.stdout()}`);
    }
    const detail = await runOk(["ip", "-d", "-n", s.ns, "link", "show", s.ifname]);
    if (!/\btun\b/.test(detail)) {
      throw new Error(`${s.ifname} is not a TUN (kernel wireguard?): ${detail}`);
    }
    const keyFile = await Deno.makeTempFile({ prefix: "ipopt-wgkey-" });
    rig.defer(() => Deno.remove(keyFile));
    await Deno.writeTextFile(keyFile, keys[i]!.privateKey + "\n");
    const peerKey = keys[1 - i]!.publicKey;
    await rig.execOk(s.ns, [
      "wg",
      "set",
      s.ifname,
      "listen-port",
      String(port),
      "private-key",
      keyFile,
      "peer",
      peerKey,
      "allowed-ips",
      s.peerAllowed,
      "endpoint",
      `${s.peerIp}:${port}`,
    ]);
    await runOk(["ip", "-n", s.ns, "addr", "add", s.addr, "dev", s.ifname]);
    await runOk(["ip", "-n", s.ns, "link", "set", s.ifname, "mtu", String(mtu), "up"]);
    ends.push({ ns: s.ns, ifname: s.ifname, proc });
  }
  return [ends[0]!, ends[1]!];
}
