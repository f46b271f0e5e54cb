/**
 * Bounded subprocesses for the kernel tests and benchmarks: `run` a command to completion with a
 * timeout, or keep one in the background (`BackgroundProcess`) with the tail of its output in
 * memory; `pollUntil` for deadlines. Nothing here knows about namespaces.
 */
/** Default bound on any one command. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 15_000;
/** Bytes of stdout/stderr a background process keeps (the tail). */
export const OUTPUT_TAIL_BYTES = 256 * 1024;

/** The outcome of a finished command. */
export interface CommandResult {
  /** Exit code (the signal number + 128 when killed). */
  code: number;
  /** True when the rig killed it because it ran past its timeout. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Options for `run`. */
export interface RunOptions {
  /** Kill the command after this long (SIGKILL). Default `DEFAULT_COMMAND_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Runs `cmd` to completion, bounded in time; never throws for a non-zero exit. */
export async function run(cmd: string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [program, ...args] = cmd;
  if (program === undefined) throw new TypeError("Empty command");
  const child = new Deno.Command(program, {
    args,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      timedOut,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Like `run`, but throws (with the output) unless the command exits 0. */
export async function runOk(cmd: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, opts);
  if (r.code !== 0) {
    throw new Error(
      `Command failed (code ${r.code}${r.timedOut ? ", timed out" : ""}): ${cmd.join(" ")}\n` +
        `${r.stdout}${r.stderr}`,
    );
  }
  return r.stdout;
}

/** Keeps the last `OUTPUT_TAIL_BYTES` of a stream, readable at any time. */
class OutputTail {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  /** Resolves when the stream ends. */
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      while (this.#size > OUTPUT_TAIL_BYTES && this.#chunks.length > 1) {
        this.#size -= this.#chunks.shift()!.length;
      }
    }
  }

  text(): string {
    const all = new Uint8Array(this.#size);
    let off = 0;
    for (const c of this.#chunks) {
      all.set(c, off);
      off += c.length;
    }
    return new TextDecoder().decode(all);
  }
}

/** A process running in the background (usually inside a namespace), output kept in memory. */
export class BackgroundProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdout: OutputTail;
  readonly #stderr: OutputTail;
  #exit: Deno.CommandStatus | undefined;
  readonly #status: Promise<Deno.CommandStatus>;
  /** The command line, for messages. */
  readonly cmd: string[];

  /** Spawns `cmd` with stdout and stderr captured (tail of `OUTPUT_TAIL_BYTES` each). */
  constructor(cmd: string[], env?: Record<string, string>) {
    const [program, ...args] = cmd;
    if (program === undefined) throw new TypeError("Empty command");
    this.cmd = cmd;
    this.#child = new Deno.Command(program, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdout = new OutputTail(this.#child.stdout);
    this.#stderr = new OutputTail(this.#child.stderr);
    this.#status = this.#child.status.then((s) => (this.#exit = s));
  }

  /** The process id (`ip netns exec` execs the command, so this is the command itself). */
  get pid(): number {
    return this.#child.pid;
  }

  /** The exit status, or undefined while it runs. */
  get exitStatus(): Deno.CommandStatus | undefined {
    return this.#exit;
  }

  /** Sends a signal; ignored when the process has already exited. */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    if (this.#exit !== undefined) return;
    try {
      this.#child.kill(signal);
    } catch { /* exited meanwhile */ }
  }

  /** Waits for exit up to `timeoutMs`; returns the status, or undefined on timeout. */
  async wait(timeoutMs: number): Promise<Deno.CommandStatus | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.#status, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILLs (if running) and waits for the exit and the end of the output streams. */
  async killAndReap(): Promise<void> {
    this.kill("SIGKILL");
    await this.#status;
    await Promise.all([this.#stdout.done, this.#stderr.done]);
  }

  /** Waits (unbounded: use only for commands that end by themselves) for exit and the output. */
  async output(): Promise<{ status: Deno.CommandStatus; stdout: string; stderr: string }> {
    const status = await this.#status;
    await Promise.all([this.#stdout.done, this.#stderr.done]);
    return { status, stdout: this.#stdout.text(), stderr: this.#stderr.text() };
  }

  /** Stdout captured so far. */
  stdout(): string {
    return this.#stdout.text();
  }

  /** Stderr captured so far. */
  stderr(): string {
    return this.#stderr.text();
  }
}

/** Polls `probe` every `intervalMs` until it returns true or `timeoutMs` passes; returns success. */
export async function pollUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    if (await probe()) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True when `path` exists (a link counts, whatever it points to). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
