// Polls applied objects until each has converged (convergence.ts), printing what is still converging
// whenever that changes: the engine of `persys rollout status` and `persys apply --wait`.
import type { Resource } from '../api/resource.js';
import type { CommandContext } from './command.js';
import { convergence } from './convergence.js';

export interface ObjectRef {
  kind: string;
  name: string;
  namespace: string;
}

export interface WaitOptions {
  /** 0: no limit. */
  timeoutMs: number;
  /** @default 500 */
  pollMs?: number;
  /** Print the success line of objects that never had to wait (rollout status does). @default false */
  announceDone?: boolean;
}

/** Resolves once every object has converged; throws naming what failed or is still converging. */
export async function waitConverged(ctx: CommandContext, refs: ObjectRef[], opts: WaitOptions): Promise<void> {
  const client = ctx.client();
  const deadline = opts.timeoutMs > 0 ? ctx.now().getTime() + opts.timeoutMs : Infinity;
  const printed = new Map<ObjectRef, string>();
  let pending = [...refs];
  const still: string[] = [];
  for (;;) {
    still.length = 0;
    const next: ObjectRef[] = [];
    for (const ref of pending) {
      const obj: Resource = await client.get(ref.kind, ref.name, ref.namespace);
      const state = convergence(obj);
      if (state.failed) throw new Error(state.failed);
      const said = printed.get(ref);
      if (state.message !== said && (!state.done || said !== undefined || opts.announceDone)) ctx.io.out(state.message);
      printed.set(ref, state.message);
      if (!state.done) {
        next.push(ref);
        still.push(state.message);
      }
    }
    pending = next;
    if (!pending.length) return;
    if (ctx.now().getTime() >= deadline) {
      throw new Error(`timed out waiting for the condition; still converging:\n  ${still.join('\n  ')}`);
    }
    await ctx.sleep(opts.pollMs ?? 500);
  }
}
