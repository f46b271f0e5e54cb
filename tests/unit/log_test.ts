import assert from "node:assert/strict";
import { consoleLogger } from "../../lib/log.ts";
import { parseLogFormat } from "../../lib/config/up_config.ts";
import { ConfigError } from "../../lib/config/config_error.ts";

/** Runs `fn` with console.error captured. */
function captured(fn: () => void): string[] {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    fn();
  } finally {
    console.error = original;
  }
  return lines;
}

Deno.test("log: text lines carry the level; levels below the threshold are dropped", () => {
  const lines = captured(() => {
    const log = consoleLogger("info");
    log.debug("hidden");
    log.info("shown");
    log.error("bad");
  });
  assert.deepEqual(lines, ["INFO shown", "ERROR bad"]);
});

Deno.test("log: json lines are one object each with time, level and message", () => {
  const lines = captured(() => {
    const log = consoleLogger("warn", "", "json", () => Date.UTC(2026, 10, 25, 1, 2, 3));
    log.info("hidden");
    log.warn('a "quoted"\nline');
  });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: "2026-11-25T01:02:03.000Z",
    level: "warn",
    msg: 'a "quoted"\nline',
  });
});

Deno.test("log: --log-format accepts text and json only", () => {
  assert.equal(parseLogFormat("json"), "json");
  assert.equal(parseLogFormat("text"), "text");
  assert.throws(() => parseLogFormat("xml"), ConfigError);
});
