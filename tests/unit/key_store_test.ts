import assert from "node:assert/strict";
import { keyPairFrom } from "../../lib/crypto/x25519.ts";
import { IdentityError, loadOrCreateIdentity } from "../../lib/identity/key_store.ts";
import { decodeKey, encodeKey } from "../../lib/identity/key_text.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ipop_keys_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const fixed = (byte: number) => () => new Uint8Array(32).fill(byte);

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof IdentityError, `expected IdentityError, got ${err}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"));
    return true;
  });
}

Deno.test("identity: first use creates a 0700 state dir, a 0600 key file and public.key", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/a/state`;
    const id = await loadOrCreateIdentity(dir, { randomBytes: fixed(7) });
    assert.deepEqual(id, keyPairFrom(new Uint8Array(32).fill(7)));
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    const keyInfo = await Deno.stat(`${dir}/private.key`);
    assert.equal(keyInfo.mode! & 0o777, 0o600);
    const keyText = await Deno.readTextFile(`${dir}/private.key`);
    assert.match(keyText, /^[A-Za-z0-9+/]{43}=\n$/);
    assert.deepEqual(decodeKey(keyText), id.privateKey);
    assert.equal(await Deno.readTextFile(`${dir}/public.key`), `${encodeKey(id.publicKey)}\n`);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["private.key", "public.key"]);
  });
});

Deno.test("identity: later uses reuse the stored key", async () => {
  await withTempDir(async (dir) => {
    const first = await loadOrCreateIdentity(dir, { randomBytes: fixed(1) });
    const second = await loadOrCreateIdentity(dir, { randomBytes: fixed(2) });
    assert.deepEqual(second, first);
    await Deno.remove(`${dir}/public.key`);
    await loadOrCreateIdentity(dir);
    assert.equal(await Deno.readTextFile(`${dir}/public.key`), `${encodeKey(first.publicKey)}\n`);
  });
});

Deno.test("identity: racing creators all end up with one key and leave no temp files", async () => {
  await withTempDir(async (dir) => {
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => loadOrCreateIdentity(dir, { randomBytes: fixed(i + 1) })),
    );
    const keys = new Set(ids.map((id) => encodeKey(id.publicKey)));
    assert.equal(keys.size, 1);
    const stored = decodeKey(await Deno.readTextFile(`${dir}/private.key`));
    assert.deepEqual(ids[0]!.privateKey, stored);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["private.key", "public.key"]);
  });
});

Deno.test("identity: refuses a key file readable by group or others", async () => {
  await withTempDir(async (dir) => {
    await loadOrCreateIdentity(dir, { randomBytes: fixed(3) });
    await Deno.chmod(`${dir}/private.key`, 0o640);
    await rejectsWith(loadOrCreateIdentity(dir), /accessible by group or others \(mode 0640\)/);
    await Deno.chmod(`${dir}/private.key`, 0o604);
    await rejectsWith(loadOrCreateIdentity(dir), /chmod 600/);
  });
});

Deno.test("identity: refuses an unparsable key file instead of replacing it", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/private.key`, "not a key\n", { mode: 0o600 });
    await rejectsWith(loadOrCreateIdentity(dir), /does not hold a base64 32-byte key/);
    assert.equal(await Deno.readTextFile(`${dir}/private.key`), "not a key\n");
  });
});

Deno.test("identity: a state dir that is a file is a clear error", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    await rejectsWith(loadOrCreateIdentity(`${dir}/file`), /is not a directory/);
  });
});
