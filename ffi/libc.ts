/**
 * libc through `Deno.dlopen`: the only native code ipop calls for its OS edges (TUN device,
 * interface configuration, UDP sockets, polling). Symbols are bound once per process.
 *
 * `errno` is thread-local: read it with `errno()` right after a synchronous call that failed.
 * Calls marked `nonblocking` run on a worker thread and must not be followed by `errno()`.
 */

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  poll_wait: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let bound: Libc | undefined;

/** Binds libc on first use (throws a one-line Error when it cannot be loaded). */
export function libc(): Libc {
  if (bound) return bound;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      lib = Deno.dlopen(name, SYMBOLS);
      break;
    } catch {
      // try the next name
    }
  }
  if (!lib) throw new Error("Cannot load libc (ipop runs on Linux with glibc)");
  bound = lib.symbols;
  return bound;
}

/** The calling thread's errno (valid right after a failed synchronous call). */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** The C library's text for an errno value. */
export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}

/** A failed libc call, with its errno. */
export class LibcError extends Error {
  override name = "LibcError";
  constructor(readonly call: string, readonly code: number) {
    super(`${call}: ${strerror(code)} (errno ${code})`);
  }
}

/** Throws a `LibcError` for `call` when `result` is negative. */
export function check(call: string, result: number | bigint): number {
  const n = Number(result);
  if (n < 0) throw new LibcError(call, errno());
  return n;
}

/** errno values ipop reacts to. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOBUFS: 105,
  EMSGSIZE: 90,
  ENETUNREACH: 101,
  EHOSTUNREACH: 113,
  ECONNREFUSED: 111,
} as const;

/** Flags and constants shared by the FFI modules (Linux x86_64/aarch64 values). */
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
export const POLLIN = 0x1;

/** A NUL-terminated copy of `text` for passing to C. */
export function cString(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
