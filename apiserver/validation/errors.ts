// Field errors and the one error admit() throws: every problem in an object at once, each with
// the field path the gRPC edge returns as INVALID_ARGUMENT detail.

/** One problem in one field; path like "spec.ports[1].containerPort" or "metadata.labels[app]". */
export interface FieldError {
  path: string;
  message: string;
}

/** The most of one path or message an error repeats: bad input can be megabytes long. */
const MAX_PART = 200;
const MAX_ERRORS = 20;

// Cut from the middle: a message quotes the bad value first and says what is wrong at the end.
const shorten = (s: string): string =>
  s.length > MAX_PART ? `${s.slice(0, MAX_PART / 2)}…(${s.length - MAX_PART} characters)…${s.slice(-MAX_PART / 2)}` : s;

const describe = (e: FieldError): string => (e.path ? `${shorten(e.path)}: ${shorten(e.message)}` : shorten(e.message));

function summarize(errors: FieldError[]): string {
  const shown = errors.slice(0, MAX_ERRORS).map(describe).join('; ');
  return errors.length > MAX_ERRORS ? `${shown}; and ${errors.length - MAX_ERRORS} more errors` : shown;
}

/** Thrown by admit(): `Container "web" is invalid: spec.image: required; …`. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';

  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly errors: FieldError[],
  ) {
    super(`${shorten(kind)} ${JSON.stringify(shorten(objectName))} is invalid: ${summarize(errors)}`);
  }
}

/** Collects errors while a whole object is checked, so the caller hears about all of them. */
export class FieldErrors {
  readonly list: FieldError[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get size(): number {
    return this.list.length;
  }
}
