// Waiting for `persys up` (run as a child process) to say it is up, as a user waits for its banner.
import type { ChildProcess } from 'node:child_process';

export const UP_BANNER_END = 'Press Ctrl-C to stop.';

/** Resolves with everything `up` wrote to stderr once its banner is complete; rejects if it exits or takes longer than timeoutMs. */
export function waitForUpBanner(up: ChildProcess, timeoutMs = 60_000): Promise<string> {
  let text = '';
  return new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`persys up did not come up:\n${text}`)), timeoutMs);
    up.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes(UP_BANNER_END)) {
        clearTimeout(timer);
        ok(text);
      }
    });
    up.once('exit', (code) => fail(new Error(`persys up exited with ${code}:\n${text}`)));
  });
}
