// The Watch stream's wire form, encoded once per event and shared by every client stream it goes to:
// with many watchers of one kind, per-watcher conversion and protobuf encoding dominated fan-out CPU.
import type { KindInfo } from '../../lib/api/kinds.js';
import { encodeWatchEventMessage } from '../api/wire-encode.js';
import type { WatchEvent } from './event.js';

// Keyed by the cache's event object: watchers without a filter, or whose filter keeps the event as
// it is, get that very object; filter transitions (ADDED/DELETED) are new objects, encoded per watcher.
const encoded = new WeakMap<WatchEvent, Buffer>();

/** The protobuf bytes of `ev` as a persys.v1.WatchEvent; computed once per event object. */
export function encodeWatchEvent(ev: WatchEvent, info: KindInfo): Buffer {
  let bytes = encoded.get(ev);
  if (!bytes) {
    bytes = encodeWatchEventMessage(ev.type, ev.object, ev.revision, info);
    if (ev.type !== 'BOOKMARK') encoded.set(ev, bytes);
  }
  return bytes;
}

/** Field 4 (`events`) of WatchEvent, length-delimited: the tag byte before each event of a batch. */
const EVENTS_TAG = (4 << 3) | 2;

/**
 * Encoded events as WatchEvent messages that carry them in `events`, each message at most about
 * `maxBytes` (a single larger event travels alone), so a burst costs a few gRPC messages.
 */
export function encodeWatchBatches(events: readonly Buffer[], maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (parts.length) out.push(Buffer.concat(parts, size));
    parts = [];
    size = 0;
  };
  for (const ev of events) {
    const head = varintPrefixed(EVENTS_TAG, ev.length);
    if (size > 0 && size + head.length + ev.length > maxBytes) flush();
    parts.push(head, ev);
    size += head.length + ev.length;
  }
  flush();
  return out;
}

function varintPrefixed(tag: number, length: number): Buffer {
  const bytes = [tag];
  let n = length;
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
