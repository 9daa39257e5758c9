/**
 * Exit codes (SPEC §3.5). Every expected failure is one of the error classes
 * below; the CLI prints their message (never a stack trace) and exits with
 * their code. Anything else is a bug and is reported as such.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  conflicts: 3,
  cancelled: 130,
} as const;

/** Bad input: a flag, a config file value or a prompt answer. Nothing has been written yet. */
export class UsageError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(
    message: string,
    /** Extra lines shown under the message: one per problem when several were found. */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** Something failed at run time (install, git, API, deploy). */
export class RuntimeFailure extends Error {
  readonly exitCode = ExitCode.failure;
  constructor(message: string) {
    super(message);
    this.name = "RuntimeFailure";
  }
}

/**
 * Regeneration cannot finish cleanly: conflict markers remain from an earlier
 * run. (A run that writes new conflicts reports them and returns exit 3.)
 */
export class ConflictError extends Error {
  readonly exitCode = ExitCode.conflicts;
  constructor(
    message: string,
    /** The files, one per line. */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = "ConflictError";
  }
}

/** The user pressed Ctrl-C or Escape at a prompt. */
export class Cancelled extends Error {
  readonly exitCode = ExitCode.cancelled;
  constructor(
    /** What the cancel left behind, when it is not "nothing": shown after "Cancelled: ". */
    readonly outcome?: string,
  ) {
    super("Cancelled.");
    this.name = "Cancelled";
  }
}

export type ExpectedError = UsageError | RuntimeFailure | ConflictError | Cancelled;

export function isExpected(error: unknown): error is ExpectedError {
  return error instanceof UsageError || error instanceof RuntimeFailure || error instanceof ConflictError || error instanceof Cancelled;
}
