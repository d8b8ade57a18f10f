import { Command, CommanderError } from 'commander';
import { registerConnectorCommands } from './connectors';
import { registerDlqCommands } from './dlq';
import { registerFileCommands } from './files';
import { registerFileMigrationCommands } from './files-migrate';
import { registerJobCommands } from './jobs';
import { registerSecretCommands } from './secrets';
import { CliError } from './target';

/**
 * crm-bridge admin CLI. Exit codes: 0 success, 1 the operation failed
 * (not found, AWS error, no hub running), 2 invalid input or usage.
 */
const { version } = require('../package.json') as { version: string };

const program = new Command('crm-bridge')
  .description('Admin CLI for crm-bridge: connectors, secrets, files, jobs, dead-lettered jobs')
  .version(version, '-V, --version', 'print the crm-bridge version')
  .exitOverride()
  .showHelpAfterError();

registerConnectorCommands(program);
registerSecretCommands(program);
registerDlqCommands(program);
registerFileCommands(program);
registerFileMigrationCommands(program);
registerJobCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    return;
  }
  if (err instanceof CliError) {
    console.error(`error: ${err.message}`);
    process.exitCode = err.exitCode;
    return;
  }
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
