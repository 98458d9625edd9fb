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
import { registerQuickstartCommand } from './quickstart.js';
import { registerDataCommands } from './data.js';
import { registerOpeCommand } from './ope.js';
import { registerSimulateCommand } from './simulate.js';
import { registerTrainOfflineCommand } from './train-offline.js';
import { registerServeCommand } from './serve.js';
import { evalCommand } from './eval.js';
import { trainCommand } from './train.js';
import { preferFusedFma } from '../tensor/fused.js';

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
    .command('train [algorithm]')
    .description('train an agent on an env; writes a run folder (config, metrics, checkpoints, policy)')
    .option('--env <id>', 'registered env id, e.g. CartPole-v1')
    .option('--options <json>', 'make() options as JSON')
    .option('--config <file>', 'JSON file with the algorithm config (merged over the preset)')
    .option('--no-preset', 'ignore the tuned preset for this env')
    .option('--seed <n>', 'seed of everything random in the run', intOption('seed', 0), 0)
    .option('--steps <n>', 'env steps in all (default: the preset\'s, else 100000)', intOption('steps', 1))
    .option('--num-envs <n>', 'envs stepped together', intOption('num-envs', 1))
    .option('--run-dir <dir>', 'run folder (default runs/<algorithm>-<env>-s<seed>-<time>)')
    .option('--eval-every <n>', 'evaluate every n env steps (0 = only at the end)', intOption('eval-every', 0))
    .option('--eval-episodes <n>', 'episodes per evaluation', intOption('eval-episodes', 1))
    .option('--final-eval-episodes <n>', 'episodes of the final evaluation', intOption('final-eval-episodes', 0))
    .option('--checkpoint-every <n>', 'checkpoint every n env steps (0 = only at the end)', intOption('checkpoint-every', 0))
    .option('--resume <run>', 'continue an interrupted run from its newest checkpoint')
    .option('--overwrite', 'replace an existing run in --run-dir')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print one JSON summary')
    .action(async (algorithm, opts) => setCode(await trainCommand(algorithm, opts)));

  program
    .command('eval <run>')
    .description("evaluate a run's policy for whole episodes")
    .option('--episodes <n>', 'number of episodes', intOption('episodes', 1), 100)
    .option('--seed <n>', "seed of the first episode (default: the run's evalSeed)", intOption('seed', 0))
    .option('--stochastic', 'sample actions with exploration instead of greedy')
    .option('--best', "the policy of the run's best evaluation (model/best.kst) instead of the final one")
    .option('--env <id>', "evaluate in this env instead of the run's (e.g. an offline run trained from a log)")
    .option('--options <json>', 'make() options of --env as JSON')
    .option('--json', 'print one JSON summary')
    .action(async (run, opts) => setCode(await evalCommand(run, opts)));

  program
    .command('tour')
    .description('check every registered env and compare random vs heuristic control')
    .option('--episodes <n>', 'episodes per env and policy', intOption('episodes', 1), 10)
    .option('--seed <n>', 'first seed', intOption('seed', 0), 0)
    .action((opts) => setCode(startCommand(opts)));

  registerDataCommands(program, setCode);
  registerOpeCommand(program, setCode);
  registerSimulateCommand(program, setCode);
  registerTrainOfflineCommand(program, setCode);
  registerServeCommand(program, setCode);
  registerQuickstartCommand(program, setCode);

  return program;
}

/** Runs the CLI on `argv` (as in process.argv) and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  // Before any kernel is compiled: the CLI trades bit-identity with tfjs ops for ~25% speed.
  preferFusedFma();
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
