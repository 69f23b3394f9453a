/**
 * Lethe's error hierarchy. Every error carries a stable `code` so that callers (and the CLI)
 * can tell a user's mistake from a bug: `LetheError`s are printed as one line; anything else
 * is printed with its stack.
 */
export class LetheError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad option, argument or config value supplied by the user. */
export class OptionError extends LetheError {
  constructor(message: string) {
    super('E_OPTION', message);
  }
}

/** A file that is missing, malformed or of the wrong kind. */
export class FileFormatError extends LetheError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('E_FILE', `${file}: ${message}`);
    this.file = file;
  }
}

/** Data that is inconsistent (labels out of range, empty forget set, ...). */
export class DataError extends LetheError {
  constructor(message: string) {
    super('E_DATA', message);
  }
}
