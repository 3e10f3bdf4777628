// Top-level dispatch, help, usage errors and kubectl-style error wording.
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../client/errors.js';
import { formatError } from './errors.js';
import { captureIo } from './io.js';
import { main } from './main.js';
import { FakeClient } from './testing/fake-client.js';
import { runCli } from './testing/run-cli.js';

describe('persys main', () => {
  it('lists the commands and global flags with their env vars on --help', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    for (const s of ['apply', 'get', 'describe', 'delete', 'diff', 'api-resources', '--server', 'PERSYS_SERVER', 'PERSYS_NAMESPACE']) {
      expect(io.stdout()).toContain(s);
    }
  });

  it('prints a command\'s flags on CMD --help without needing a config', async () => {
    const io = captureIo();
    expect(await main(['apply', '--help'], io)).toBe(0);
    expect(io.stdout()).toContain('-f, --filename PATH');
    expect(io.stdout()).toContain('--dry-run MODE');
    expect(io.stdout()).toContain('PERSYS_CLIENT_CERT');
  });

  it('fails on an unknown command', async () => {
    const io = captureIo();
    expect(await main(['frobnicate'], io)).toBe(1);
    expect(io.stderr()).toContain('unknown command "frobnicate"');
  });

  it('fails on an unknown flag and points at the command help', async () => {
    const r = await runCli(new FakeClient(), ['get', 'ct', '--colour']);
    expect(r.code).toBe(1);
    expect(r.err).toBe("error: unknown flag: --colour\nSee 'persys get --help' for usage.\n");
  });

  it('fails on an unknown kind', async () => {
    const r = await runCli(new FakeClient(), ['get', 'widgets']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('the server doesn\'t have a resource type "widgets"');
  });

  it('lists api-resources as a table', async () => {
    const r = await runCli(new FakeClient(), ['api-resources']);
    const lines = r.out.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    expect(lines[0]).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    expect(lines).toContainEqual(['swarmservices', 'ss', 'persys.dev/v1', 'true', 'SwarmService']);
    expect(lines).toContainEqual(['services', 'svc', 'persys.dev/v1', 'true', 'Service']);
    expect(lines).toContainEqual(['endpointslices', 'eps,ep,endpoints', 'persys.dev/v1', 'true', 'EndpointSlice']);
  });

  it('prints the client and the server version', async () => {
    const r = await runCli(new FakeClient(), ['version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Client Version: \d+\.\d+\.\d+\nServer Version: 9\.9\.9\n$/);
  });
});

describe('formatError', () => {
  it('words API errors like kubectl', () => {
    expect(formatError(new ApiError(Status.NOT_FOUND, 'NOT_FOUND', 'Container "web" not found'))).toBe(
      'Error from server (NotFound): Container "web" not found',
    );
    expect(formatError(new ApiError(Status.ABORTED, 'ABORTED', 'stale'), undefined, 'applying container/web')).toBe(
      'Error from server (Conflict): error when applying container/web: stale',
    );
  });
  it('names the server when it cannot be reached', () => {
    expect(formatError(new ApiError(Status.UNAVAILABLE, 'UNAVAILABLE', 'connect ECONNREFUSED'), 'h:1')).toBe(
      'error: unable to connect to the server h:1: connect ECONNREFUSED',
    );
  });
});
