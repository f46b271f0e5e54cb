/**
 * Runs the real ipop agent (`main.ts up`) as a separate process inside a namespace of a `Rig`, reads
 * its `status --json`, and stops it checking the shutdown contract: SIGTERM → exit code 0 within
 * 2 s and the TUN interface gone.
 *
 * Settings go in as `up` flags, or (`configFile: true`) as a JSON config file the helper writes, with
 * `--config FILE` the only flag.
 *
 * The agent's stderr is kept in memory (tail); `logs()` returns it for failure messages.
 */
import assert from "node:assert/strict";
import type { AgentStatus } from "../../lib/agent/agent_status.ts";
import { type BackgroundProcess, pollUntil, type Rig, run, runOk } from "./netns.ts";

/** The product's entry point. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;
/** The Deno binary running this test (the pinned one). */
export const DENO = Deno.execPath();
/** The shutdown bound of the CLI contract. */
export const SHUTDOWN_DEADLINE_MS = 2_000;
/** Default bound for an agent to reach "established". */
export const ESTABLISH_TIMEOUT_MS = 20_000;

export type { AgentStatus, DropCounters, PeerStatus } from "../../lib/agent/agent_status.ts";

/** True when the product's `main.ts` exists (it is written in parallel with these tests). */
export function productExists(): boolean {
  try {
    return Deno.statSync(MAIN_TS).isFile;
  } catch {
    return false;
  }
}

/** Creates (or reads) the identity in `stateDir`; returns the base64 public key. */
export async function agentId(stateDir: string): Promise<string> {
  const out = await runOk([DENO, "run", "-A", MAIN_TS, "id", "--state-dir", stateDir], {
    timeoutMs: 30_000,
  });
  const key = out.trim();
  assert.match(key, /^[A-Za-z0-9+/]{43}=$/, `id printed no public key: ${JSON.stringify(out)}`);
  return key;
}

/** Options for one agent. */
export interface AgentOptions {
  /** Namespace to run in. */
  ns: string;
  /** Underlay listen address, "198.18.0.1:51820". */
  listen: string;
  /** Static virtual address with prefix, "100.64.0.1/24"; default none (DHCP over the DHT). */
  address?: string;
  /** `--subnet` for DHCP, e.g. "100.64.0.0/24"; default the agent's. */
  subnet?: string;
  /** Fixed peers as "PUBKEY@HOST:PORT"; default none. */
  peers?: string[];
  /** Bootstrap nodes as "udp://HOST:PORT"; default none (the agent founds a new overlay). */
  bootstrap?: string[];
  /** Network secret file, if any. */
  secretFile?: string;
  /** TUN name; default "ipop0". */
  tun?: string;
  /** MTU; default 1420. */
  mtu?: number;
  /** Log level; default "debug" when IPOP_TEST_LOG is set, else "info". */
  logLevel?: string;
  /** State dir; default a fresh temporary directory the rig removes. */
  stateDir?: string;
  /** More `up` flags, e.g. ["--metrics", "127.0.0.1:9100"]; not with `configFile`. */
  extraArgs?: string[];
  /**
   * True: write every setting above to a JSON config file (in a temporary folder the rig removes)
   * and start the agent with `up --config FILE` and no other flag. Default false: flags.
   */
  configFile?: boolean;
  /** More config-file keys, e.g. `{ metrics: "127.0.0.1:9100" }`; only with `configFile`. */
  extraConfig?: Record<string, unknown>;
}

/** A running agent. */
export class AgentProcess {
  readonly #rig: Rig;
  readonly #proc: BackgroundProcess;
  #stopped = false;
  /** Namespace it runs in. */
  readonly ns: string;
  /** Its state directory. */
  readonly stateDir: string;
  /** Its TUN interface name. */
  readonly tun: string;
  /** Its public key. */
  readonly publicKey: string;
  /** The config file it was started from (`configFile: true`), else undefined. */
  readonly configFile: string | undefined;

  private constructor(
    rig: Rig,
    proc: BackgroundProcess,
    ns: string,
    stateDir: string,
    tun: string,
    publicKey: string,
    configFile: string | undefined,
  ) {
    this.#rig = rig;
    this.#proc = proc;
    this.ns = ns;
    this.stateDir = stateDir;
    this.tun = tun;
    this.publicKey = publicKey;
    this.configFile = configFile;
  }

  /** Makes a state dir (removed on rig close) and its identity; returns [dir, public key]. */
  static async prepare(rig: Rig): Promise<[string, string]> {
    const dir = await Deno.makeTempDir({ prefix: "ipopt-state-" });
    rig.defer(() => Deno.remove(dir, { recursive: true }));
    return [dir, await agentId(dir)];
  }

  /**
   * Starts `main.ts up` in `opts.ns`. `opts.stateDir` must already hold the identity when peers
   * need its key first (see `prepare`). The rig SIGTERMs (then SIGKILLs) it on close.
   */
  static async start(rig: Rig, opts: AgentOptions): Promise<AgentProcess> {
    let stateDir = opts.stateDir;
    let key: string;
    if (stateDir === undefined) [stateDir, key] = await AgentProcess.prepare(rig);
    else key = await agentId(stateDir);
    const tun = opts.tun ?? "ipop0";
    const settings = {
      stateDir,
      listen: opts.listen,
      tun,
      mtu: opts.mtu ?? 1420,
      logLevel: opts.logLevel ?? (Deno.env.get("IPOP_TEST_LOG") ? "debug" : "info"),
      address: opts.address,
      subnet: opts.subnet,
      peers: opts.peers,
      bootstrap: opts.bootstrap,
      secretFile: opts.secretFile,
    };
    let configFile: string | undefined;
    const args = [DENO, "run", "-A", MAIN_TS, "up"];
    if (opts.configFile) {
      assert.equal(opts.extraArgs, undefined, "configFile: settings go in extraConfig, not flags");
      const dir = await Deno.makeTempDir({ prefix: "ipopt-config-" });
      rig.defer(() => Deno.remove(dir, { recursive: true }));
      configFile = `${dir}/ipop.json`;
      const json = { ...settings, ...opts.extraConfig };
      await Deno.writeTextFile(configFile, JSON.stringify(json, null, 2) + "\n");
      args.push("--config", configFile);
    } else {
      assert.equal(opts.extraConfig, undefined, "extraConfig needs configFile: true");
      args.push("--state-dir", stateDir, "--listen", opts.listen, "--tun", tun);
      args.push("--mtu", String(settings.mtu), "--log-level", settings.logLevel);
      if (opts.address !== undefined) args.push("--address", opts.address);
      if (opts.subnet !== undefined) args.push("--subnet", opts.subnet);
      for (const p of opts.peers ?? []) args.push("--peer", p);
      for (const b of opts.bootstrap ?? []) args.push("--bootstrap", b);
      if (opts.secretFile !== undefined) args.push("--secret-file", opts.secretFile);
      args.push(...opts.extraArgs ?? []);
    }
    const proc = rig.spawn(opts.ns, args);
    const agent = new AgentProcess(rig, proc, opts.ns, stateDir, tun, key, configFile);
    rig.defer(async () => {
      if (agent.#stopped) return;
      agent.#proc.kill("SIGTERM");
      if (await agent.#proc.wait(SHUTDOWN_DEADLINE_MS) === undefined) agent.#proc.kill("SIGKILL");
    });
    return agent;
  }

  /** The process id of the agent (the deno process). */
  get pid(): number {
    return this.#proc.pid;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.#proc.exitStatus === undefined;
  }

  /** Its stderr/stdout so far, for failure messages. */
  logs(): string {
    return `--- agent in ${this.ns} (pid ${this.pid}) ---\n${this.#proc.stderr()}${this.#proc.stdout()}`;
  }

  /** Runs `status --json` in its namespace; throws on failure or bad JSON. */
  async status(): Promise<AgentStatus> {
    const r = await this.#rig.exec(
      this.ns,
      [DENO, "run", "-A", MAIN_TS, "status", "--json", "--state-dir", this.stateDir],
      { timeoutMs: 15_000 },
    );
    if (r.code !== 0) throw new Error(`status failed (code ${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as AgentStatus;
  }

  /** Status, or undefined when it cannot be read (yet). */
  async tryStatus(): Promise<AgentStatus | undefined> {
    try {
      return await this.status();
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until the peer with `peerKey` (default: every peer) is "established"; throws with the
   * agent's logs on timeout or when the process exits.
   */
  async waitEstablished(peerKey?: string, timeoutMs = ESTABLISH_TIMEOUT_MS): Promise<AgentStatus> {
    let last: AgentStatus | undefined;
    const ok = await pollUntil(
      async () => {
        if (!this.alive) return true;
        last = await this.tryStatus();
        if (last === undefined || last.peers.length === 0) return false;
        const peers = peerKey === undefined
          ? last.peers
          : last.peers.filter((p) => p.publicKey === peerKey);
        return peers.length > 0 && peers.every((p) => p.state === "established");
      },
      timeoutMs,
      250,
    );
    if (!this.alive) {
      throw new Error(`agent exited (${JSON.stringify(this.#proc.exitStatus)})\n${this.logs()}`);
    }
    if (!ok || last === undefined) {
      throw new Error(
        `agent in ${this.ns} not established within ${timeoutMs} ms; last status ${
          JSON.stringify(last)
        }\n${this.logs()}`,
      );
    }
    return last;
  }

  /** Waits up to `timeoutMs` for the process to exit by itself; its status, or undefined. */
  async exited(timeoutMs: number): Promise<Deno.CommandStatus | undefined> {
    const status = await this.#proc.wait(timeoutMs);
    if (status !== undefined) this.#stopped = true;
    return status;
  }

  /** Sends `signal` without waiting. */
  signal(signal: Deno.Signal): void {
    this.#proc.kill(signal);
  }

  /**
   * Kills the agent with `signal` (default SIGKILL: a crash, no goodbye to its neighbours) and waits
   * up to 5 s for it to exit; returns the exit status (undefined if it still runs). No shutdown
   * contract is checked: a killed agent leaves its TUN behind in the namespace.
   */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus | undefined> {
    this.#stopped = true;
    this.#proc.kill(signal);
    return await this.#proc.wait(5_000);
  }

  /**
   * SIGTERMs the agent and asserts the contract: exit code 0 within 2 s and its TUN gone from the
   * namespace. Returns the time to exit in ms.
   */
  async stop(): Promise<number> {
    this.#stopped = true;
    const t0 = performance.now();
    this.#proc.kill("SIGTERM");
    const status = await this.#proc.wait(SHUTDOWN_DEADLINE_MS);
    const ms = performance.now() - t0;
    if (status === undefined) {
      this.#proc.kill("SIGKILL");
      await this.#proc.wait(5_000);
      assert.fail(
        `agent did not exit within ${SHUTDOWN_DEADLINE_MS} ms of SIGTERM\n${this.logs()}`,
      );
    }
    assert.equal(status.code, 0, `agent exit code ${status.code} after SIGTERM\n${this.logs()}`);
    const link = await run(["ip", "-n", this.ns, "link", "show", this.tun]);
    assert.notEqual(link.code, 0, `interface ${this.tun} still exists after exit\n${link.stdout}`);
    return ms;
  }
}

/** Writes a fresh random network secret (hex text) to a temp file the rig removes; returns path. */
export async function makeSecretFile(rig: Rig): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ipopt-secret-" });
  rig.defer(() => Deno.remove(path));
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(path, bytes.toHex() + "\n");
  return path;
}
