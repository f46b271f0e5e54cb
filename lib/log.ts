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

/** A logger writing `LEVEL message` lines to stderr at or above `level`. */
export function consoleLogger(level: LogLevel, prefix = ""): Logger {
  const at = (l: LogLevel) => (msg: string) => {
    if (RANK[l] <= RANK[level]) console.error(`${prefix}${l.toUpperCase()} ${msg}`);
  };
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}
