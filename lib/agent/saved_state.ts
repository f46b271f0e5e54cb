/**
 * What an agent remembers across restarts, in `STATE_DIR/state.json` (written at a clean stop,
 * read at start): the last leased address, asked for first again, and the endpoints of the
 * overlay nodes it was linked to, tried after the configured bootstrap nodes — a restarted node
 * rejoins even when its bootstrap node is gone. Everything in the file is checked; a missing,
 * unreadable or malformed file is ignored (the agent starts as if for the first time).
 *
 * ```json
 * { "version": 1, "lease": "100.64.3.7", "peers": ["198.18.0.2:5800", "[2001:db8::1]:5800"] }
 * ```
 */
import { type Endpoint, formatEndpoint, parseEndpoint } from "../transport/endpoint.ts";
import { parseCanonicalIpv4 } from "../dhcp/subnet.ts";
import { numberToIpv4 } from "../vnet/ipv4.ts";

/** The file name in the state directory. */
export const SAVED_STATE_FILE = "state.json";
/** Most peer endpoints remembered. */
export const MAX_SAVED_PEERS = 16;
/** Largest state file read, in bytes. */
export const MAX_SAVED_STATE_BYTES = 16 * 1024;

/** What was remembered. */
export interface SavedState {
  /** The last leased address (a 32-bit number), or null. */
  lease: number | null;
  /** Overlay nodes to try joining through. */
  peers: Endpoint[];
}

/** Reads `DIR/state.json`; anything wrong gives an empty state. */
export function readSavedState(stateDir: string): SavedState {
  const empty: SavedState = { lease: null, peers: [] };
  let text: string;
  try {
    const bytes = Deno.readFileSync(`${stateDir}/${SAVED_STATE_FILE}`);
    if (bytes.length > MAX_SAVED_STATE_BYTES) return empty;
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return empty;
  }
  return parseSavedState(text) ?? empty;
}

/** Parses the file's text; null when it is not a version-1 state. */
export function parseSavedState(text: string): SavedState | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof json !== "object" || json === null) return null;
  const o = json as Record<string, unknown>;
  if (o.version !== 1) return null;
  const lease = typeof o.lease === "string" ? parseCanonicalIpv4(o.lease) : null;
  const peers: Endpoint[] = [];
  for (const p of Array.isArray(o.peers) ? o.peers.slice(0, MAX_SAVED_PEERS) : []) {
    if (typeof p !== "string") continue;
    try {
      peers.push(parseEndpoint(p));
    } catch {
      // a bad entry is skipped
    }
  }
  return { lease, peers };
}

/** Writes `DIR/state.json` atomically (mode 0600); errors are returned, not thrown. */
export function writeSavedState(stateDir: string, state: SavedState): Error | null {
  const text = JSON.stringify({
    version: 1,
    lease: state.lease === null ? null : numberToIpv4(state.lease),
    peers: state.peers.slice(0, MAX_SAVED_PEERS).map(formatEndpoint),
  });
  const path = `${stateDir}/${SAVED_STATE_FILE}`;
  const tmp = `${path}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, `${text}\n`, { mode: 0o600 });
    Deno.renameSync(tmp, path);
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
