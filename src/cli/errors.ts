/** Exit codes shared by every command (DESIGN.md §5). */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** An error whose message is fit for the user and that ends the process with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
    /** Already written to the log: main prints nothing more. */
    readonly reported = false,
  ) {
    super(message);
  }
}
