/**
 * Pieces of the addressing benchmark (bench/addressing_bench.ts), on top of the namespace rig:
 * identities written straight into a state dir, a bare agent spawn whose start instant is known
 * to the millisecond, a 10 ms poll of the TUN's IPv4 address, ping series with per-packet RTTs,
 * UDP blocks between namespaces (iptables), and the order statistics the report prints.
 *
 * Ownership: every state dir, process and rule is created through a `Rig` and goes away when the
 * rig is closed (namespaces are deleted with their iptables rules).
 */
import { percentile } from "./sim/metrics.ts";
import { AGENT_PORT } from "../tests/helpers/link_fixture.ts";
import { DENO, MAIN_TS, SHUTDOWN_DEADLINE_MS } from "../tests/helpers/agent_process.ts";
import { type BackgroundProcess, type Rig, run } from "../tests/helpers/netns.ts";
import { type KeyPair, keyPairFrom, X25519_KEY_BYTES } from "../lib/crypto/x25519.ts";
import { addressOfKey, addressToHex } from "../lib/overlay/address.ts";
import { encodeKey } from "../lib/identity/key_text.ts";
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from "../lib/identity/key_store.ts";

/** The TUN interface name every agent of the benchmark uses (one per namespace). */
export const BENCH_TUN = "ipop0";
/** Poll period of the TUN address, as the brief asks. */
export const ADDRESS_POLL_INTERVAL_MS = 10;

/** An identity with its overlay address. */
export interface RingIdentity {
  keys: KeyPair;
  /** Overlay address, 40 hex digits. */
  address: string;
}

/** A fresh random X25519 identity. */
export function randomIdentity(): RingIdentity {
  const keys = keyPairFrom(crypto.getRandomValues(new Uint8Array(X25519_KEY_BYTES)));
  return { keys, address: addressToHex(addressOfKey(keys.publicKey)) };
}

/**
 * `take` identities whose overlay addresses are consecutive (clockwise, no wrap past 0) among
 * `pool` random ones, in ring order.
 */
export function consecutiveIdentities(pool: number, take: number): RingIdentity[] {
  if (!(take >= 1 && pool >= take)) throw new RangeError(`Bad pool/take: ${pool}/${take}`);
  const all = Array.from({ length: pool }, randomIdentity);
  all.sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
  const start = Math.floor(Math.random() * (pool - take + 1));
  return all.slice(start, start + take);
}

/**
 * Makes a fresh state dir holding `identity` as the key store expects (dir 0700, `private.key`
 * base64 + newline with mode 0600, `public.key`); the rig removes it. Returns its path.
 */
export async function stateDirWith(rig: Rig, identity: RingIdentity): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ipopt-state-" });
  rig.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chmod(dir, 0o700);
  const priv = `${dir}/${PRIVATE_KEY_FILE}`;
  await Deno.writeTextFile(priv, `${encodeKey(identity.keys.privateKey)}\n`, { mode: 0o600 });
  await Deno.chmod(priv, 0o600);
  await Deno.writeTextFile(
    `${dir}/${PUBLIC_KEY_FILE}`,
    `${encodeKey(identity.keys.publicKey)}\n`,
    { mode: 0o644 },
  );
  return dir;
}

/** What `spawnAgent` needs. */
export interface BareAgentOptions {
  ns: string;
  /** Underlay IPv4 address; the agent listens on it at `AGENT_PORT`. */
  ip: string;
  stateDir: string;
  secretFile: string;
  subnet: string;
  /** Underlay IPv4 address of the bootstrap node, or undefined to found a new overlay. */
  bootstrapIp?: string;
}

/** A bare agent process and the `performance.now()` instant just before it was spawned. */
export interface BareAgent {
  proc: BackgroundProcess;
  ns: string;
  spawnedAtMs: number;
}

/**
 * Spawns `main.ts up` exactly as `AgentProcess.start` does, but without running `ipop id` first
 * (the identity is already in the state dir), so the time from spawn is the agent's own. Logs at
 * debug level when `IPOP_TEST_LOG` is set, else at warn.
 */
export function spawnAgent(rig: Rig, o: BareAgentOptions): BareAgent {
  const args = [DENO, "run", "-A", MAIN_TS, "up", "--state-dir", o.stateDir];
  args.push("--listen", `${o.ip}:${AGENT_PORT}`, "--tun", BENCH_TUN, "--mtu", "1420");
  const level = Deno.env.get("IPOP_TEST_LOG") ? "debug" : "warn";
  args.push("--log-level", level, "--subnet", o.subnet, "--secret-file", o.secretFile);
  if (o.bootstrapIp !== undefined) args.push("--bootstrap", `udp://${o.bootstrapIp}:${AGENT_PORT}`);
  const spawnedAtMs = performance.now();
  const proc = rig.spawn(o.ns, args);
  return { proc, ns: o.ns, spawnedAtMs };
}

/**
 * SIGTERMs a bare agent and waits for the CLI's shutdown bound; throws (after SIGKILL) unless it
 * exited 0 in time. Returns the ms it took.
 */
export async function stopAgent(agent: BareAgent): Promise<number> {
  const t0 = performance.now();
  agent.proc.kill("SIGTERM");
  const status = await agent.proc.wait(SHUTDOWN_DEADLINE_MS);
  const ms = performance.now() - t0;
  if (status === undefined) {
    await agent.proc.killAndReap();
    throw new Error(`agent in ${agent.ns} did not exit within ${SHUTDOWN_DEADLINE_MS} ms`);
  }
  if (status.code !== 0) {
    throw new Error(`agent in ${agent.ns} exited ${status.code}: ${agent.proc.stderr()}`);
  }
  await agent.proc.killAndReap(); // reaps the output streams
  return ms;
}

/**
 * Polls `ip -n NS -4 addr show dev TUN` every `ADDRESS_POLL_INTERVAL_MS` until it shows an
 * address in `prefix` (e.g. "100.64."); returns [performance.now() when seen, the address], or
 * undefined after `timeoutMs` or when `alive()` turns false.
 */
export async function waitTunAddress(
  ns: string,
  prefix: string,
  timeoutMs: number,
  alive: () => boolean,
): Promise<[number, string] | undefined> {
  const deadline = performance.now() + timeoutMs;
  const re = /inet (\d+\.\d+\.\d+\.\d+)\//;
  while (performance.now() < deadline && alive()) {
    const next = performance.now() + ADDRESS_POLL_INTERVAL_MS;
    const r = await run(["ip", "-n", ns, "-4", "addr", "show", "dev", BENCH_TUN], {
      timeoutMs: 5_000,
    });
    const m = re.exec(r.stdout);
    if (m !== null && m[1]!.startsWith(prefix)) return [performance.now(), m[1]!];
    const wait = next - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  }
  return undefined;
}

/**
 * Pings `target` from `ns` every 10 ms until the first reply (`ping -c 1 -w`); returns
 * performance.now() at the reply (ping's exit), or undefined after `timeoutS`.
 */
export async function firstReplyAt(
  rig: Rig,
  ns: string,
  target: string,
  timeoutS: number,
): Promise<number | undefined> {
  const r = await rig.exec(
    ns,
    ["ping", "-n", "-q", "-c", "1", "-i", "0.01", "-w", String(timeoutS), target],
    { timeoutMs: (timeoutS + 5) * 1000 },
  );
  return r.code === 0 ? performance.now() : undefined;
}

/** A ping series: per-reply RTTs and the counts. */
export interface PingSeries {
  sent: number;
  received: number;
  rttsMs: number[];
}

/** `ping -c count -i intervalS` from `ns` to `target`, RTT of every reply. */
export async function pingSeries(
  rig: Rig,
  ns: string,
  target: string,
  count: number,
  intervalS: number,
): Promise<PingSeries> {
  const r = await rig.exec(
    ns,
    ["ping", "-n", "-c", String(count), "-i", String(intervalS), "-W", "2", target],
    { timeoutMs: (count * intervalS + 20) * 1000 },
  );
  const rttsMs = [...r.stdout.matchAll(/icmp_seq=\d+ ttl=\d+ time=([\d.]+) ms/g)].map((m) =>
    Number(m[1])
  );
  const sentM = /(\d+) packets transmitted/.exec(r.stdout);
  return { sent: sentM ? Number(sentM[1]) : count, received: rttsMs.length, rttsMs };
}

/** Drops UDP between `ns` (underlay `ip`) and each of `others` in both directions (iptables). */
export async function blockUdp(rig: Rig, ns: string, others: string[]): Promise<void> {
  for (const other of others) {
    await rig.execOk(ns, ["iptables", "-A", "INPUT", "-p", "udp", "-s", other, "-j", "DROP"]);
    await rig.execOk(ns, ["iptables", "-A", "OUTPUT", "-p", "udp", "-d", other, "-j", "DROP"]);
  }
}

/** Order statistics of a sample (nearest-rank percentiles); NaN fields when it is empty. */
export interface Summary {
  n: number;
  min: number;
  avg: number;
  p50: number;
  p99: number;
  max: number;
}

/** Summarises `xs`. */
export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const avg = s.length === 0 ? NaN : s.reduce((a, b) => a + b, 0) / s.length;
  return {
    n: s.length,
    min: s[0] ?? NaN,
    avg,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
  };
}
