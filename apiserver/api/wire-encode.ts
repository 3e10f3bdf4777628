// Responses that carry objects, encoded straight from the objects' JSON form. The generated encoder
// wants the typed message first (toWire: a deep copy with every absent field filled with its default)
// and its writer allocates per string: 7 µs for a Container, against 2 µs here. protobufjs's
// reflection encoder reads the JSON form as it is: the proto JSON mapping and protobufjs share the
// lowerCamelCase field names, and int64 values, decimal strings in JSON, are written as int64.
// Objects reach here from storage, so they passed admission and conform to their message.
import protobuf from 'protobufjs';
import { findKind, type KindInfo } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { ResourcesService } from '../../lib/gen/persys/v1/api.js';
import { messageTypeOf } from '../validation/schema.js';

let types: Record<'object' | 'list' | 'apply' | 'watchEvent', protobuf.Type> | undefined;
const messageTypes = () =>
  (types ??= { object: messageTypeOf('Object'), list: messageTypeOf('ListResponse'), apply: messageTypeOf('ApplyResponse'), watchEvent: messageTypeOf('WatchEvent') });

/** persys.v1.Object as protobufjs takes it: the kind's oneof field holding the JSON object. */
function objectMessage(obj: Resource, info: KindInfo | undefined = findKind(obj.kind)): Record<string, Resource> {
  if (!info) throw new Error(`unknown kind ${JSON.stringify(obj.kind)}`);
  return { [info.oneofCase]: obj };
}

function bytesOf(writer: protobuf.Writer): Buffer {
  const bytes = writer.finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The bytes of `obj` as a persys.v1.Object message. */
export function encodeObject(obj: Resource): Buffer {
  return bytesOf(messageTypes().object.encode(objectMessage(obj)));
}

/** The bytes of a persys.v1.ListResponse. */
export function encodeList(page: { items: readonly Resource[]; resourceVersion: string; continue: string; remainingItemCount: string }): Buffer {
  return bytesOf(messageTypes().list.encode({ ...page, items: page.items.map((o) => objectMessage(o)) }));
}

/** The bytes of a persys.v1.ApplyResponse. */
export function encodeApply(object: Resource, result: string): Buffer {
  return bytesOf(messageTypes().apply.encode({ object: objectMessage(object), result }));
}

/** The bytes of a persys.v1.WatchEvent; `object` is of kind `info` (a BOOKMARK's may lack its kind field). */
export function encodeWatchEventMessage(type: string, object: Resource | undefined, resourceVersion: string, info: KindInfo): Buffer {
  return bytesOf(messageTypes().watchEvent.encode({ type, object: object && objectMessage(object, info), resourceVersion }));
}

type Method = keyof typeof ResourcesService;
/** The methods whose handlers answer with encoded bytes (the watch hub writes encoded events). */
const ENCODED_RESPONSES: readonly Method[] = ['create', 'get', 'list', 'update', 'updateStatus', 'bind', 'delete', 'apply', 'watch'];

/**
 * The Resources service definition with response serializers that pass encoded bytes through, and
 * still encode a response given as a message object.
 */
export const resourcesServiceWithEncodedResponses: typeof ResourcesService = Object.fromEntries(
  Object.entries(ResourcesService).map(([method, definition]) => {
    if (!ENCODED_RESPONSES.includes(method as Method)) return [method, definition];
    const serialize = definition.responseSerialize as (value: unknown) => Buffer;
    return [method, { ...definition, responseSerialize: (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : serialize(value)) }];
  }),
) as typeof ResourcesService;
