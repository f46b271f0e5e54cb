/**
 * A UDP endpoint: an IP address (v4 dotted quad or v6 text, no brackets) and a port.
 *
 * Endpoints are plain immutable values. Transports may intern them (return the same object for
 * the same address), so `a === b` is a fast path, but `sameEndpoint` is the correct comparison.
 */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** 4 or 6. */
  readonly family: 4 | 6;
}

/** Thrown by `parseEndpoint` and `parseHostPort` for text that is not an endpoint. */
export class EndpointSyntaxError extends Error {
  override name = "EndpointSyntaxError";
}

const IPV4_SCRATCH = new Uint8Array(4);

/** True when `text` is a dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return writeIpv4(IPV4_SCRATCH, 0, text);
}

/** True when `text` looks like an IPv6 address (full validation happens when it is encoded). */
export function isIpv6(text: string): boolean {
  return text.includes(":") && /^[0-9a-fA-F:.]+$/.test(text) && parseIpv6(text) !== null;
}

/** Makes an endpoint, validating the host and port. */
export function endpoint(host: string, port: number): Endpoint {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new EndpointSyntaxError(`Port out of range: ${port}`);
  }
  if (isIpv4(host)) return { host, port, family: 4 };
  if (isIpv6(host)) return { host: host.toLowerCase(), port, family: 6 };
  throw new EndpointSyntaxError(`Not an IP address: "${host}"`);
}

/**
 * Parses `HOST:PORT`, `[V6]:PORT`, or (with `defaultHost`) a bare `PORT`.
 * Host names are not resolved: ipop takes addresses.
 */
export function parseEndpoint(text: string, defaultHost?: string): Endpoint {
  const t = text.trim();
  if (/^\d+$/.test(t) && defaultHost !== undefined) return endpoint(defaultHost, Number(t));
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6) return endpoint(v6[1]!, Number(v6[2]));
  const v4 = /^([^:]+):(\d+)$/.exec(t);
  if (v4) return endpoint(v4[1]!, Number(v4[2]));
  throw new EndpointSyntaxError(`Expected HOST:PORT, got "${text}"`);
}

/** Formats an endpoint as `HOST:PORT` or `[V6]:PORT`. */
export function formatEndpoint(ep: Endpoint): string {
  return ep.family === 6 ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

/** True when both endpoints name the same address and port. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a === b || (a.port === b.port && a.host === b.host);
}

/** Parses IPv4 text into 4 bytes, or null. */
export function parseIpv4(text: string): Uint8Array | null {
  const out = new Uint8Array(4);
  return writeIpv4(out, 0, text) ? out : null;
}

/**
 * Writes the 4 bytes of IPv4 text into `out` at `offset`; false (nothing written) when `text` is
 * not a dotted quad. Without a regular expression or an array per call: it runs per datagram.
 */
export function writeIpv4(out: Uint8Array, offset: number, text: string): boolean {
  let part = 0;
  let digits = 0;
  let value = 0;
  const bytes = [0, 0, 0, 0];
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a final "."
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else if (c === 46 && digits > 0 && part < 4) {
      bytes[part++] = value;
      digits = 0;
      value = 0;
    } else return false;
  }
  if (part !== 4) return false;
  for (let i = 0; i < 4; i++) out[offset + i] = bytes[i]!;
  return true;
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad) into 16 bytes, or null. */
export function parseIpv6(text: string): Uint8Array | null {
  let hex = text;
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return null;
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIpv4(tail);
    if (!v4) return null;
    const word = (a: number, b: number) => ((a << 8) | b).toString(16);
    hex = `${text.slice(0, lastColon + 1)}${word(v4[0]!, v4[1]!)}:${word(v4[2]!, v4[3]!)}`;
  }
  const halves = hex.split("::");
  if (halves.length > 2) return null;
  const words = (part: string) => part === "" ? [] : part.split(":");
  const left = words(halves[0]!);
  const right = halves.length === 2 ? words(halves[1]!) : [];
  if (![...left, ...right].every((w) => /^[0-9a-fA-F]{1,4}$/.test(w))) return null;
  const given = left.length + right.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const list = [
    ...left,
    ...new Array<string>(8 - given).fill("0"),
    ...right,
  ].map((w) => parseInt(w, 16));
  const out = new Uint8Array(16);
  list.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}
