// `persys pki rotate-server`: a new key and serving certificate for the API server, with the same
// names (CN, O, hosts) as the current one, written whole into DATA_DIR/pki. A running API server
// takes it into use by itself (it checks the files every 10 s, or at once on SIGHUP) without
// dropping a connection: new connections get the new certificate, open ones keep theirs.
import { join, resolve } from 'node:path';
import { list, str, type CommandContext } from '../lib/cli/command.js';

export async function rotateServerCertificateCommand(ctx: CommandContext): Promise<number> {
  const dataDir = resolve(str(ctx.flags, 'data-dir')!);
  const { rotateServerCertificate } = await import('../lib/pki/index.js');
  const rotated = await rotateServerCertificate(join(dataDir, 'pki'), { extraHosts: list(ctx.flags, 'server-host') });
  ctx.io.out(`server certificate renewed with a new key: ${rotated.certFile}`);
  ctx.io.out(`  serial ${rotated.serial}, valid until ${rotated.notAfter.toISOString()}, hosts ${rotated.hosts.join(', ')}`);
  ctx.io.out('a running API server using these files picks it up within 10 s (or at once: kill -HUP its pid);');
  ctx.io.out('agent streams and other open connections stay up; new connections get the new certificate.');
  ctx.io.out('Other API servers have their own files: rotate on each of them.');
  return 0;
}
