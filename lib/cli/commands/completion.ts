// `persys completion bash|zsh`: prints a completion script built from every command's flags and usage.
import { GLOBAL_FLAGS } from '../args.js';
import type { Command } from '../command.js';
import { bashCompletion, completionSpec, zshCompletion } from '../completion.js';
import { UsageError } from '../usage-error.js';

const SHELLS = { bash: bashCompletion, zsh: zshCompletion } as const;

export const completionCommand: Command = {
  name: 'completion',
  usage: 'persys completion bash|zsh',
  description: [
    'bash:  source <(persys completion bash)',
    'zsh:   source <(persys completion zsh)     (after compinit)',
  ].join('\n'),
  async run(ctx) {
    const shell = ctx.args[0];
    if (ctx.args.length !== 1 || !(shell === 'bash' || shell === 'zsh')) {
      throw new UsageError(`completion needs one shell: bash or zsh${shell ? `, got "${ctx.args.join(' ')}"` : ''}`, 'completion');
    }
    const commands = await Promise.all(ctx.commands.map((e) => e.load()));
    ctx.io.out(SHELLS[shell](completionSpec(commands, GLOBAL_FLAGS)).trimEnd());
    return 0;
  },
};
