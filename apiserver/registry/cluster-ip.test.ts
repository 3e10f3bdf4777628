// The service range: which addresses of a CIDR may be allocated, and which ranges are refused.
import { describe, expect, it } from 'vitest';
import { Ipv4Range } from './cluster-ip.js';

describe('Ipv4Range', () => {
  it.each([
    ['10.96.0.0/16', 65534, '10.96.0.1', '10.96.255.254'],
    ['10.96.0.0/30', 2, '10.96.0.1', '10.96.0.2'],
    ['192.168.10.0/24', 254, '192.168.10.1', '192.168.10.254'],
  ])('%s holds %i addresses from %s to %s (no network or broadcast address)', (cidr, size, first, last) => {
    const r = Ipv4Range.parse(cidr);
    expect(r.size).toBe(size);
    expect(r.at(0)).toBe(first);
    expect(r.at(size - 1)).toBe(last);
    expect(r.contains(first) && r.contains(last)).toBe(true);
    expect(r.contains(cidr.split('/')[0]!)).toBe(false);
  });

  it.each([
    ['10.96.0.0', 'expected an IPv4 CIDR'],
    ['10.96.0.0/31', 'expected an IPv4 CIDR'],
    ['fd00::/64', 'expected an IPv4 CIDR'],
    ['10.96.0.1/16', 'host bits are set (the network is 10.96.0.0/16)'],
  ])('refuses %s', (cidr, message) => {
    expect(() => Ipv4Range.parse(cidr)).toThrow(message);
  });

  it('does not contain addresses outside it', () => {
    const r = Ipv4Range.parse('10.96.0.0/30');
    expect(r.contains('10.96.0.3')).toBe(false);
    expect(r.contains('10.97.0.1')).toBe(false);
    expect(r.contains('not an ip')).toBe(false);
  });
});
