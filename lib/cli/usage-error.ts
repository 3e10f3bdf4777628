// A mistake on the command line. Kept apart from errors.ts (which loads gRPC) so that parsing flags
// and printing --help load nothing heavy.
/** A mistake on the command line; printed with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The command whose --help to point at; '' for the top level. */
    readonly command = '',
  ) {
    super(message);
  }
}
