// npm run lint: ESLint (type-aware, CPU-bound on one core) and Prettier's check side by side,
// so CI's lint step takes as long as ESLint alone. Fails if either fails; prints both outputs.
import { spawn } from 'node:child_process';

const run = (cmd, args) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });

const codes = await Promise.all([run('eslint', ['.']), run('prettier', ['--check', '.'])]);
process.exit(codes.some((c) => c !== 0) ? 1 : 0);
