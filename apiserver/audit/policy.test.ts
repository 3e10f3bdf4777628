// The audit policy: parsing with errors that name the rule and field, and first-match levels.
import { describe, expect, it } from 'vitest';
import { auditLevel, DEFAULT_AUDIT_POLICY, parseAuditPolicy, type AuditSubject } from './policy.js';

const who = (over: Partial<AuditSubject>): AuditSubject => ({ user: 'alice', groups: ['dev'], verb: 'create', kind: 'ConfigMap', namespace: 'a', ...over });

describe('parseAuditPolicy', () => {
  it.each([
    ['rules: []', 'rules: required'],
    ['rules:\n  - level: Everything', 'rules[0].level: must be one of None, Metadata, Request'],
    ['rules:\n  - level: None\n    verb: [get]', 'rules[0]: unknown field "verb"'],
    ['rules:\n  - level: None\n    verbs: [fly]', 'rules[0].verbs[0]: unknown verb "fly"'],
    ['rules:\n  - level: None\n    kinds: [Pod]', 'rules[0].kinds[0]: unknown kind "Pod"'],
    ['rules:\n  - level: None\n    users: alice', 'rules[0].users: must be a list of strings'],
    ['rules: [', 'not YAML'],
    ['rules:\n  - level: None\nomitStages: [x]', 'unknown field "omitStages"'],
  ])('refuses %j with a message naming %j', (text, message) => {
    expect(() => parseAuditPolicy(text, 'policy.yaml')).toThrow(message);
  });

  it('resolves kinds in any spelling to their names', () => {
    expect(parseAuditPolicy('rules:\n  - level: Request\n    kinds: [secrets, cm]', 'p').rules[0]!.kinds).toEqual(['Secret', 'ConfigMap']);
  });
});

describe('auditLevel', () => {
  const policy = parseAuditPolicy(
    'rules:\n  - level: None\n    users: [bot]\n  - level: Request\n    kinds: [ConfigMap]\n    verbs: [create, update]\n  - level: None\n    groups: [noisy]\n  - level: Metadata\n    namespaces: [a]\n',
    'p',
  );
  it.each([
    [who({ user: 'bot' }), 'None'],
    [who({}), 'Request'],
    [who({ verb: 'get' }), 'Metadata'],
    [who({ verb: 'get', groups: ['dev', 'noisy'] }), 'None'],
    [who({ verb: 'get', namespace: 'b' }), 'None'],
  ] as const)('%j → %s (first match wins; no match is None)', (subject, level) => {
    expect(auditLevel(policy, subject)).toBe(level);
  });

  it('by default drops the controllers’ reads and Lease writes and keeps everything else at Metadata', () => {
    expect(auditLevel(DEFAULT_AUDIT_POLICY, who({ groups: ['system:controllers'], verb: 'watch' }))).toBe('None');
    expect(auditLevel(DEFAULT_AUDIT_POLICY, who({ groups: ['system:controllers'], verb: 'update', kind: 'Lease' }))).toBe('None');
    expect(auditLevel(DEFAULT_AUDIT_POLICY, who({ groups: ['system:controllers'], verb: 'update', kind: 'Container' }))).toBe('Metadata');
    expect(auditLevel(DEFAULT_AUDIT_POLICY, who({ verb: 'get' }))).toBe('Metadata');
  });
});
