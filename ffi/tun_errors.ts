import { Errno, LibcError } from "./libc.ts";

/** Longest interface name Linux accepts, in bytes (IFNAMSIZ 16 minus the NUL). */
export const IFNAME_MAX_BYTES = 15;

/**
 * A TUN device could not be created or configured. The message is one sentence a user can act
 * on; `cause` holds the underlying `LibcError` (with its errno) when there is one.
 */
export class TunError extends Error {
  override name = "TunError";
  /** The errno behind the failure, or 0 when it was caught before any syscall. */
  readonly code: number;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = options?.cause instanceof LibcError ? options.cause.code : 0;
  }
}

/**
 * Checks an interface name the way the kernel's `dev_valid_name` does, before any syscall:
 * 1..15 bytes, not "." or "..", no '/', ':' or whitespace. A name may hold one `%d`, which the
 * kernel replaces with the first free number. Throws `TunError` for a bad name.
 */
export function validateIfName(name: string): void {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0) throw new TunError("Interface name is empty");
  if (bytes > IFNAME_MAX_BYTES) {
    throw new TunError(
      `Interface name "${name}" is too long: ${bytes} bytes, at most ${IFNAME_MAX_BYTES}`,
    );
  }
  if (name === "." || name === "..") throw new TunError(`Interface name "${name}" is reserved`);
  if (/[/:\s]/.test(name)) {
    throw new TunError(`Interface name "${name}" must not contain '/', ':' or whitespace`);
  }
  const percents = name.split("%").length - 1;
  if (percents > 1 || (percents === 1 && !name.includes("%d"))) {
    throw new TunError(`Interface name "${name}" may hold '%' only as a single "%d"`);
  }
}

/** Turns a failed `open("/dev/net/tun")` into a `TunError`. */
export function openError(err: LibcError): TunError {
  switch (err.code) {
    case Errno.ENOENT:
    case Errno.ENODEV:
    case ENXIO:
      return new TunError(
        "/dev/net/tun is missing: load the tun module or run with --device /dev/net/tun",
        { cause: err },
      );
    case Errno.EPERM:
    case Errno.EACCES:
      return needsAdmin(err);
    default:
      return new TunError(`Cannot open /dev/net/tun: ${err.message}`, { cause: err });
  }
}

/**
 * Turns a failed TUNSETIFF into a `TunError`. The kernel answers EBUSY when a TUN of that name is
 * already attached, and EINVAL (or EEXIST, in a creation race) when a non-TUN interface such as
 * `lo` or a veth holds the name; all three mean the name is taken.
 */
export function setIffError(err: LibcError, name: string): TunError {
  switch (err.code) {
    case Errno.EBUSY:
    case Errno.EEXIST:
    case Errno.EINVAL:
      return new TunError(`Interface name "${name}" is taken`, { cause: err });
    case Errno.EPERM:
    case Errno.EACCES:
      return needsAdmin(err);
    default:
      return new TunError(`Cannot create TUN device "${name}": ${err.message}`, { cause: err });
  }
}

/**
 * Turns a failed interface-configuration call into a `TunError`; `action` completes "Cannot …"
 * (e.g. `set the MTU of "ipop0"`).
 */
export function configError(err: LibcError, action: string): TunError {
  if (err.code === Errno.EPERM || err.code === Errno.EACCES) return needsAdmin(err);
  return new TunError(`Cannot ${action}: ${err.message}`, { cause: err });
}

/** ENXIO: the device node exists but no driver backs it. */
const ENXIO = 6;

function needsAdmin(err: LibcError): TunError {
  return new TunError("Creating a TUN device needs root or CAP_NET_ADMIN", { cause: err });
}
