/**
 * The local control socket of a running agent: a unix stream socket `STATE_DIR/control.sock`
 * (inside the 0700 state directory, itself mode 0600) on which `ipop status` asks for the status.
 *
 * Protocol, one exchange per connection:
 *
 *   client → server   {"cmd":"status"}\n          (at most MAX_CONTROL_REQUEST_BYTES)
 *   server → client   <status JSON>\n  or  {"error":"<one line>"}\n
 *
 * and likewise for the extra commands the agent registers (`{"cmd":"dht-get","key":"k"}`…).
 *
 * The whole exchange has a deadline (`CONTROL_TIMEOUT_MS`); the server then closes the
 * connection. Contract: after `close()` resolves, no connection is open, `getStatus` is not called
 * again and the socket file is gone.
 */
import { GuardedConn, LineError } from "./_json_line.ts";

/** Name of the control socket in the state directory. */
export const CONTROL_SOCKET_FILE = "control.sock";
/** Largest request line the server reads, in bytes. */
export const MAX_CONTROL_REQUEST_BYTES = 4 * 1024;
/** Deadline of one control exchange, in milliseconds. */
export const CONTROL_TIMEOUT_MS = 2000;
/** Deadline of an exchange whose command waits for the overlay (a DHT operation). */
export const SLOW_CONTROL_TIMEOUT_MS = 10_000;
/** Longest unix socket path Linux accepts (sun_path minus the NUL), in bytes. */
export const MAX_UNIX_PATH_BYTES = 107;

const SOCKET_MODE = 0o600;

/** Thrown when the control socket cannot be set up; the message is one line for the user. */
export class ControlSetupError extends Error {
  override name = "ControlSetupError";
}

/** The control socket path of a state directory. */
export function controlSocketPath(stateDir: string): string {
  return `${stateDir}/${CONTROL_SOCKET_FILE}`;
}

/** Options of `ControlServer.listen`. */
export interface ControlServerOptions {
  /** Deadline of one exchange (default `SLOW_CONTROL_TIMEOUT_MS`). */
  timeoutMs?: number;
  /**
   * Commands besides "status", by name: each gets the whole request object and answers with
   * a JSON-safe value (or a Promise of one); what it throws is sent as `{"error": message}`.
   */
  commands?: Record<string, ControlCommand>;
}

/** The handler of one control command. */
export type ControlCommand = (request: Record<string, unknown>) => unknown;

/** Serves status requests on `STATE_DIR/control.sock`. */
export class ControlServer {
  /** The socket path. */
  readonly path: string;
  #listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
  #getStatus: () => unknown;
  #commands: Record<string, ControlCommand>;
  #timeoutMs: number;
  #conns = new Set<GuardedConn>();
  #handlers = new Set<Promise<void>>();
  #acceptLoop: Promise<void>;
  #closed = false;

  private constructor(
    path: string,
    listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>,
    getStatus: () => unknown,
    options: ControlServerOptions,
  ) {
    this.path = path;
    this.#listener = listener;
    this.#getStatus = getStatus;
    this.#commands = options.commands ?? {};
    this.#timeoutMs = options.timeoutMs ?? SLOW_CONTROL_TIMEOUT_MS;
    this.#acceptLoop = this.#accept();
  }

  /**
   * Listens on `STATE_DIR/control.sock`. A stale socket file nobody answers on is replaced; throws
   * `ControlSetupError` when another agent answers on it ("another ipop is already running with
   * state dir DIR"), when the path is not a socket, or when listening fails. `getStatus` is called
   * once per status request; whatever it returns is sent as JSON, and if it throws, its message
   * is sent as `{"error": ...}`.
   */
  static async listen(
    stateDir: string,
    getStatus: () => unknown,
    options: ControlServerOptions = {},
  ): Promise<ControlServer> {
    const path = controlSocketPath(stateDir);
    if (new TextEncoder().encode(path).length > MAX_UNIX_PATH_BYTES) {
      throw new ControlSetupError(
        `Control socket path ${path} is longer than ${MAX_UNIX_PATH_BYTES} bytes; use a shorter --state-dir`,
      );
    }
    await removeStaleSocket(stateDir, path);
    let listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
    try {
      listener = Deno.listen({ transport: "unix", path });
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) throw alreadyRunning(stateDir);
      throw new ControlSetupError(`Cannot listen on ${path}: ${messageOf(err)}`, { cause: err });
    }
    try {
      await Deno.chmod(path, SOCKET_MODE);
    } catch (err) {
      listener.close();
      await Deno.remove(path).catch(() => {});
      throw new ControlSetupError(`Cannot set mode of ${path}: ${messageOf(err)}`, { cause: err });
    }
    return new ControlServer(path, listener, getStatus, options);
  }

  /** Stops listening, ends open exchanges, waits for them and removes the socket file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const conn of this.#conns) conn.close();
    await this.#acceptLoop;
    await Promise.allSettled([...this.#handlers]);
    await Deno.remove(this.path).catch(() => {});
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.UnixConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed (BadResource/Interrupted): close() drains the handlers.
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      const guarded = new GuardedConn(conn, this.#timeoutMs);
      this.#conns.add(guarded);
      const handler = this.#serve(guarded).finally(() => {
        guarded.close();
        this.#conns.delete(guarded);
        this.#handlers.delete(handler);
      });
      this.#handlers.add(handler);
    }
  }

  async #serve(conn: GuardedConn): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.#answer(await conn.readLine(MAX_CONTROL_REQUEST_BYTES));
    } catch (err) {
      reply = { error: err instanceof LineError ? err.message : `Bad request: ${messageOf(err)}` };
    }
    try {
      await conn.writeJsonLine(reply);
    } catch {
      // The client went away or the deadline passed; nothing more to do for it.
    }
  }

  async #answer(line: string): Promise<unknown> {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return { error: "Request is not JSON" };
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return { error: 'Expected a JSON object like {"cmd":"status"}' };
    }
    const cmd = (request as { cmd?: unknown }).cmd;
    const command = cmd === "status"
      ? () => this.#getStatus()
      : typeof cmd === "string" && Object.hasOwn(this.#commands, cmd)
      ? this.#commands[cmd]!
      : null;
    if (!command) return { error: `Unknown command ${JSON.stringify(cmd ?? null)}` };
    try {
      const answer = await command(request as Record<string, unknown>);
      JSON.stringify(answer); // surface serialisation errors here, as an answer
      return answer;
    } catch (err) {
      return { error: messageOf(err) };
    }
  }
}

async function removeStaleSocket(stateDir: string, path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw new ControlSetupError(`Cannot use ${path}: ${messageOf(err)}`, { cause: err });
  }
  if (!info.isSocket) throw new ControlSetupError(`${path} exists and is not a socket`);
  try {
    const probe = await Deno.connect({ transport: "unix", path });
    probe.close();
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused || err instanceof Deno.errors.NotFound) {
      await Deno.remove(path).catch(() => {});
      return;
    }
    throw new ControlSetupError(`Cannot probe ${path}: ${messageOf(err)}`, { cause: err });
  }
  throw alreadyRunning(stateDir);
}

function alreadyRunning(stateDir: string): ControlSetupError {
  return new ControlSetupError(`Another ipop is already running with state dir ${stateDir}`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
