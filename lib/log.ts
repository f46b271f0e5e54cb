/** Log levels, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** An injected logger; protocol code never writes to the console itself. */
export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

/** A logger that drops everything (the default in tests). */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};

/** How log lines look: `LEVEL message`, or one JSON object a line (for log collectors). */
export type LogFormat = "text" | "json";

/**
 * A logger writing lines to stderr at or above `level`: `LEVEL message`, or with `json`
 * `{"time":ISO-8601,"level":"info","msg":"..."}` (the time from `now`, epoch ms).
 */
export function consoleLogger(
  level: LogLevel,
  prefix = "",
  format: LogFormat = "text",
  now: () => number = () => Date.now(),
): Logger {
  const at = (l: LogLevel) => (msg: string) => {
    if (RANK[l] > RANK[level]) return;
    console.error(
      format === "json"
        ? JSON.stringify({ time: new Date(now()).toISOString(), level: l, msg: prefix + msg })
        : `${prefix}${l.toUpperCase()} ${msg}`,
    );
  };
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}
