/**
 * The opt-in Prometheus endpoint of an agent: a small HTTP server (an OS edge, `Deno.serve`)
 * answering `GET /metrics` with the agent's status in the text exposition format 0.0.4, plus a
 * live dashboard page (see `dashboard_page.ts`) and the status it draws, as JSON.
 *
 *   GET|HEAD /metrics       200  text/plain; version=0.0.4   (renderPrometheus(getStatus()))
 *   GET|HEAD /status.json   200  application/json            (JSON.stringify(getStatus()))
 *   GET|HEAD /              200  text/html                   (the dashboard; no status read)
 *   other method        405  (Allow: GET, HEAD)
 *   other path          404
 *   too busy            503  (more than `maxConcurrentRequests` requests in flight)
 *   getStatus throws    500  (one line: the error's message)
 *
 * It listens on 127.0.0.1 unless told otherwise: the metrics are not secret-bearing but do name
 * peers, so exposing them beyond the host is the operator's explicit choice.
 *
 * Contract: `listen` resolves once the socket is bound, or throws `MetricsSetupError` with a
 * one-line message ("Cannot serve metrics on HOST:PORT: address in use"). After `close()`
 * resolves, the socket is closed, no request is in flight, `getStatus` is not called again and
 * nothing of the server keeps the process alive. `close()` is idempotent.
 */
import type { AgentStatus } from "../agent/agent_status.ts";
import { DASHBOARD_PAGE_HTML, DASHBOARD_STATUS_PATH } from "./dashboard_page.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus_text.ts";

/** The host the metrics server binds to unless told otherwise. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";
/** Requests in flight at once before the server answers 503 (tuning default). */
export const DEFAULT_MAX_CONCURRENT_METRICS_REQUESTS = 4;
/** The path metrics are served on. */
export const METRICS_PATH = "/metrics";
/** The path the dashboard page is served on. */
export const DASHBOARD_PATH = "/";
/** The path the status is served on as JSON (what the dashboard reads). */
export const STATUS_JSON_PATH = DASHBOARD_STATUS_PATH;

/**
 * Headers of the dashboard page: it is self-contained, so everything but its own inline script
 * and style and reading this origin is refused.
 */
const DASHBOARD_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; " +
    "style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
};

/** How each status-reading path renders the status, and its content type. */
const STATUS_ROUTES: Record<string, { type: string; render: (s: AgentStatus) => string }> = {
  [METRICS_PATH]: { type: PROMETHEUS_CONTENT_TYPE, render: renderPrometheus },
  [STATUS_JSON_PATH]: {
    type: "application/json; charset=utf-8",
    render: (s) => JSON.stringify(s) + "\n",
  },
};

/** Thrown when the metrics server cannot start; the message is one line for the user. */
export class MetricsSetupError extends Error {
  override name = "MetricsSetupError";
}

/** Where to listen. */
export interface MetricsAddress {
  /** Host or IP literal to bind (default `DEFAULT_METRICS_HOST`); IPv6 without brackets. */
  host?: string;
  /** TCP port; 0 picks a free one (read it back from `MetricsServer.port`). */
  port: number;
}

/** Options of `MetricsServer.listen`. */
export interface MetricsServerOptions {
  /** Requests in flight at once before answering 503 (default 4). */
  maxConcurrentRequests?: number;
}

/** Reads the status to expose; called once per scrape, may be async. */
export type StatusSource = () => AgentStatus | Promise<AgentStatus>;

/** Formats `HOST:PORT`, bracketing IPv6 literals. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parses a `--metrics` value: `PORT`, `HOST:PORT` or `[V6]:PORT` (host defaults to
 * `DEFAULT_METRICS_HOST`). Throws `MetricsSetupError` with a one-line message on anything else.
 */
export function parseMetricsAddress(text: string): Required<MetricsAddress> {
  const m = /^(?:(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]\s]+)):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new MetricsSetupError(
      `Expected PORT or HOST:PORT for the metrics address, got "${text}"`,
    );
  }
  return { host: m[1] ?? m[2] ?? DEFAULT_METRICS_HOST, port };
}

/** Serves `/metrics`, `/status.json` and the dashboard over HTTP; see the module comment. */
export class MetricsServer {
  /** The bound host. */
  readonly host: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #closing: Promise<void> | null = null;

  private constructor(host: string, server: Deno.HttpServer<Deno.NetAddr>) {
    this.host = host;
    this.port = server.addr.port;
    this.#server = server;
  }

  /**
   * Binds `address` and starts serving; `getStatus` is read once per scrape. Throws
   * `MetricsSetupError` when the address is in use, not local, or otherwise unusable.
   */
  static listen(
    address: MetricsAddress,
    getStatus: StatusSource,
    options: MetricsServerOptions = {},
  ): Promise<MetricsServer> {
    const host = address.host ?? DEFAULT_METRICS_HOST;
    const where = formatHostPort(host, address.port);
    const handler = metricsHandler(
      getStatus,
      options.maxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT_METRICS_REQUESTS,
    );
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname: host,
        port: address.port,
        onListen: () => {},
        onError: () => new Response("Internal error\n", { status: 500 }),
      }, handler);
    } catch (err) {
      const why = err instanceof Deno.errors.AddrInUse
        ? "address in use"
        : err instanceof Deno.errors.AddrNotAvailable
        ? "address not available"
        : err instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : oneLine(err);
      return Promise.reject(
        new MetricsSetupError(`Cannot serve metrics on ${where}: ${why}`, { cause: err }),
      );
    }
    return Promise.resolve(new MetricsServer(host, server));
  }

  /** `HOST:PORT` of the bound socket. */
  get address(): string {
    return formatHostPort(this.host, this.port);
  }

  /** Stops listening, waits for requests in flight and releases the socket. */
  close(): Promise<void> {
    this.#closing ??= this.#server.shutdown().then(() => this.#server.finished);
    return this.#closing;
  }
}

/**
 * The request handler of the metrics server, usable without a socket: routes `/metrics`,
 * `/status.json` and `/`, caps status reads in flight at `maxConcurrent` (503 beyond) and turns a
 * failing `getStatus` into 500.
 */
export function metricsHandler(
  getStatus: StatusSource,
  maxConcurrent: number,
): (request: Request) => Promise<Response> {
  let inFlight = 0;
  return async (request) => {
    const path = new URL(request.url).pathname;
    const route = Object.hasOwn(STATUS_ROUTES, path) ? STATUS_ROUTES[path] : undefined;
    if (route === undefined && path !== DASHBOARD_PATH) {
      return text(404, "Not found; metrics are at /metrics, the dashboard at /\n");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "Method not allowed\n", { allow: "GET, HEAD" });
    }
    const head = request.method === "HEAD";
    if (route === undefined) {
      return new Response(head ? null : DASHBOARD_PAGE_HTML, { headers: DASHBOARD_HEADERS });
    }
    if (inFlight >= maxConcurrent) return text(503, "Too many concurrent requests\n");
    inFlight++;
    try {
      const body = route.render(await getStatus());
      return new Response(head ? null : body, {
        headers: { "content-type": route.type, "cache-control": "no-store" },
      });
    } catch (err) {
      return text(500, `Cannot read the agent status: ${oneLine(err)}\n`);
    } finally {
      inFlight--;
    }
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0] ?? "";
}
