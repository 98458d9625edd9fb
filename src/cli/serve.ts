/**
 * `kairos serve <run>`: the HTTP decision service for a run folder's policy, until SIGINT or
 * SIGTERM (then it stops accepting, commits every decision, closes the log and exits 0).
 * The serve library (and DuckDB's native module) is loaded only when this command runs.
 *
 * @example
 * kairos serve runs/cartpole --log decisions.duckdb --port 8080 --policy-mode softmax --temperature 0.5 --seed 1
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { KairosError } from '../core/errors.js';
import type { DecisionServer } from '../serve/index.js';
import { intOption, parseOptions } from './options.js';

const loadServe = () => import('../serve/index.js');

const POLICY_MODES = ['epsilon-greedy', 'softmax', 'exploring', 'greedy'] as const;

const ServeOptionsSchema = z
  .object({
    log: z.string().min(1),
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    policyMode: z.enum(POLICY_MODES).optional(),
    temperature: z.number().positive().optional(),
    epsilon: z.number().min(0).max(1).optional(),
    seed: z.number().int().nonnegative(),
    flushInterval: z.number().int().nonnegative(),
    json: z.boolean().optional(),
  })
  .strict();

/** Number option parser for commander: `--temperature 0.5`. */
function numberOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new KairosError(`--${name}: expected a number, received ${JSON.stringify(value)}`, 'invalid_option');
    return n;
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Resolves on the first SIGINT or SIGTERM; a second one while the service shuts down quits at
 * once (code 130). `dispose` removes the handlers.
 */
function untilSignal(): { stopped: Promise<void>; dispose(): void } {
  const force = () => {
    console.error('kairos serve: second signal, quitting without waiting for the log to close');
    process.exit(130);
  };
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return {
    stopped,
    dispose: () => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.off(sig, stop);
        process.off(sig, force);
      }
    },
  };
}

/** Hooks for tests: how the command waits before shutting down (default: SIGINT/SIGTERM). */
export interface ServeCommandIo {
  untilStopped?: (server: DecisionServer) => Promise<void>;
}

/**
 * Runs `kairos serve` with parsed options; resolves with the exit code once the service has
 * shut down (on SIGINT/SIGTERM, or when `io.untilStopped` resolves).
 *
 * @example
 * await serveCommand('runs/cp', { log: 'd.duckdb', host: '127.0.0.1', port: 0, seed: 0, flushInterval: 1000 },
 *   { untilStopped: async (server) => { await fetch(`${server.url}/health`); } });
 */
export async function serveCommand(runDir: string, raw: Record<string, unknown>, io: ServeCommandIo = {}): Promise<number> {
  const opts = parseOptions(ServeOptionsSchema, raw, 'serve');
  const { startDecisionServer } = await loadServe();
  const server = await startDecisionServer({
    runDir,
    logPath: opts.log,
    host: opts.host,
    port: opts.port,
    seed: opts.seed,
    flushIntervalMs: opts.flushInterval,
    ...(opts.policyMode ? { mode: opts.policyMode } : {}),
    ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
    ...(opts.epsilon !== undefined ? { epsilon: opts.epsilon } : {}),
  });
  const signals = io.untilStopped ? null : untilSignal();
  try {
    const example = JSON.stringify({ state: new Array(server.obsDim).fill(0) });
    const curl = `curl -s -X POST ${server.url}/act -H 'content-type: application/json' -d '${example}'`;
    if (opts.json) {
      console.log(JSON.stringify({ event: 'listening', url: server.url, modelVersion: server.modelVersion, policy: server.policy, log: server.logPath, sessionId: server.sessionId, curl }));
    } else {
      const health = server.stats();
      console.log(`kairos serve: ${runDir} (model ${health.modelVersion}), ${server.policy}, seed ${opts.seed}`);
      console.log(`listening on ${server.url}, logging decisions to ${server.logPath} (Ctrl-C to stop)`);
      console.log(`try: ${curl}`);
    }
    if (!LOOPBACK.has(opts.host)) {
      console.error(`kairos serve: warning: listening on ${opts.host}, beyond this machine, with no authentication; put an authenticating proxy in front`);
    }
    await (io.untilStopped ? io.untilStopped(server) : signals?.stopped);
  } finally {
    try {
      await server.close();
    } finally {
      signals?.dispose();
    }
  }
  const s = server.stats();
  if (opts.json) {
    console.log(JSON.stringify({ event: 'stopped', decisionsServed: s.decisionsServed, decisionsLogged: s.decisionsLogged, rewardsApplied: s.rewardsApplied, log: server.logPath }));
  } else {
    console.log(`kairos serve: stopped; ${s.decisionsServed} decisions served, ${s.decisionsLogged} logged to ${server.logPath}, ${s.rewardsApplied} rewards applied`);
  }
  return 0;
}

/**
 * Adds `kairos serve <run>` to the program.
 *
 * @example
 * registerServeCommand(program, (code) => (exitCode = code));
 */
export function registerServeCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('serve <run>')
    .description("serve a run's policy over HTTP (POST /act, POST /reward, GET /health, GET /metrics), logging every decision with its propensity")
    .option('--log <file>', 'DuckDB decision log (created if missing)', 'decisions.duckdb')
    .option('--host <host>', 'address to bind (loopback by default; there is no authentication)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free one)', intOption('port', 0), 8080)
    .addOption(new Option('--policy-mode <mode>', 'how actions are drawn (default: epsilon-greedy for value-based agents, exploring for policy-gradient ones)').choices([...POLICY_MODES]))
    .option('--temperature <t>', 'softmax temperature (default 1)', numberOption('temperature'))
    .option('--epsilon <e>', 'epsilon of epsilon-greedy (default 0.05)', numberOption('epsilon'))
    .option('--seed <n>', 'seed of the action draws', intOption('seed', 0), 0)
    .option('--flush-interval <ms>', 'commit decisions to the log at least this often', intOption('flush-interval', 0), 1000)
    .option('--json', 'print JSON lines (listening, stopped) instead of text')
    .action(async (run, opts) => setCode(await serveCommand(run, opts)));
}
