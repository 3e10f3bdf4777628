// The Watch stream's shared encoding: one event's bytes are the generated WatchEvent encoding, and a
// batch decodes, with the generated decoder, to the same events in order.
import { describe, expect, it } from 'vitest';
import { findKind } from '../../lib/api/kinds.js';
import { fromWire } from '../../lib/api/resource.js';
import { WatchEvent as WireWatchEvent } from '../../lib/gen/persys/v1/api.js';
import type { CacheEvent } from './event.js';
import { encodeWatchBatches, encodeWatchEvent } from './wire.js';

const info = findKind('Container')!;
const event = (i: number, image = 'persys/busybox:test'): CacheEvent => ({
  type: 'MODIFIED',
  key: `containers/default/c${i}`,
  object: { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: `c${i}`, namespace: 'default', resourceVersion: String(i) }, spec: { image } },
  revision: String(i),
});

describe('watch wire encoding', () => {
  it('encodes an event once and hands every watcher the same bytes', () => {
    const ev = event(7);
    const bytes = encodeWatchEvent(ev, info);
    expect(encodeWatchEvent(ev, info)).toBe(bytes);
    const decoded = WireWatchEvent.decode(bytes);
    expect(decoded.type).toBe('MODIFIED');
    expect(decoded.resourceVersion).toBe('7');
    expect(fromWire(decoded.object)?.spec).toEqual({ image: 'persys/busybox:test' });
  });

  it('puts events into batches that decode to the same events in order, each batch within the byte bound', () => {
    // A 300-byte image makes each event longer than 127 bytes, so lengths take two varint bytes.
    const events = Array.from({ length: 50 }, (_, i) => encodeWatchEvent(event(i + 1, 'x'.repeat(300)), info));
    const batches = encodeWatchBatches(events, 4096);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(4096);
    const decoded = batches.flatMap((b) => WireWatchEvent.decode(b).events);
    expect(decoded.map((e) => e.resourceVersion)).toEqual(events.map((_, i) => String(i + 1)));
    expect(decoded.every((e) => e.type === 'MODIFIED' && fromWire(e.object)?.metadata.name)).toBe(true);
  });

  it('sends an event larger than the bound alone rather than splitting it', () => {
    const big = encodeWatchEvent(event(1, 'y'.repeat(10_000)), info);
    const batches = encodeWatchBatches([encodeWatchEvent(event(2), info), big, encodeWatchEvent(event(3), info)], 1000);
    expect(batches.map((b) => WireWatchEvent.decode(b).events.map((e) => e.resourceVersion))).toEqual([['2'], ['1'], ['3']]);
  });
});
