/**
 * ipop's command-line front: `ipop up | status | peers | ping | resolve | dht get|put | down | id
 * | config check|example | help [COMMAND] | version`; `ipop COMMAND --help` shows a command's page.
 *
 * This is an OS edge: it reads argv, owns stdout/stderr, signals and the exit status, and wires
 * the parsed config, the identity on disk, the agent and the control socket together.
 *
 * Exit status: 0 success (help included), 1 runtime failure (one line `ipop: <message>`), 2 usage
 * mistake (one line `ipop: <message>`, ending "Run `ipop COMMAND --help`." for a mistake in the
 * command line's shape); only unexpected internal errors print a stack.
 */
import { type RunningAgent, startAgent } from "./lib/agent/start_agent.ts";
import { ConfigError } from "./lib/config/config_error.ts";
import { checkConfigFile, configToJson, exampleConfigJson } from "./lib/config/config_file.ts";
import { commandPathOf, helpTopicOf } from "./lib/config/command_table.ts";
import { parseCommand } from "./lib/config/parse_args.ts";
import { checkPeersAgainstSelf, type UpConfig } from "./lib/config/up_config.ts";
import { helpPage, usageHint } from "./lib/config/usage.ts";
import {
  AgentNotRunningError,
  ControlRequestError,
  requestControl,
  requestStatus,
} from "./lib/control/control_client.ts";
import {
  ControlServer,
  ControlSetupError,
  SLOW_CONTROL_TIMEOUT_MS,
} from "./lib/control/control_server.ts";
import { formatDhtAnswer, formatResolveAnswer, isDhtAnswer } from "./lib/control/dht_text.ts";
import { formatStatus, isAgentStatus } from "./lib/control/status_text.ts";
import { MetricsServer } from "./lib/metrics/metrics_server.ts";
import type { PingAnswer } from "./lib/agent/agent_control.ts";
import { formatPeers, formatPing, isPeersAnswer } from "./lib/control/peers_text.ts";
import type { AgentStatus } from "./lib/agent/agent_status.ts";
import { IdentityError, loadOrCreateIdentity } from "./lib/identity/key_store.ts";
import { encodeKey } from "./lib/identity/key_text.ts";
import { consoleLogger, type Logger } from "./lib/log.ts";
import { VERSION } from "./lib/version.ts";

/** Exit status for success. */
export const EXIT_OK = 0;
/** Exit status for a runtime failure. */
export const EXIT_FAILURE = 1;
/** Exit status for a usage mistake. */
export const EXIT_USAGE = 2;
/** After a shutdown signal, exit even if closing has not finished after this long. */
export const SHUTDOWN_DEADLINE_MS = 1500;

/** A runtime failure of `up` (TUN error, port taken): printed as one line, exit status 1. */
class UpFailure extends Error {
  override name = "UpFailure";
}

/** Runs one ipop command line and returns the exit status. */
export async function main(args: string[]): Promise<number> {
  try {
    // Help wins over everything else on the line: `ipop up --mtu x --help` shows up's page.
    const topic = helpTopicOf(args);
    if (topic !== undefined) {
      console.log(helpPage(topic).trimEnd());
      return EXIT_OK;
    }
    const command = parseCommand(args);
    switch (command.kind) {
      case "help":
        // No command at all: the global page, as a usage mistake.
        console.error(helpPage("ipop").trimEnd());
        return EXIT_USAGE;
      case "version":
        console.log(`ipop ${VERSION}`);
        return EXIT_OK;
      case "id": {
        const identity = await loadOrCreateIdentity(command.stateDir);
        console.log(encodeKey(identity.publicKey));
        return EXIT_OK;
      }
      case "status":
        return await runStatus(command.stateDir, command.json);
      case "up":
        return await runUp(command.config);
      case "dht-get":
        return await runDht(command.stateDir, command.json, { cmd: "dht-get", key: command.key });
      case "dht-put": {
        const { key, value, ttl } = command;
        return await runDht(command.stateDir, command.json, { cmd: "dht-put", key, value, ttl });
      }
      case "resolve":
        return await runDht(command.stateDir, command.json, { cmd: "resolve", ip: command.ip });
      case "ping":
        return await runPing(command.stateDir, command.json, command.ip);
      case "peers":
        return await runPeers(command.stateDir, command.json);
      case "down":
        await requestControl(command.stateDir, { cmd: "down" });
        console.log("ipop is stopping");
        return EXIT_OK;
      case "config-check":
        return runConfigCheck(command.path);
      case "config-example":
        console.log(JSON.stringify(exampleConfigJson(), null, 2));
        return EXIT_OK;
    }
  } catch (err) {
    return reportError(err, args);
  }
}

/** Prints `err` as one line; a usage mistake ends in a hint naming the command's help page. */
function reportError(err: unknown, args: readonly string[]): number {
  if (err instanceof ConfigError) {
    const hint = err.seeHelp ? `. ${usageHint(commandPathOf(args))}` : "";
    console.error(`ipop: ${err.message}${hint}`);
    return EXIT_USAGE;
  }
  if (err instanceof AgentNotRunningError) {
    console.error(err.message);
    return EXIT_FAILURE;
  }
  if (
    err instanceof IdentityError || err instanceof ControlSetupError ||
    err instanceof ControlRequestError || err instanceof UpFailure
  ) {
    console.error(`ipop: ${err.message}`);
    return EXIT_FAILURE;
  }
  console.error("ipop: internal error:", err);
  return EXIT_FAILURE;
}

/** `config check FILE`: "FILE: ok" and the effective config, or every error (exit 2). */
function runConfigCheck(path: string): number {
  const check = checkConfigFile(path, (p) => Deno.readFileSync(p));
  if (check.config === undefined) {
    for (const err of check.errors) console.error(`ipop: ${err.message}`);
    return EXIT_USAGE;
  }
  console.log(`${path}: ok`);
  console.log(JSON.stringify(configToJson(check.config, check.secretFile), null, 2));
  return EXIT_OK;
}

async function runStatus(stateDir: string, json: boolean): Promise<number> {
  const status = await requestStatus(stateDir);
  if (json || !isAgentStatus(status)) {
    console.log(JSON.stringify(status, null, 2));
  } else {
    console.log(formatStatus(status).trimEnd());
  }
  return EXIT_OK;
}

/** `ipop ping IP`: the owner, the round-trip time through the overlay, and the route. */
async function runPing(stateDir: string, json: boolean, ip: string): Promise<number> {
  const answer = await requestControl(stateDir, { cmd: "ping", ip }, {
    timeoutMs: SLOW_CONTROL_TIMEOUT_MS,
  }) as PingAnswer;
  if (json) console.log(JSON.stringify(answer, null, 2));
  else console.log(formatPing(answer));
  return answer.result === "reply" ? EXIT_OK : EXIT_FAILURE;
}

/** `ipop peers`: the links and overlay connections. */
async function runPeers(stateDir: string, json: boolean): Promise<number> {
  const answer = await requestControl(stateDir, { cmd: "peers" });
  if (json || !isPeersAnswer(answer)) console.log(JSON.stringify(answer, null, 2));
  else console.log(formatPeers(answer).trimEnd());
  return EXIT_OK;
}

/** A DHT command over the control socket; exit 1 when the DHT failed (a miss is an answer). */
async function runDht(
  stateDir: string,
  json: boolean,
  request: Record<string, unknown>,
): Promise<number> {
  const answer = await requestControl(stateDir, request, { timeoutMs: SLOW_CONTROL_TIMEOUT_MS });
  if (json || !isDhtAnswer(answer)) console.log(JSON.stringify(answer, null, 2));
  else if (request.cmd === "resolve") {
    console.log(formatResolveAnswer(String(request.ip), answer).trimEnd());
  } else console.log(formatDhtAnswer(answer).trimEnd());
  const ok = isDhtAnswer(answer) &&
    (answer.status === "ok" || (request.cmd !== "dht-put" && answer.status === "not found"));
  return ok ? EXIT_OK : EXIT_FAILURE;
}

async function runUp(config: UpConfig): Promise<number> {
  const logger = consoleLogger(config.logLevel, "", config.logFormat);
  const identity = await loadOrCreateIdentity(config.stateDir);
  checkPeersAgainstSelf(config.peers, identity.publicKey);
  let agent: RunningAgent | undefined;
  // Listen first, so a second ipop on the same state dir fails before touching TUN or UDP.
  const running = (): RunningAgent => {
    if (agent === undefined) throw new Error("ipop is still starting");
    return agent;
  };
  const forward = (request: Record<string, unknown>) => running().control(request);
  let requestDown = () => {};
  const down = () => {
    running();
    // After the answer has gone out: the shutdown closes this very socket.
    setTimeout(() => requestDown(), DOWN_DELAY_MS);
    return { stopping: true };
  };
  const control = await ControlServer.listen(config.stateDir, () => running().status(), {
    commands: {
      "dht-get": forward,
      "dht-put": forward,
      "resolve": forward,
      "ping": forward,
      "peers": () => peersOf(running().status()),
      "down": down,
    },
  });
  let metrics: MetricsServer | undefined;
  try {
    // Also before TUN and UDP: a metrics port in use fails with nothing to undo.
    if (config.metrics) {
      const { host, port } = config.metrics;
      metrics = await MetricsServer.listen({ host, port }, () => running().status());
    }
    agent = await startAgent({ config, identity, logger });
    if (metrics) {
      logger.info(
        `metrics on http://${metrics.address}/metrics, dashboard on http://${metrics.address}/`,
      );
    }
  } catch (err) {
    await Promise.all([control.close(), metrics?.close(), agent?.close()]);
    if (config.logLevel === "debug") logger.debug(String((err as Error)?.stack ?? err));
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UpFailure(message ?? "The agent failed to start", { cause: err });
  }
  const closers = [() => control.close(), ...(metrics ? [() => metrics!.close()] : [])];
  return await untilShutdown(agent, closers, logger, (trigger) => requestDown = trigger);
}

/** How long `ipop down` lets its answer go out before the shutdown begins, in ms. */
const DOWN_DELAY_MS = 50;

/** The `peers` answer: the status's peers and overlay connections. */
function peersOf(status: AgentStatus): unknown {
  return { peers: status.peers, connections: status.connections };
}

/** Resolves with the exit status once a signal or the agent's own end has shut everything down. */
function untilShutdown(
  agent: RunningAgent,
  closers: (() => Promise<void>)[],
  logger: Logger,
  onDownRequest: (trigger: () => void) => void,
): Promise<number> {
  return new Promise((resolve) => {
    onDownRequest(() => void stop("ipop down", EXIT_OK));
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const handlers = signals.map((signal) => {
      const handler = () => void stop(`${signal} received`, EXIT_OK);
      Deno.addSignalListener(signal, handler);
      return [signal, handler] as const;
    });
    let stopping = false;
    const stop = async (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      // A second signal now gets the default action: immediate termination.
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
      logger.info(`shutting down (${why})`);
      const startedMs = performance.now();
      const deadline = setTimeout(() => {
        logger.warn(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting anyway`);
        resolve(code);
      }, SHUTDOWN_DEADLINE_MS);
      try {
        await Promise.all([...closers.map((close) => close()), agent.close()]);
      } catch (err) {
        logger.error(`error while shutting down: ${err instanceof Error ? err.message : err}`);
      }
      clearTimeout(deadline);
      logger.debug(`closed in ${Math.round(performance.now() - startedMs)} ms`);
      resolve(code);
    };
    agent.closed.then(
      () => stop("agent stopped", EXIT_OK),
      (err) => {
        logger.error(`agent failed: ${err instanceof Error ? err.message : err}`);
        return stop("agent failed", EXIT_FAILURE);
      },
    );
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
