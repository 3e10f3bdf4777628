// Public API of validation: admit() turns untrusted input into a defaulted, valid Resource or
// throws one ValidationError listing every field problem. Quantity parsers are shared with the scheduler.
export { admit, MAX_OBJECT_BYTES, type AdmitOptions } from './admit.js';
export { ValidationError, type FieldError } from './errors.js';
export { InvalidQuantityError, parseCpuMillis, parseMemoryBytes } from '../../lib/api/quantity.js';
export { scheduleError, SCHEDULE_MACROS } from './schedule.js';
export { unknownWireFields } from './wire-fields.js';
