/** Errors a person can act on are one line; exit 2 for bad input, 1 for everything else. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
