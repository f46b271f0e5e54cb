/**
 * Key text: 32-byte keys as standard padded base64 (44 characters), the form WireGuard uses in
 * its key files and on its command line.
 */

/** Length in bytes of the keys this module encodes. */
export const KEY_BYTES = 32;

/** Length in characters of an encoded key. */
export const KEY_TEXT_CHARS = 44;

const KEY_TEXT_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Thrown by `decodeKey` for text that is not a base64 32-byte key. */
export class KeyTextError extends Error {
  override name = "KeyTextError";
}

/** Encodes a 32-byte key as 44 characters of standard base64. Throws `RangeError` on other lengths. */
export function encodeKey(bytes: Uint8Array): string {
  if (bytes.length !== KEY_BYTES) {
    throw new RangeError(`Keys are ${KEY_BYTES} bytes, got ${bytes.length}`);
  }
  return bytes.toBase64();
}

/**
 * Decodes a key from standard padded base64; surrounding whitespace is ignored. Total: any text
 * that is not exactly one canonical encoding of 32 bytes gives `KeyTextError`.
 */
export function decodeKey(text: string): Uint8Array {
  const t = text.trim();
  if (!KEY_TEXT_RE.test(t)) {
    throw new KeyTextError(
      t.length === KEY_TEXT_CHARS
        ? "Not a valid base64 key"
        : `A key is ${KEY_TEXT_CHARS} base64 characters, got ${t.length}`,
    );
  }
  return Uint8Array.fromBase64(t);
}
