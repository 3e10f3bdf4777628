// The DNS wire format (RFC 1035), only as much as the agent's server needs: read a query's header and
// question, write an answer with A and SRV records. Anything else is forwarded as raw bytes, never parsed.

export const TYPE = { A: 1, AAAA: 28, SRV: 33, ANY: 255 } as const;
export const CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** A classic UDP answer's limit when the query carries no EDNS size. */
export const UDP_MAX = 512;

export class DnsFormatError extends Error {
  override name = 'DnsFormatError';
}

export interface Question {
  /** Lower case, without the trailing dot. */
  name: string;
  type: number;
  class: number;
}

export interface Query {
  id: number;
  /** The header's flags as sent (opcode, RD …). */
  flags: number;
  questions: Question[];
  /** The EDNS UDP payload size the client offered, when it sent an OPT record. */
  ednsUdpSize?: number;
}

export type ResourceRecord =
  | { name: string; type: typeof TYPE.A; ttl: number; address: string }
  | { name: string; type: typeof TYPE.SRV; ttl: number; priority: number; weight: number; port: number; target: string };

export interface Answer {
  rcode: number;
  answers: ResourceRecord[];
  additionals: ResourceRecord[];
}

const opcodeOf = (flags: number) => (flags >> 11) & 0xf;
/** Whether the header is a query (QR clear) with the standard opcode. */
export const isStandardQuery = (q: Query) => (q.flags & 0x8000) === 0 && opcodeOf(q.flags) === 0;

/** Reads a possibly compressed name at `offset`; returns it and the offset after it. */
function readName(buf: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let at = offset;
  let end = -1;
  for (let jumps = 0; ; ) {
    if (at >= buf.length) throw new DnsFormatError('name runs past the end of the message');
    const len = buf[at]!;
    if (len === 0) {
      at += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      if (++jumps > 32) throw new DnsFormatError('compression loop');
      if (end < 0) end = at + 2;
      at = ((len & 0x3f) << 8) | buf[at + 1]!;
      continue;
    }
    if (len > 63) throw new DnsFormatError('label longer than 63 bytes');
    if (at + 1 + len > buf.length) throw new DnsFormatError('label runs past the end of the message');
    labels.push(buf.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  return [labels.join('.').toLowerCase(), end < 0 ? at : end];
}

/** Skips one resource record starting at `offset` (name, type, class, ttl, rdata); returns its type, class and the next offset. */
function readRecordHead(buf: Buffer, offset: number): { type: number; klass: number; next: number } {
  const [, at] = readName(buf, offset);
  if (at + 10 > buf.length) throw new DnsFormatError('truncated resource record');
  const rdlen = buf.readUInt16BE(at + 8);
  return { type: buf.readUInt16BE(at), klass: buf.readUInt16BE(at + 2), next: at + 10 + rdlen };
}

export function decodeQuery(buf: Buffer): Query {
  if (buf.length < 12) throw new DnsFormatError('message shorter than a header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  const questions: Question[] = [];
  let at = 12;
  for (let i = 0; i < qd; i++) {
    const [name, next] = readName(buf, at);
    if (next + 4 > buf.length) throw new DnsFormatError('truncated question');
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    at = next + 4;
  }
  let ednsUdpSize: number | undefined;
  for (let i = 0; i < an + ns + ar; i++) {
    const rr = readRecordHead(buf, at);
    // OPT (41) carries the requester's UDP payload size in its class field.
    if (rr.type === 41) ednsUdpSize = rr.klass;
    at = rr.next;
  }
  return { id, flags, questions, ednsUdpSize };
}

/** Only the id of a message, for matching a forwarded answer (no further parsing). */
export const idOf = (buf: Buffer) => (buf.length >= 2 ? buf.readUInt16BE(0) : -1);

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const bufs: Buffer[] = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    if (b.length > 63) throw new DnsFormatError(`label longer than 63 bytes: ${p}`);
    bufs.push(Buffer.from([b.length]), b);
  }
  bufs.push(Buffer.from([0]));
  return Buffer.concat(bufs);
}

function encodeIpv4(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new DnsFormatError(`not an IPv4 address: ${address}`);
  return Buffer.from(parts);
}

function encodeRecord(rr: ResourceRecord): Buffer {
  let rdata: Buffer;
  if (rr.type === TYPE.A) rdata = encodeIpv4(rr.address);
  else {
    const head = Buffer.alloc(6);
    head.writeUInt16BE(rr.priority, 0);
    head.writeUInt16BE(rr.weight, 2);
    head.writeUInt16BE(rr.port, 4);
    rdata = Buffer.concat([head, encodeName(rr.target)]);
  }
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(rr.ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(rr.name), fixed, rdata]);
}

function encodeQuestion(q: Question): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(q.class, 2);
  return Buffer.concat([encodeName(q.name), tail]);
}

/**
 * The response to `query`: authoritative, recursion available, the question echoed. Over `maxBytes`
 * (UDP), records are dropped from the end (additionals first) and TC is set when answers had to go.
 */
export function encodeResponse(query: Query, answer: Answer, maxBytes = Infinity): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  const question = query.questions.slice(0, 1).map(encodeQuestion);
  let answers = answer.answers.map(encodeRecord);
  let additionals = answer.additionals.map(encodeRecord);
  const size = () => 12 + [...question, ...answers, ...additionals].reduce((n, b) => n + b.length, 0);
  let truncated = false;
  while (size() > maxBytes && additionals.length) additionals = additionals.slice(0, -1);
  while (size() > maxBytes && answers.length) {
    answers = answers.slice(0, -1);
    truncated = true;
  }
  // QR, the query's opcode, AA, TC when cut, the query's RD, RA, rcode.
  const flags = 0x8000 | (query.flags & 0x7800) | 0x0400 | (truncated ? 0x0200 : 0) | (query.flags & 0x0100) | 0x0080 | (answer.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(question.length, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(additionals.length, 10);
  return Buffer.concat([header, ...question, ...answers, ...additionals]);
}

/** An error answer built from the raw bytes of a message that may not parse: its id and opcode, nothing else. */
export function errorResponse(raw: Buffer, rcode: number): Buffer {
  const header = Buffer.alloc(12);
  if (raw.length >= 2) header.writeUInt16BE(raw.readUInt16BE(0), 0);
  const flags = raw.length >= 4 ? raw.readUInt16BE(2) : 0;
  header.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0080 | (rcode & 0xf), 2);
  return header;
}

/** A query message, for tests and the fake upstream. */
export function encodeQuery(id: number, name: string, type: number, rd = true): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(rd ? 0x0100 : 0, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, encodeQuestion({ name, type, class: CLASS_IN })]);
}

/** Decodes the answer records of a response (A and SRV; others skipped), for tests. */
export function decodeResponse(buf: Buffer): { id: number; rcode: number; truncated: boolean; answers: ResourceRecord[]; additionals: ResourceRecord[] } {
  const q = decodeQueryHeaderOnly(buf);
  let at = q.afterQuestions;
  const read = (count: number) => {
    const out: ResourceRecord[] = [];
    for (let i = 0; i < count; i++) {
      const [name, next] = readName(buf, at);
      const type = buf.readUInt16BE(next);
      const ttl = buf.readUInt32BE(next + 4);
      const rdlen = buf.readUInt16BE(next + 8);
      const rd = next + 10;
      if (type === TYPE.A) out.push({ name, type: TYPE.A, ttl, address: [...buf.subarray(rd, rd + 4)].join('.') });
      else if (type === TYPE.SRV)
        out.push({ name, type: TYPE.SRV, ttl, priority: buf.readUInt16BE(rd), weight: buf.readUInt16BE(rd + 2), port: buf.readUInt16BE(rd + 4), target: readName(buf, rd + 6)[0] });
      at = rd + rdlen;
    }
    return out;
  };
  const answers = read(q.an);
  // Authority records are skipped.
  for (let i = 0; i < q.ns; i++) at = readRecordHead(buf, at).next;
  const additionals = read(q.ar);
  const flags = buf.readUInt16BE(2);
  return { id: buf.readUInt16BE(0), rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, answers, additionals };
}

function decodeQueryHeaderOnly(buf: Buffer) {
  if (buf.length < 12) throw new DnsFormatError('message shorter than a header');
  let at = 12;
  for (let i = 0; i < buf.readUInt16BE(4); i++) at = readName(buf, at)[1] + 4;
  return { an: buf.readUInt16BE(6), ns: buf.readUInt16BE(8), ar: buf.readUInt16BE(10), afterQuestions: at };
}
