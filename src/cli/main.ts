/**
 * The `kairos` command line. Each command lives in its own file and only parses, calls
 * the library and prints. Errors Kairos raises on purpose print as one line
 * (`kairos: <message>`) with exit code 1; anything else is a bug and keeps its stack.
 */
import { Command, CommanderError, Option } from 'commander';
import { KairosError } from '../core/errors.js';
import '../envs/builtin.js';
import { checkEnvCommand, listEnvsCommand } from './envs.js';
import { intOption } from './options.js';
import { rolloutCommand } from './rollout.js';
import { startCommand } from './start.js';

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command('kairos')
    .description('Applied reinforcement learning: environments, agents, off-policy evaluation')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const envs = program
    .command('envs')
    .description('list registered environments with their spaces')
    .option('--json', 'print JSON')
    .action((opts) => setCode(listEnvsCommand(opts)));
  envs
    .command('check <id>')
    .description('run the env checker on a registered environment')
    .option('--options <json>', 'make() options as JSON, e.g. \'{"continuous":true}\'')
    .option('--seed <n>', 'seed for the checks', intOption('seed', 0), 0)
    .action((id, opts) => setCode(checkEnvCommand(id, opts)));

  program
    .command('rollout <id>')
    .description('run a policy for whole episodes and print returns and lengths')
    .addOption(new Option('--policy <name>', 'random | heuristic | constant:<JSON action>').default('random'))
    .option('--episodes <n>', 'number of episodes', intOption('episodes', 1), 10)
    .option('--seed <n>', 'seed of the first episode (episode i uses seed + i)', intOption('seed', 0), 0)
    .option('--options <json>', 'make() options as JSON, e.g. \'{"continuous":true}\'')
    .option('--max-episode-steps <n>', 'override the time limit', intOption('max-episode-steps', 1))
    .option('--json', 'print one JSON summary')
    .action((id, opts) => setCode(rolloutCommand(id, opts)));

  program
    .command('start')
    .description('what `npm start` runs: check every env and compare random vs heuristic control')
    .option('--episodes <n>', 'episodes per env and policy', intOption('episodes', 1), 10)
    .option('--seed <n>', 'first seed', intOption('seed', 0), 0)
    .action((opts) => setCode(startCommand(opts)));

  return program;
}

/** Runs the CLI on `argv` (as in process.argv) and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its one-line message (or the help text).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof KairosError) {
      console.error(`kairos: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
