/**
 * The documentation keeps up with the code: every key of `ipop up` (`UP_KEYS`) has its row in
 * docs/config.md's table (JSON type, flag, variable) and its paragraph, the example there is what
 * `ipop config example` prints, and every command and option of the parser (`COMMAND_OPTIONS`) is
 * named in README.md or docs/. A key or command added without its documentation fails here.
 */
import assert from "node:assert/strict";
import { exampleConfigJson } from "../../lib/config/config_file.ts";
import { CONFIG_ENV, UP_KEY_NAMES, UP_KEYS } from "../../lib/config/config_sources.ts";
import { COMMAND_OPTIONS, COMMAND_PATHS } from "../../lib/config/command_table.ts";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, ROOT));
const CONFIG_MD = read("docs/config.md");

/** The JSON type docs/config.md gives each kind of key. */
const KIND_TEXT = {
  string: "string",
  path: "string (path)",
  number: "number",
  list: "array of strings",
} as const;

/** The cells of the table rows of docs/config.md whose first cell is a `key`, by key. */
function tableRows(markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of markdown.split("\n")) {
    const m = /^\|\s*`([A-Za-z]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.split("|").map((cell) => cell.trim()));
  }
  return rows;
}

Deno.test("docs/config.md: every key has its table row with its JSON type, flag and variable", () => {
  const rows = tableRows(CONFIG_MD);
  for (const key of UP_KEY_NAMES) {
    const row = rows.get(key);
    assert.ok(row !== undefined, `docs/config.md has no table row for "${key}"`);
    const [type, flag, variable] = row;
    assert.equal(type, KIND_TEXT[UP_KEYS[key].kind], `JSON type of "${key}"`);
    assert.match(flag ?? "", new RegExp(`^\`--${UP_KEYS[key].flag}\``), `flag of "${key}"`);
    assert.equal(variable, `\`${UP_KEYS[key].env}\``, `variable of "${key}"`);
  }
  assert.deepEqual([...rows.keys()], UP_KEY_NAMES, "no other rows, in the code's order");
});

Deno.test("docs/config.md: every key has its paragraph", () => {
  for (const key of UP_KEY_NAMES) {
    assert.match(CONFIG_MD, new RegExp(`^- \\*\\*${key}\\*\\*: \\S`, "m"), `paragraph of "${key}"`);
  }
});

Deno.test("docs/config.md: the example is what `ipop config example` prints", () => {
  const m = /`ipop config example` prints[\s\S]*?```json\n([\s\S]*?)\n```/.exec(CONFIG_MD);
  assert.ok(m, "docs/config.md shows the example in a json block");
  assert.equal(m[1], JSON.stringify(exampleConfigJson(), null, 2));
});

Deno.test("docs/config.md: every environment variable is named", () => {
  for (const name of [...UP_KEY_NAMES.map((k) => UP_KEYS[k].env), CONFIG_ENV]) {
    assert.ok(CONFIG_MD.includes(`\`${name}\``), `docs/config.md does not name ${name}`);
  }
});

Deno.test("README.md and docs/: every command and every option of each is named", () => {
  const docs = [
    read("README.md"),
    ...[...Deno.readDirSync(new URL("docs/", ROOT))]
      .filter((e) => e.isFile && e.name.endsWith(".md"))
      .map((e) => read(`docs/${e.name}`)),
  ].join("\n");
  for (const path of COMMAND_PATHS) {
    const spelled = path === "version" ? "(version|--version)" : path;
    assert.match(docs, new RegExp(`\`ipop ${spelled}\\b`), `no \`ipop ${path}\` in the docs`);
    for (const option of Object.keys(COMMAND_OPTIONS[path])) {
      assert.ok(docs.includes(`--${option}`), `--${option} of "${path}" is not in the docs`);
    }
  }
});
