/**
 * The network secret: an optional shared file whose contents every member of one ipop network
 * holds. It is turned into the 32-byte pre-shared key mixed into every handshake, so nodes without
 * the secret cannot join, even knowing a member's public key.
 *
 *   psk = BLAKE2s-256( utf8("ipop network secret v1") || 0x00 || contents )
 *
 * where `contents` is the file's bytes with trailing whitespace removed (so an editor's final
 * newline does not change the network). Without a secret file the psk is 32 zero bytes.
 */
import { blake2sHash } from "../crypto/blake2s.ts";
import { ConfigError } from "./config_error.ts";

/** Length in bytes of the network pre-shared key. */
export const PSK_BYTES = 32;

/** The largest secret file accepted, in bytes. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

const PSK_LABEL = new TextEncoder().encode("ipop network secret v1");

/** The psk used when no secret file is given: 32 zero bytes (a fresh array each call). */
export function noSecretPsk(): Uint8Array {
  return new Uint8Array(PSK_BYTES);
}

/** `bytes` without trailing ASCII whitespace (space, tab, CR, LF, VT, FF). Returns a view. */
export function trimTrailingWhitespace(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0) {
    const b = bytes[end - 1]!;
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) break;
    end--;
  }
  return bytes.subarray(0, end);
}

/**
 * Derives the network psk from a secret file's raw contents. Throws `ConfigError` when the
 * contents are empty after trimming or larger than `MAX_SECRET_FILE_BYTES`; `path` only names the
 * file in messages.
 */
export function pskFromSecret(contents: Uint8Array, path: string): Uint8Array {
  if (contents.length > MAX_SECRET_FILE_BYTES) {
    throw new ConfigError(`Secret file ${path} is larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB`);
  }
  const secret = trimTrailingWhitespace(contents);
  if (secret.length === 0) throw new ConfigError(`Secret file ${path} is empty`);
  const input = new Uint8Array(PSK_LABEL.length + 1 + secret.length);
  input.set(PSK_LABEL);
  input[PSK_LABEL.length] = 0x00;
  input.set(secret, PSK_LABEL.length + 1);
  return blake2sHash(input);
}

/**
 * Reads a secret file with `readFile` and derives the psk. Read failures become a one-line
 * `ConfigError` ("Secret file F does not exist", "Cannot read secret file F: permission denied").
 */
export function loadSecretPsk(
  path: string,
  readFile: (path: string) => Uint8Array,
): Uint8Array {
  let contents: Uint8Array;
  try {
    contents = readFile(path);
  } catch (err) {
    throw new ConfigError(describeReadFailure(path, err), { cause: err });
  }
  return pskFromSecret(contents, path);
}

function describeReadFailure(path: string, err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return `Secret file ${path} does not exist`;
  if (err instanceof Deno.errors.PermissionDenied) {
    return `Cannot read secret file ${path}: permission denied`;
  }
  if (err instanceof Deno.errors.IsADirectory) return `Secret file ${path} is a directory`;
  if (err instanceof Deno.errors.NotCapable) {
    return `Cannot read secret file ${path}: run with --allow-read`;
  }
  const why = err instanceof Error ? err.message : String(err);
  return `Cannot read secret file ${path}: ${why}`;
}
