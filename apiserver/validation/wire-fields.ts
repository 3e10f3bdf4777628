// Unknown fields in an object's protobuf bytes. The generated decoder skips field numbers it does not
// know, so without this a client built from another proto would have fields dropped without a word.
import protobuf from 'protobufjs';
import type { FieldError } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { messageTypeOf } from './schema.js';

const LENGTH_DELIMITED = 2;
/** Deeper than any persys object nests; a hostile message cannot make the walk recurse without end. */
const MAX_DEPTH = 32;

/**
 * Field errors for every field number the persys.v1.Object encoded in `bytes` does not have, at the
 * JSON path of the message holding it ("spec.ports[0]"). The wire carries numbers, not names.
 */
export function unknownWireFields(bytes: Uint8Array): FieldError[] {
  const object = messageTypeOf('Object');
  // Nearly every object has none: look for one before spending anything on paths.
  if (!hasUnknownField(object, protobuf.Reader.create(bytes), bytes.length, 0)) return [];
  const errors: FieldError[] = [];
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const kindField = object.fieldsById[tag >>> 3];
    // The kind's field adds no segment: paths are the object's own, as admit() reports them.
    if (kindField && (tag & 7) === LENGTH_DELIMITED) walk(kindField.resolvedType as protobuf.Type, reader, reader.uint32(), '', 0, errors);
    else {
      if (!kindField) errors.push(unknown(object, '', tag >>> 3));
      reader.skipType(tag & 7);
    }
  }
  return errors;
}

/** Whether the `length` bytes at the reader hold a field number `type` (or a message in it) lacks. */
function hasUnknownField(type: protobuf.Type, reader: protobuf.Reader, length: number, depth: number): boolean {
  const end = reader.pos + length;
  if (depth > MAX_DEPTH) {
    reader.skip(length);
    return false;
  }
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = type.fieldsById[tag >>> 3];
    if (!field) return true;
    const sub = field.resolvedType;
    if ((tag & 7) !== LENGTH_DELIMITED || !(sub instanceof protobuf.Type) || field.map) reader.skipType(tag & 7);
    else if (hasUnknownField(sub, reader, reader.uint32(), depth + 1)) return true;
  }
  return false;
}

function walk(type: protobuf.Type, reader: protobuf.Reader, length: number, at: string, depth: number, errors: FieldError[]): void {
  const end = reader.pos + length;
  if (depth > MAX_DEPTH) {
    reader.skip(length);
    return;
  }
  const seen = new Map<number, number>();
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const field = type.fieldsById[id];
    if (!field) {
      errors.push(unknown(type, at, id));
      reader.skipType(tag & 7);
      continue;
    }
    const sub = field.resolvedType;
    if ((tag & 7) !== LENGTH_DELIMITED || !(sub instanceof protobuf.Type) || field.map) {
      // Scalars, enums and the string-keyed maps of scalars every persys kind uses: nothing inside to check.
      reader.skipType(tag & 7);
      continue;
    }
    const index = seen.get(id) ?? 0;
    seen.set(id, index + 1);
    const p = field.repeated ? itemPath(fieldPath(at, field.name), index) : fieldPath(at, field.name);
    walk(sub, reader, reader.uint32(), p, depth + 1, errors);
  }
}

const unknown = (type: protobuf.Type, at: string, id: number): FieldError => ({
  path: at,
  message: `unknown field number ${id} (${type.fullName.slice(1)} has no such field; the wire carries no field names)`,
});
