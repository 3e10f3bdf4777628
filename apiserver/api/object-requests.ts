// The Resources service definition, with the requests that carry an object (Create, Update,
// UpdateStatus, Apply) checked for field numbers this server's proto lacks while they are decoded.
import protobuf from 'protobufjs';
import type { Object as WireObject, ResourcesService } from '../../lib/gen/persys/v1/api.js';
import { unknownWireFields, type FieldError } from '../validation/index.js';

/** Unknown fields found in a decoded request's object, keyed by that object; handlers refuse it. */
const found = new WeakMap<WireObject, FieldError[]>();

/** The encoded size of each decoded request's object, keyed by that object. */
const sizes = new WeakMap<WireObject, number>();

/** The unknown fields the wire bytes of `wire` held, or none. */
export function unknownFieldsOf(wire: WireObject | undefined): FieldError[] {
  return (wire && found.get(wire)) ?? [];
}

/** How many bytes `wire` took in its request, when it came from one. */
export function wireBytesOf(wire: WireObject | undefined): number | undefined {
  return wire && sizes.get(wire);
}

/** The number of the Object field in each request that carries one (api.proto). */
const OBJECT_FIELD = { create: 1, update: 1, updateStatus: 1, apply: 2 } as const;

/**
 * `definition` with the object-carrying methods' deserializers also walking the object's bytes:
 * the generated decoder drops unknown fields, so only the bytes still show them.
 */
export function withUnknownFieldChecks<D extends typeof ResourcesService>(definition: D): D {
  const out = { ...definition };
  for (const [method, fieldNumber] of Object.entries(OBJECT_FIELD) as [keyof typeof OBJECT_FIELD, number][]) {
    const original = definition[method];
    const decode = original.requestDeserialize as (value: Buffer) => { object?: WireObject; source?: { $case: string; value: unknown } };
    (out as Record<string, unknown>)[method] = {
      ...original,
      requestDeserialize: (value: Buffer) => {
        const req = decode(value);
        const object = req.object ?? (req.source?.$case === 'object' ? (req.source.value as WireObject) : undefined);
        if (object) {
          const parts = objectFieldBytes(value, fieldNumber);
          sizes.set(object, parts.reduce((n, part) => n + part.length, 0));
          const errors = parts.flatMap(unknownWireFields);
          if (errors.length) found.set(object, errors);
        }
        return req;
      },
    };
  }
  return out;
}

/** Every occurrence of length-delimited field `fieldNumber` in a message (repeats of a message merge). */
function objectFieldBytes(bytes: Uint8Array, fieldNumber: number): Uint8Array[] {
  const reader = protobuf.Reader.create(bytes);
  const parts: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === ((fieldNumber << 3) | 2)) parts.push(reader.bytes());
    else reader.skipType(tag & 7);
  }
  return parts;
}
