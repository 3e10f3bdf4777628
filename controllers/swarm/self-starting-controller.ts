// A Controller that queues keys of its own choosing whenever it starts: the swarm controllers feed
// their queues from custom event handlers (a membership round key, a prune key), not from watch().
import { Controller, type ControllerOptions } from '../runtime/controller.js';

export class SelfStartingController extends Controller {
  constructor(
    opts: ControllerOptions,
    private readonly onStart: () => string[],
  ) {
    super(opts);
  }

  override run(signal: AbortSignal): Promise<void> {
    // run() creates the queue before its first await, so the keys land in this run's queue.
    const running = super.run(signal);
    for (const key of this.onStart()) this.enqueue(key);
    return running;
  }
}
