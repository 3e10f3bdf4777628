import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { Object as WireObject } from '../../lib/gen/persys/v1/api.js';
import { ContainerSpec, ContainerPort } from '../../lib/gen/persys/v1/workloads.js';
import { ObjectMeta } from '../../lib/gen/persys/v1/meta.js';
import { unknownWireFields } from './wire-fields.js';

/** Field `n` holding `bytes`, length-delimited. */
const field = (n: number, bytes: Uint8Array) => new BinaryWriter().uint32((n << 3) | 2).bytes(bytes).finish();
const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);
/** An unknown string field `n` = "x". */
const extra = (n: number) => new BinaryWriter().uint32((n << 3) | 2).string('x').finish();
/** A persys.v1.Object holding a Container (field 3) made of the given Container fields. */
const containerObject = (...containerFields: Uint8Array[]) => field(3, concat(...containerFields));
const meta = field(3, ObjectMeta.encode(ObjectMeta.fromJSON({ name: 'web' })).finish());

describe('unknownWireFields', () => {
  it('finds nothing in what the generated encoder writes', () => {
    const bytes = WireObject.encode({ object: { $case: 'container', value: { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: ObjectMeta.fromJSON({ name: 'web', labels: { a: 'b' } }), spec: ContainerSpec.fromJSON({ image: 'x', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: 'b' }] }), status: undefined } } }).finish();
    expect(unknownWireFields(bytes)).toEqual([]);
  });

  it('names the message path of an unknown field: spec, a list item, metadata, the object itself', () => {
    const spec = concat(ContainerSpec.encode(ContainerSpec.fromJSON({ image: 'x' })).finish(), extra(99));
    const ports = [ContainerPort.encode(ContainerPort.fromJSON({ containerPort: 80 })).finish(), concat(ContainerPort.encode(ContainerPort.fromJSON({ containerPort: 81 })).finish(), extra(40))];
    const specWithPorts = concat(spec, ...ports.map((p) => field(5, p)));
    const metaWithExtra = field(3, concat(ObjectMeta.encode(ObjectMeta.fromJSON({ name: 'web' })).finish(), extra(77)));
    const bytes = containerObject(metaWithExtra, field(4, specWithPorts), extra(12));
    expect(unknownWireFields(bytes)).toEqual([
      { path: 'metadata', message: expect.stringContaining('unknown field number 77 (persys.v1.ObjectMeta has no such field') },
      { path: 'spec', message: expect.stringContaining('unknown field number 99 (persys.v1.ContainerSpec') },
      { path: 'spec.ports[1]', message: expect.stringContaining('unknown field number 40 (persys.v1.ContainerPort') },
      { path: '', message: expect.stringContaining('unknown field number 12 (persys.v1.Container ') },
    ]);
  });

  it('finds an unknown field that only a list item deep in the spec holds', () => {
    const port = (extraField?: number) => concat(ContainerPort.encode(ContainerPort.fromJSON({ containerPort: 80 })).finish(), ...(extraField ? [extra(extraField)] : []));
    const spec = concat(ContainerSpec.encode(ContainerSpec.fromJSON({ image: 'x' })).finish(), field(5, port()), field(5, port()), field(5, port(41)));
    const bytes = containerObject(field(3, ObjectMeta.encode(ObjectMeta.fromJSON({ name: 'web' })).finish()), field(4, spec));
    expect(unknownWireFields(bytes)).toEqual([{ path: 'spec.ports[2]', message: expect.stringContaining('unknown field number 41 (persys.v1.ContainerPort') }]);
  });

  it('reports a kind field this server does not have at the top', () => {
    expect(unknownWireFields(concat(field(3, meta), field(63, meta)))).toEqual([
      { path: '', message: expect.stringContaining('unknown field number 63 (persys.v1.Object') },
    ]);
  });
});
