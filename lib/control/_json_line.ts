/**
 * Folder-private helpers for the control protocol: one JSON text line each way over a stream
 * connection, with a size bound on reads and a deadline on the whole exchange.
 */

/** Thrown for a protocol-level failure of one exchange; the message is one line. */
export class LineError extends Error {
  override name = "LineError";
}

const READ_CHUNK_BYTES = 16 * 1024;

/** A connection that is closed at most once, and closed when the deadline passes. */
export class GuardedConn {
  #conn: Deno.Conn;
  #closed = false;
  #timedOut = false;
  #timer: ReturnType<typeof setTimeout>;

  /** Starts the deadline: after `timeoutMs` the connection is closed and reads/writes fail. */
  constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.close();
    }, timeoutMs);
  }

  /** Reads up to the first newline (or EOF); throws `LineError` past `maxBytes` or on timeout. */
  async readLine(maxBytes: number): Promise<string> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(Math.min(READ_CHUNK_BYTES, maxBytes + 1 - total));
      const n = await this.#guard(() => this.#conn.read(buf));
      if (n === null) {
        if (total === 0) throw new LineError("Connection closed before a line was sent");
        break;
      }
      const got = buf.subarray(0, n);
      const nl = got.indexOf(0x0a);
      chunks.push(nl >= 0 ? got.subarray(0, nl) : got);
      total += nl >= 0 ? nl : n;
      if (nl >= 0) break;
      if (total > maxBytes) throw new LineError(`Line longer than ${maxBytes} bytes`);
    }
    if (total > maxBytes) throw new LineError(`Line longer than ${maxBytes} bytes`);
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    return new TextDecoder("utf-8", { fatal: false }).decode(all);
  }

  /** Writes `value` as one JSON line. */
  async writeJsonLine(value: unknown): Promise<void> {
    const bytes = new TextEncoder().encode(`${JSON.stringify(value)}\n`);
    for (let off = 0; off < bytes.length;) {
      off += await this.#guard(() => this.#conn.write(bytes.subarray(off)));
    }
  }

  /** Stops the deadline and closes the connection (idempotent). */
  close(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer side of the runtime: nothing to release.
    }
  }

  async #guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) throw this.#timedOut ? timeoutError() : new LineError("Connection closed");
    try {
      return await op();
    } catch (err) {
      if (this.#timedOut) throw timeoutError();
      throw err;
    }
  }
}

function timeoutError(): LineError {
  return new LineError("Timed out");
}
