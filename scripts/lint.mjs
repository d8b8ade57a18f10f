// npm run lint: ESLint (type-aware, CPU-bound on one core) and Prettier's check side by side,
// so CI's lint step takes as long as ESLint alone; then the commit subjects. Fails if any fails.
import { execFileSync, spawn } from 'node:child_process';

const run = (cmd, args) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });

/**
 * Commit subjects of 72 characters or less (CONTRIBUTING.md), for every commit since the rule was
 * adopted (SUBJECTS_SINCE; older history is published and stays as it is). Skipped, with a word,
 * outside a git checkout or in a clone too shallow to hold that commit.
 */
const SUBJECTS_SINCE = 'a623247';
const MAX_SUBJECT = 72;
function checkSubjects() {
  const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    git('cat-file', '-e', `${SUBJECTS_SINCE}^{commit}`);
  } catch {
    console.log(`commit subjects: not checked (no commit ${SUBJECTS_SINCE} here: not a full clone)`);
    return 0;
  }
  const long = git('log', '--format=%h %s', `${SUBJECTS_SINCE}..HEAD`)
    .split('\n')
    .filter((line) => line.length - line.indexOf(' ') - 1 > MAX_SUBJECT);
  for (const line of long) console.error(`commit subject over ${MAX_SUBJECT} characters: ${line}`);
  if (long.length === 0) console.log(`commit subjects: all ${MAX_SUBJECT} characters or less`);
  return long.length === 0 ? 0 : 1;
}

const codes = await Promise.all([run('eslint', ['.']), run('prettier', ['--check', '.'])]);
codes.push(checkSubjects());
process.exit(codes.some((c) => c !== 0) ? 1 : 0);
