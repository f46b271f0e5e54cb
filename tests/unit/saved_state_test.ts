import assert from "node:assert/strict";
import {
  MAX_SAVED_PEERS,
  parseSavedState,
  readSavedState,
  SAVED_STATE_FILE,
  writeSavedState,
} from "../../lib/agent/saved_state.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";

Deno.test("saved state: written and read back, file mode 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ipop_state_" });
  try {
    const state = {
      lease: ipv4ToNumber("100.64.3.7"),
      peers: [endpoint("198.18.0.2", 5800), endpoint("2001:db8::1", 5800)],
    };
    assert.equal(writeSavedState(dir, state), null);
    assert.deepEqual(readSavedState(dir), state);
    assert.equal((await Deno.stat(`${dir}/${SAVED_STATE_FILE}`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saved state: a missing, malformed or foreign file is an empty state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ipop_state_" });
  try {
    assert.deepEqual(readSavedState(dir), { lease: null, peers: [] });
    await Deno.writeTextFile(`${dir}/${SAVED_STATE_FILE}`, "{not json");
    assert.deepEqual(readSavedState(dir), { lease: null, peers: [] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(parseSavedState('{"version":2,"lease":"100.64.0.2"}'), null);
  assert.equal(parseSavedState("[]"), null);
  // Bad entries are skipped, the rest kept; the list is bounded.
  const peers = Array.from({ length: 40 }, (_, i) => `198.18.0.${i + 1}:5800`);
  const parsed = parseSavedState(
    JSON.stringify({ version: 1, lease: "999.1.1.1", peers: ["nonsense", 7, ...peers] }),
  );
  assert.equal(parsed?.lease, null);
  assert.equal(parsed?.peers.length, MAX_SAVED_PEERS - 2);
  assert.equal(parsed?.peers[0]?.host, "198.18.0.1");
});

Deno.test("saved state: an unwritable directory is reported, not thrown", () => {
  const err = writeSavedState("/nonexistent/dir", { lease: null, peers: [] });
  assert.ok(err instanceof Error);
});
