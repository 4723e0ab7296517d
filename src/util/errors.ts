/**
 * Errors a user can act on. The CLI prints `message` in one line (no stack
 * trace unless --verbose) and exits with `exitCode`.
 */
export class CellganError extends Error {
  readonly exitCode: number;
  /** The file or folder the error is about, when there is one. */
  readonly file?: string;

  constructor(message: string, opts: { file?: string; exitCode?: number; cause?: unknown } = {}) {
    super(opts.file ? `${opts.file}: ${message}` : message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'CellganError';
    this.exitCode = opts.exitCode ?? 1;
    this.file = opts.file;
  }
}

/** A public option had a value of the wrong type or range. */
export class OptionError extends CellganError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = 'OptionError';
  }
}

/** The process was asked to stop (SIGINT/SIGTERM) and stopped cleanly. */
export class InterruptedError extends CellganError {
  constructor(message = 'interrupted') {
    super(message, { exitCode: 130 });
    this.name = 'InterruptedError';
  }
}

/** One readable line for an error coming from the filesystem. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT': return 'no such file or folder';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENOSPC': return 'no space left on device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EISDIR': return 'is a folder, expected a file';
    case 'ENOTDIR': return 'is not a folder';
    case 'EROFS': return 'read-only file system';
    default: return e?.message ?? String(err);
  }
}
