// Field errors and the one error admit() throws: every problem in an object at once, each with
// the field path the gRPC edge returns as INVALID_ARGUMENT detail.

/** One problem in one field; path like "spec.ports[1].containerPort" or "metadata.labels[app]". */
export interface FieldError {
  path: string;
  message: string;
}

const describe = (e: FieldError): string => (e.path ? `${e.path}: ${e.message}` : e.message);

/** Thrown by admit(): `Container "web" is invalid: spec.image: required; …`. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';

  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly errors: FieldError[],
  ) {
    super(`${kind} ${JSON.stringify(objectName)} is invalid: ${errors.map(describe).join('; ')}`);
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
