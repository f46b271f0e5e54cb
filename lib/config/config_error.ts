/**
 * A mistake in the command line or configuration. The message is one sentence-case line meant
 * for the user as-is (`ipop: <message>`); the CLI exits with status 2 and never shows a stack.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** True when the mistake is in the command's shape (unknown flag, command), so "see ipop help" helps. */
  readonly seeHelp: boolean;

  /** `seeHelp` marks usage mistakes; `cause` keeps the underlying error for debugging. */
  constructor(message: string, options: { seeHelp?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.seeHelp = options.seeHelp ?? false;
  }
}
