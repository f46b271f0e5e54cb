/**
 * Layout of ipop's help pages (folder-private): option entries and paragraphs wrapped to
 * `PAGE_WIDTH_CHARS`, and the option entries several commands share.
 */
import { UP_KEYS } from "../config_sources.ts";

/** Width the pages are wrapped to, in characters (fits an 80-column terminal with room). */
export const PAGE_WIDTH_CHARS = 96;
/** Column where an option's description starts. */
const DESCRIPTION_COLUMN = 27;

/** Wraps `text` (spaces collapsed) into lines of at most `width` characters, each `indent`ed. */
function wrap(text: string, indent: number, width = PAGE_WIDTH_CHARS): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l);
}

/** A paragraph of prose, wrapped, with a trailing newline. */
export function paragraph(text: string): string {
  return wrap(text, 0).join("\n") + "\n";
}

/**
 * One option entry: `  USAGE  description`, the description wrapped at `DESCRIPTION_COLUMN`
 * (on the next line when USAGE is too long), with a trailing newline.
 */
export function option(usage: string, description: string): string {
  const head = `  ${usage}`;
  const body = wrap(description, DESCRIPTION_COLUMN);
  const first = body[0]?.trimStart() ?? "";
  if (head.length < DESCRIPTION_COLUMN - 1 && first !== "") {
    body[0] = head.padEnd(DESCRIPTION_COLUMN) + first;
    return body.join("\n") + "\n";
  }
  return [head, ...body].join("\n") + "\n";
}

/** The `--state-dir` entry of the commands that talk to a running agent. */
export const STATE_DIR_ENTRY = option(
  "--state-dir DIR",
  `The state directory of the running agent (as given to "ipop up"); its control socket is
  DIR/control.sock. Default: $${UP_KEYS.stateDir.env}; one of the two is required.`,
);

/** The `--json` entry of the commands that print an answer. */
export const JSON_ENTRY = option(
  "--json",
  "Print the answer as JSON (pretty-printed) instead of text. Default: text.",
);

/** The `-h, --help` entry every command has. */
export const HELP_ENTRY = option("-h, --help", "Show this help and exit.");

/** The exit status line of the commands that ask a running agent. */
export const AGENT_EXIT_LINE = "1 when no agent runs with DIR or it does not answer; 2 on a " +
  "usage mistake.";
