/**
 * The kernel test rig: Linux network namespaces joined by veth pairs (or a bridge), commands run
 * inside them, and processes the rig kills when it is closed.
 *
 * Naming: every namespace of one run is called `ipopt-<pid>-<n><label>`, so concurrent runs never
 * collide and a crashed run's leftovers can be recognised (the pid is no longer alive) and removed
 * by `removeStaleNamespaces()`, which `Rig.create()` calls first.
 *
 * Addresses: the underlay is 198.18.0.0/15 (`198.18.0.<host>/24`), virtual addresses are in
 * 100.64.0.0/10. Nothing here ever touches the root namespace's interfaces.
 *
 * Ownership: a `Rig` owns its namespaces and every process started through it. `close()` runs the
 * registered cleanups in reverse order (agents are SIGTERMed by their own cleanup), then SIGKILLs
 * every process still alive, then deletes the namespaces (which deletes the veths inside them).
 * Use it in `try { ... } finally { await rig.close(); }`.
 */
import {
  BackgroundProcess,
  type CommandResult,
  pollUntil,
  run,
  runOk,
  type RunOptions,
} from "./command.ts";

export {
  BackgroundProcess,
  type CommandResult,
  pollUntil,
  run,
  runOk,
  type RunOptions,
} from "./command.ts";

/** Prefix of every namespace the rig creates. */
export const NETNS_PREFIX = "ipopt-";

/** Name used in the ignore message of kernel tests. */
export const NEEDS_ROOT_SUFFIX = " (skipped: needs root for network namespaces)";

/** True when this process can build network namespaces (root). */
export function canUseNetns(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** The argv prefix that runs a command inside namespace `ns`. */
export function inNs(ns: string, cmd: string[]): string[] {
  return ["ip", "netns", "exec", ns, ...cmd];
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Kills the processes of a namespace and deletes it; errors are ignored. */
async function destroyNamespace(ns: string): Promise<void> {
  const pids = await run(["ip", "netns", "pids", ns], { timeoutMs: 5_000 });
  for (const line of pids.stdout.split("\n")) {
    const pid = Number(line.trim());
    if (Number.isInteger(pid) && pid > 0) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
  await run(["ip", "netns", "del", ns], { timeoutMs: 5_000 });
}

/**
 * Deletes namespaces named `ipopt-<pid>-...` whose creating process is dead (a crashed run), with
 * any process still inside them. Returns the names removed.
 */
export async function removeStaleNamespaces(): Promise<string[]> {
  const list = await run(["ip", "netns", "list"], { timeoutMs: 5_000 });
  const removed: string[] = [];
  for (const line of list.stdout.split("\n")) {
    const name = line.trim().split(/\s+/)[0] ?? "";
    const m = /^ipopt-(\d+)-/.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === Deno.pid || pidAlive(pid)) continue;
    await destroyNamespace(name);
    removed.push(name);
  }
  return removed;
}

let rigCounter = 0;

/** A set of namespaces and the processes in them; see the module doc. */
export class Rig {
  readonly #prefix: string;
  readonly #namespaces: string[] = [];
  readonly #processes: BackgroundProcess[] = [];
  readonly #cleanups: (() => Promise<void>)[] = [];
  #closed = false;

  private constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Removes stale namespaces of crashed runs, then returns an empty rig. */
  static async create(): Promise<Rig> {
    await removeStaleNamespaces();
    rigCounter++;
    return new Rig(`${NETNS_PREFIX}${Deno.pid}-${rigCounter}`);
  }

  /** Creates namespace `<prefix><label>` with loopback up and IPv6 off; returns its name. */
  async addNamespace(label: string): Promise<string> {
    const ns = `${this.#prefix}${label}`;
    await runOk(["ip", "netns", "add", ns]);
    this.#namespaces.push(ns);
    await runOk(["ip", "-n", ns, "link", "set", "lo", "up"]);
    // No IPv6: keeps the interfaces quiet (no router solicitations or MLD on the TUN).
    for (const key of ["all", "default"]) {
      await runOk(inNs(ns, ["sysctl", "-qw", `net.ipv6.conf.${key}.disable_ipv6=1`]));
    }
    return ns;
  }

  /** Joins `nsA`/`ifA` and `nsB`/`ifB` with a veth pair (created inside the namespaces), up. */
  async addVeth(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
    await runOk([
      "ip",
      "-n",
      nsA,
      "link",
      "add",
      ifA,
      "type",
      "veth",
      "peer",
      "name",
      ifB,
      "netns",
      nsB,
    ]);
    await runOk(["ip", "-n", nsA, "link", "set", ifA, "up"]);
    await runOk(["ip", "-n", nsB, "link", "set", ifB, "up"]);
  }

  /** Adds `cidr` (e.g. "198.18.0.1/24") to interface `ifname` in `ns`. */
  async addAddress(ns: string, ifname: string, cidr: string): Promise<void> {
    await runOk(["ip", "-n", ns, "addr", "add", cidr, "dev", ifname]);
  }

  /** Runs `cmd` inside `ns` to completion (bounded); never throws for a non-zero exit. */
  exec(ns: string, cmd: string[], opts: RunOptions = {}): Promise<CommandResult> {
    return run(inNs(ns, cmd), opts);
  }

  /** Runs `cmd` inside `ns`; throws unless it exits 0. Returns stdout. */
  execOk(ns: string, cmd: string[], opts: RunOptions = {}): Promise<string> {
    return runOk(inNs(ns, cmd), opts);
  }

  /** Starts `cmd` inside `ns` in the background; the rig kills it on close. */
  spawn(ns: string, cmd: string[], env?: Record<string, string>): BackgroundProcess {
    const p = new BackgroundProcess(inNs(ns, cmd), env);
    this.#processes.push(p);
    return p;
  }

  /** Registers a cleanup run (in reverse order of registration) at the start of `close()`. */
  defer(fn: () => Promise<void>): void {
    this.#cleanups.push(fn);
  }

  /** Tears everything down; never throws; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`rig cleanup failed: ${e}`);
      }
    }
    await Promise.all(this.#processes.map((p) => p.killAndReap()));
    for (const ns of this.#namespaces.reverse()) await destroyNamespace(ns);
  }
}

/** Two hosts joined by one veth pair. */
export interface TwoHosts {
  rig: Rig;
  /** Namespace of host A (underlay 198.18.0.1 on `veth0`). */
  a: string;
  /** Namespace of host B (underlay 198.18.0.2 on `veth0`). */
  b: string;
  /** Underlay address of A. */
  ipA: string;
  /** Underlay address of B. */
  ipB: string;
}

/** Builds namespaces A and B joined by veth, 198.18.0.1/24 ⇄ 198.18.0.2/24. Caller closes the rig. */
export async function createTwoHosts(): Promise<TwoHosts> {
  const rig = await Rig.create();
  try {
    const a = await rig.addNamespace("a");
    const b = await rig.addNamespace("b");
    await rig.addVeth(a, "veth0", b, "veth0");
    await rig.addAddress(a, "veth0", "198.18.0.1/24");
    await rig.addAddress(b, "veth0", "198.18.0.2/24");
    return { rig, a, b, ipA: "198.18.0.1", ipB: "198.18.0.2" };
  } catch (e) {
    await rig.close();
    throw e;
  }
}

/** Hosts on one bridged underlay. */
export interface BridgedHosts {
  rig: Rig;
  /** Namespace holding bridge `br0`. */
  router: string;
  /** Host namespaces; host i has `eth0` with 198.18.0.(i+1)/24. */
  hosts: string[];
  /** Underlay addresses, same order as `hosts`. */
  ips: string[];
}

/** Builds `count` host namespaces attached by veth to bridge `br0` in a router namespace. */
export async function createBridgedHosts(count: number): Promise<BridgedHosts> {
  if (count < 1 || count > 200) throw new RangeError(`Bad host count: ${count}`);
  const rig = await Rig.create();
  try {
    const router = await rig.addNamespace("r");
    await runOk(["ip", "-n", router, "link", "add", "br0", "type", "bridge"]);
    await runOk(["ip", "-n", router, "link", "set", "br0", "up"]);
    const hosts: string[] = [];
    const ips: string[] = [];
    for (let i = 0; i < count; i++) {
      const ns = await rig.addNamespace(`h${i}`);
      await rig.addVeth(router, `p${i}`, ns, "eth0");
      await runOk(["ip", "-n", router, "link", "set", `p${i}`, "master", "br0"]);
      const ip = `198.18.0.${i + 1}`;
      await rig.addAddress(ns, "eth0", `${ip}/24`);
      hosts.push(ns);
      ips.push(ip);
    }
    return { rig, router, hosts, ips };
  } catch (e) {
    await rig.close();
    throw e;
  }
}

/** Pings `target` from `ns` until one reply arrives or `timeoutMs` passes. */
export function pingUntilReply(
  rig: Rig,
  ns: string,
  target: string,
  timeoutMs: number,
  extraArgs: string[] = [],
): Promise<boolean> {
  return pollUntil(
    async () => {
      const r = await rig.exec(ns, ["ping", "-n", "-c", "1", "-W", "1", ...extraArgs, target], {
        timeoutMs: 3_000,
      });
      return r.code === 0;
    },
    timeoutMs,
    100,
  );
}

/** A running `tcpdump -w` capture. */
export interface Capture {
  /** The pcap file being written. */
  path: string;
  /** The tcpdump process. */
  proc: BackgroundProcess;
  /** Stops the capture (SIGINT, flushes) and waits up to 5 s; returns the pcap bytes. */
  stop(): Promise<Uint8Array>;
}

/**
 * Starts `tcpdump -w FILE` on `iface` in `ns` with BPF `filter` (at most `maxPackets`), waits until
 * it listens. The file is a temp file the rig removes.
 */
export async function startCapture(
  rig: Rig,
  ns: string,
  iface: string,
  filter: string,
  maxPackets: number,
): Promise<Capture> {
  const path = await Deno.makeTempFile({ prefix: "ipopt-cap-", suffix: ".pcap" });
  rig.defer(() => Deno.remove(path));
  const proc = rig.spawn(ns, [
    "tcpdump",
    "-i",
    iface,
    "-n",
    "-U",
    "--immediate-mode",
    "-Z",
    "root",
    "-s",
    "2048",
    "-c",
    String(maxPackets),
    "-w",
    path,
    filter,
  ]);
  const ok = await pollUntil(
    () => Promise.resolve(/listening on/.test(proc.stderr()) || proc.exitStatus !== undefined),
    10_000,
    50,
  );
  if (!ok || proc.exitStatus !== undefined) {
    proc.kill("SIGKILL");
    throw new Error(`tcpdump did not start: ${proc.stderr()}`);
  }
  return {
    path,
    proc,
    async stop() {
      proc.kill("SIGINT");
      if (await proc.wait(5_000) === undefined) proc.kill("SIGKILL");
      return await Deno.readFile(path);
    },
  };
}

/** Waits until something in `ns` listens on TCP `port`; returns false after `timeoutMs`. */
export function waitTcpListening(
  rig: Rig,
  ns: string,
  port: number,
  timeoutMs: number,
): Promise<boolean> {
  return pollUntil(
    async () => {
      const r = await rig.exec(ns, ["ss", "-Hltn", `sport = :${port}`], { timeoutMs: 3_000 });
      return r.code === 0 && r.stdout.trim() !== "";
    },
    timeoutMs,
    50,
  );
}
