// Errors a reconcile can throw to steer the runtime.

/** A failure retrying cannot fix (bad input the user must change): logged and counted, not requeued. */
export class TerminalError extends Error {
  override name = 'TerminalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
