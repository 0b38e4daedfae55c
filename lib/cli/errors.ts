/** The CLI's exit codes and the errors that map to them. */
export const ExitCode = {
  Ok: 0,
  Unexpected: 1,
  Usage: 2,
  Config: 3,
  Forbidden: 4,
  Rejected: 5,
  DeliveryFailed: 6,
  Unavailable: 7,
} as const;

/** Bad arguments (exit 2). `command` picks the help the message points to. */
export class UsageError extends Error {
  constructor(message: string, public readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A setting, file or the environment is missing or unusable (exit 3). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The relay or Discord cannot be reached (exit 7). */
export class UnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** The relay or Discord answered, and refused (exit 5). */
export class RejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RejectedError';
  }
}
