/**
 * The client side of the control socket (see control_server.ts for the protocol): connects to
 * `STATE_DIR/control.sock`, sends one JSON request line and reads one JSON reply line.
 */
import { GuardedConn, LineError } from "./_json_line.ts";
import { CONTROL_TIMEOUT_MS, controlSocketPath } from "./control_server.ts";

/** Largest reply line the client accepts, in bytes. */
export const MAX_CONTROL_REPLY_BYTES = 4 * 1024 * 1024;

/** Thrown when no agent listens on the state directory's control socket. */
export class AgentNotRunningError extends Error {
  override name = "AgentNotRunningError";
}

/** Thrown when the agent answers with `{"error": ...}`, a bad reply, or not in time. */
export class ControlRequestError extends Error {
  override name = "ControlRequestError";
}

/** Options of `requestControl`. */
export interface ControlClientOptions {
  /** Deadline of the exchange (default `CONTROL_TIMEOUT_MS`). */
  timeoutMs?: number;
}

/**
 * Sends `request` to the agent running with `stateDir` and returns its parsed reply. Throws
 * `AgentNotRunningError` when nothing listens, `ControlRequestError` for an error reply, an
 * unparsable reply or a timeout.
 */
export async function requestControl(
  stateDir: string,
  request: Record<string, unknown>,
  options: ControlClientOptions = {},
): Promise<unknown> {
  const path = controlSocketPath(stateDir);
  let raw: Deno.UnixConn;
  try {
    raw = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new AgentNotRunningError(`ipop is not running (no control socket in ${stateDir})`);
    }
    if (err instanceof Deno.errors.ConnectionRefused) {
      throw new AgentNotRunningError(`ipop is not running (stale control socket in ${stateDir})`);
    }
    const why = err instanceof Deno.errors.PermissionDenied
      ? "permission denied (run as the user that started ipop)"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new ControlRequestError(`Cannot connect to ${path}: ${why}`, { cause: err });
  }
  const conn = new GuardedConn(raw, options.timeoutMs ?? CONTROL_TIMEOUT_MS);
  let line: string;
  try {
    await conn.writeJsonLine(request);
    line = await conn.readLine(MAX_CONTROL_REPLY_BYTES);
  } catch (err) {
    const why = err instanceof LineError ? err.message : String(err);
    throw new ControlRequestError(`No reply from ipop on ${path}: ${why}`, { cause: err });
  } finally {
    conn.close();
  }
  let reply: unknown;
  try {
    reply = JSON.parse(line);
  } catch (err) {
    throw new ControlRequestError(`ipop sent a reply that is not JSON on ${path}`, { cause: err });
  }
  const error = typeof reply === "object" && reply !== null
    ? (reply as { error?: unknown }).error
    : undefined;
  if (typeof error === "string") throw new ControlRequestError(`ipop answered: ${error}`);
  return reply;
}

/** Asks the agent running with `stateDir` for its status (an `AgentStatus`, not yet checked). */
export function requestStatus(
  stateDir: string,
  options: ControlClientOptions = {},
): Promise<unknown> {
  return requestControl(stateDir, { cmd: "status" }, options);
}
