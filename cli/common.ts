import type { Command } from 'commander';
import { destroyTarget, resolveTarget, type Target, type TargetOptions } from './target';
import { DEFAULT_STAGE } from '../lambdas/contract/stack';

export function targetOptions(cmd: Command): Command {
  return cmd
    .option('--local', 'act on the running local hub (npm start)')
    .option('--stage <stage>', 'deployed stage', DEFAULT_STAGE)
    .option('--stack <name>', 'deployed stack name (default CrmBridge-<stage>)')
    .option('--region <region>', 'AWS region of the stack');
}

/**
 * Wraps an action: resolves the target from the command's options, runs it
 * with the positional arguments followed by the options, releases the clients.
 */
export function withTarget<A extends unknown[]>(fn: (t: Target, ...args: A) => Promise<void>) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = command.opts<TargetOptions>();
    const target = await resolveTarget(opts);
    try {
      await fn(target, ...([...args.slice(0, command.registeredArguments.length), opts] as A));
    } finally {
      destroyTarget(target);
    }
  };
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
