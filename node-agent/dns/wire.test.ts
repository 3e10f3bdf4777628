import { describe, expect, it } from 'vitest';
import { decodeQuery, decodeResponse, DnsFormatError, encodeQuery, encodeResponse, errorResponse, RCODE, TYPE } from './wire.js';

describe('decodeQuery', () => {
  it.each<[string, Buffer, object]>([
    ['an A query', encodeQuery(0x1234, 'web.shop.svc.persys.local', TYPE.A), { id: 0x1234, flags: 0x0100, questions: [{ name: 'web.shop.svc.persys.local', type: 1, class: 1 }] }],
    ['an SRV query, lower-cased', encodeQuery(7, '_HTTP._tcp.Web.shop.svc.persys.local', TYPE.SRV, false), { id: 7, flags: 0, questions: [{ name: '_http._tcp.web.shop.svc.persys.local', type: 33, class: 1 }] }],
    ['the root', encodeQuery(1, '', TYPE.A), { questions: [{ name: '', type: 1, class: 1 }] }],
  ])('reads %s', (_what, buf, want) => {
    expect(decodeQuery(buf)).toMatchObject(want);
  });

  it('reads the EDNS payload size of an OPT record', () => {
    const q = encodeQuery(1, 'a.b', TYPE.A);
    q.writeUInt16BE(1, 10);
    const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    expect(decodeQuery(Buffer.concat([q, opt])).ednsUdpSize).toBe(1232);
  });

  it('follows a compression pointer', () => {
    // Two questions, the second "x." + pointer to the first name at offset 12.
    const q = encodeQuery(1, 'svc.persys.local', TYPE.A);
    q.writeUInt16BE(2, 4);
    const second = Buffer.from([1, 0x78, 0xc0, 12, 0, 1, 0, 1]);
    expect(decodeQuery(Buffer.concat([q, second])).questions[1]!.name).toBe('x.svc.persys.local');
  });

  it.each<[string, Buffer]>([
    ['a short header', Buffer.from([1, 2, 3])],
    ['a name past the end', Buffer.concat([encodeQuery(1, 'abc', TYPE.A).subarray(0, 14)])],
    ['a pointer loop', Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])])],
  ])('refuses %s', (_what, buf) => {
    expect(() => decodeQuery(buf)).toThrow(DnsFormatError);
  });
});

describe('encodeResponse', () => {
  const query = decodeQuery(encodeQuery(42, '_http._tcp.web.shop.svc.persys.local', TYPE.SRV));
  const srv = (n: number) => ({ name: query.questions[0]!.name, type: TYPE.SRV, ttl: 5, priority: 0, weight: 100, port: 30000 + n, target: `web-${n}.web.shop.svc.persys.local` }) as const;
  const a = (n: number) => ({ name: `web-${n}.web.shop.svc.persys.local`, type: TYPE.A, ttl: 5, address: `10.0.0.${n}` }) as const;

  it('round-trips A and SRV records with the id, rcode and flags', () => {
    const out = encodeResponse(query, { rcode: RCODE.NOERROR, answers: [srv(1)], additionals: [a(1)] });
    expect(out.readUInt16BE(2) & 0x8580).toBe(0x8580); // QR, AA, RD echoed, RA
    expect(decodeResponse(out)).toEqual({ id: 42, rcode: 0, truncated: false, answers: [srv(1)], additionals: [a(1)] });
  });

  it('drops additionals first, then answers with TC, to fit a UDP size', () => {
    const many = Array.from({ length: 20 }, (_, i) => i + 1);
    const out = encodeResponse(query, { rcode: 0, answers: many.map(srv), additionals: many.map(a) }, 512);
    expect(out.length).toBeLessThanOrEqual(512);
    const r = decodeResponse(out);
    expect(r.additionals).toEqual([]);
    expect(r.truncated).toBe(true);
    expect(r.answers.length).toBeGreaterThan(0);
  });

  it('answers NXDOMAIN and errors with the id of any message', () => {
    expect(decodeResponse(encodeResponse(query, { rcode: RCODE.NXDOMAIN, answers: [], additionals: [] })).rcode).toBe(3);
    const err = errorResponse(Buffer.from([0xab, 0xcd, 0x01, 0x00, 9]), RCODE.FORMERR);
    expect(err.readUInt16BE(0)).toBe(0xabcd);
    expect(err.readUInt16BE(2) & 0x800f).toBe(0x8001);
  });
});
