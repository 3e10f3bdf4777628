// Turns each request's outcome into an audit entry: who (user, groups), what (verb, kind, namespace,
// name), the decision, the gRPC code and the latency, and at level Request the object sent — never a
// Secret's data.
import { randomUUID } from 'node:crypto';
import { status as Code } from '@grpc/grpc-js';
import type { Resource } from '../../lib/api/resource.js';
import { auditLevel, type AuditPolicy } from './policy.js';
import type { AuditLogFile } from './log-file.js';

/** One request as the audit log sees it. */
export interface AuditEvent {
  user: string;
  groups: readonly string[];
  /** An RBAC verb (get, list, watch, create, update, patch, delete), or the method for calls refused before one is known. */
  verb: string;
  kind: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: Code;
  /** The error's message when the call failed. */
  message?: string;
  latencyMs: number;
  /** What was sent (create, update, apply): logged at level Request, except for Secrets. */
  requestObject?: Resource;
}

/** Kinds whose request body is never logged, at any level. */
const NEVER_LOGGED_BODIES = new Set(['Secret']);
const DENIALS = new Set<Code>([Code.PERMISSION_DENIED, Code.UNAUTHENTICATED]);

export class Auditor {
  constructor(
    private readonly policy: AuditPolicy,
    private readonly file: AuditLogFile,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get dropped(): number {
    return this.file.dropped;
  }

  record(e: AuditEvent): void {
    const level = auditLevel(this.policy, { user: e.user, groups: e.groups, verb: e.verb, kind: e.kind, namespace: e.namespace ?? '' });
    if (level === 'None') return;
    const entry: Record<string, unknown> = {
      time: this.now().toISOString(),
      auditID: randomUUID(),
      level,
      user: e.user,
      groups: e.groups,
      verb: e.verb,
      kind: e.kind || undefined,
      subresource: e.subresource || undefined,
      namespace: e.namespace || undefined,
      name: e.name || undefined,
      decision: DENIALS.has(e.code) ? 'deny' : 'allow',
      code: Code[e.code] ?? String(e.code),
      message: e.message || undefined,
      latencyMs: Math.round(e.latencyMs * 1000) / 1000,
    };
    if (level === 'Request' && e.requestObject && !NEVER_LOGGED_BODIES.has(e.kind)) entry.requestObject = e.requestObject;
    this.file.write(JSON.stringify(entry));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
