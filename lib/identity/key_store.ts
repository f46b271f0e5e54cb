/**
 * The node identity on disk: a state directory (mode 0700) holding `private.key`, the X25519
 * private key as base64 text plus a newline (mode 0600, like WireGuard's key files), and
 * `public.key` next to it for convenience.
 *
 * Creation is atomic and race-free: the key is written to a unique temporary file opened with
 * `createNew` and mode 0600, synced, then hard-linked into place (`link` fails when the name
 * exists, unlike `rename`). Two processes racing to create an identity therefore agree on one key.
 *
 * This is an OS edge (it touches the file system and draws OS randomness); protocol code
 * receives the resulting `KeyPair`.
 */
import { type KeyPair, keyPairFrom, X25519_KEY_BYTES } from "../crypto/x25519.ts";
import { decodeKey, encodeKey } from "./key_text.ts";

/** Name of the private key file in the state directory. */
export const PRIVATE_KEY_FILE = "private.key";
/** Name of the public key file in the state directory. */
export const PUBLIC_KEY_FILE = "public.key";

/** Largest key file read, in bytes: the key is 45 bytes of text; more is not a key file. */
export const MAX_KEY_FILE_BYTES = 1024;

const STATE_DIR_MODE = 0o700;
const PRIVATE_KEY_MODE = 0o600;
const PUBLIC_KEY_MODE = 0o644;
const GROUP_OR_OTHER_BITS = 0o077;

/** Thrown when the identity cannot be loaded or created; the message is one line for the user. */
export class IdentityError extends Error {
  override name = "IdentityError";
}

/** Options for `loadOrCreateIdentity`. */
export interface IdentityOptions {
  /** Source of the 32 private-key bytes for a new identity (default: OS randomness). */
  randomBytes?: (n: number) => Uint8Array;
}

/**
 * Loads the node key pair from `stateDir`, creating the directory (mode 0700) and a fresh key on
 * first use. Throws `IdentityError` (one line) for a key file that is group- or world-accessible,
 * not a regular file, larger than `MAX_KEY_FILE_BYTES` or not a base64 32-byte key, and for
 * file-system failures (unreadable: "Cannot read key file PATH: permission denied").
 */
export async function loadOrCreateIdentity(
  stateDir: string,
  options: IdentityOptions = {},
): Promise<KeyPair> {
  const path = `${stateDir}/${PRIVATE_KEY_FILE}`;
  await ensureStateDir(stateDir);
  let identity = await readIdentity(path);
  if (identity === null) {
    const random = options.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
    identity = await createIdentity(stateDir, path, random(X25519_KEY_BYTES));
  }
  await writePublicKey(stateDir, identity.publicKey);
  return identity;
}

async function ensureStateDir(stateDir: string): Promise<void> {
  try {
    const info = await Deno.stat(stateDir);
    if (!info.isDirectory) throw new IdentityError(`State dir ${stateDir} is not a directory`);
    return;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw fsError(`Cannot use state dir ${stateDir}`, err);
    }
  }
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: STATE_DIR_MODE });
  } catch (err) {
    throw fsError(`Cannot create state dir ${stateDir}`, err);
  }
}

/** The key pair stored at `path`, or null when there is no file. */
async function readIdentity(path: string): Promise<KeyPair | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw fsError(`Cannot read key file ${path}`, err);
  }
  if (!info.isFile) throw new IdentityError(`Key file ${path} is not a regular file`);
  if (info.size > MAX_KEY_FILE_BYTES) {
    throw new IdentityError(`Key file ${path} does not hold a base64 32-byte key (too large)`);
  }
  const mode = info.mode ?? 0;
  if ((mode & GROUP_OR_OTHER_BITS) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    throw new IdentityError(
      `Key file ${path} is accessible by group or others (mode ${octal}); run: chmod 600 ${path}`,
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw fsError(`Cannot read key file ${path}`, err);
  }
  try {
    return keyPairFrom(decodeKey(text));
  } catch (err) {
    throw new IdentityError(`Key file ${path} does not hold a base64 32-byte key`, { cause: err });
  }
}

async function createIdentity(
  stateDir: string,
  path: string,
  privateKey: Uint8Array,
): Promise<KeyPair> {
  const identity = keyPairFrom(privateKey);
  const tmp = `${stateDir}/.${PRIVATE_KEY_FILE}.${Deno.pid}.${randomSuffix()}.tmp`;
  try {
    await writeSynced(tmp, `${encodeKey(identity.privateKey)}\n`, PRIVATE_KEY_MODE);
    try {
      await Deno.link(tmp, path);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      // Another process created the key first: use theirs.
      const theirs = await readIdentity(path);
      if (theirs === null) throw err;
      return theirs;
    }
  } catch (err) {
    if (err instanceof IdentityError) throw err;
    throw fsError(`Cannot create key file ${path}`, err);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return identity;
}

async function writePublicKey(stateDir: string, publicKey: Uint8Array): Promise<void> {
  const path = `${stateDir}/${PUBLIC_KEY_FILE}`;
  const text = `${encodeKey(publicKey)}\n`;
  try {
    if ((await Deno.readTextFile(path).catch(() => null)) === text) return;
    const tmp = `${stateDir}/.${PUBLIC_KEY_FILE}.${Deno.pid}.${randomSuffix()}.tmp`;
    try {
      await writeSynced(tmp, text, PUBLIC_KEY_MODE);
      await Deno.rename(tmp, path);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  } catch (err) {
    throw fsError(`Cannot write ${path}`, err);
  }
}

async function writeSynced(path: string, text: string, mode: number): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
}

function randomSuffix(): string {
  return crypto.getRandomValues(new Uint8Array(6)).toHex();
}

function fsError(what: string, err: unknown): IdentityError {
  if (err instanceof IdentityError) return err;
  const why = err instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : err instanceof Error
    ? err.message
    : String(err);
  return new IdentityError(`${what}: ${why}`, { cause: err });
}
