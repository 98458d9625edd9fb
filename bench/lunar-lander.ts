/**
 * `npm run bench:lunar`: LunarLander-v3 scores and speed through `make()` (TimeLimit
 * 1000 and OrderEnforcing included).
 *
 * Runs 100 seeded episodes (seeds 0..99) each with
 * - Gymnasium's heuristic controller, discrete (`LunarLander-v3`),
 * - the same controller, continuous (`LunarLanderContinuous-v3`),
 * - uniform random discrete actions (action stream seeded per episode),
 * and prints mean ± std return, mean length, success rate (return >= 200), env steps/s
 * (policy time included; it is negligible), wall time, and the process's peak RSS,
 * next to Gymnasium's figures. Forty untimed episodes on other seeds warm up the JIT
 * first. A last row measures raw throughput as `bench/envs.ts`
 * does: pre-sampled random actions for a fixed time, resets included.
 *
 * Peer figures (Gymnasium 1.x, pybox2d): the heuristic is known to average above 200
 * (the env's reward_threshold); random play averages about -150 to -250; Gymnasium runs
 * LunarLander at roughly 10-20 k steps/s on one CPU core (an approximate figure, it
 * depends on the machine and on how long episodes spend in contact).
 *
 * Options: --episodes=N (default 100), --seconds=S for the throughput row (default 3).
 */
import os from 'node:os';
import { Rng } from '../src/core/rng.js';
import '../src/envs/builtin.js';
import { box2dHeuristics, type LunarLanderAction } from '../src/envs/box2d/index.js';
import type { Env } from '../src/envs/env.js';
import { make } from '../src/envs/registry.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const episodes = Number(args.get('episodes') ?? 100);
const seconds = Number(args.get('seconds') ?? 3);

let peakRss = process.memoryUsage().rss;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

interface Row {
  name: string;
  mean: number;
  std: number;
  meanLength: number;
  success: number;
  stepsPerSecond: number;
  wallSeconds: number;
  peer: string;
}

type Policy = (obs: Float32Array, env: Env<Float32Array, LunarLanderAction>, rng: Rng) => LunarLanderAction;

function evaluate(name: string, id: string, policy: Policy, peer: string): Row {
  const env = make<Float32Array, LunarLanderAction>(id);
  const returns: number[] = [];
  let steps = 0;
  const start = performance.now();
  for (let seed = 0; seed < episodes; seed++) {
    // Random actions come from their own stream, seeded per episode, so each episode is
    // reproducible on its own.
    const rng = new Rng(10_000 + seed);
    let { observation } = env.reset({ seed });
    let ret = 0;
    for (;;) {
      const r = env.step(policy(observation, env, rng));
      ret += r.reward;
      steps++;
      observation = r.observation;
      if (r.terminated || r.truncated) break;
    }
    returns.push(ret);
    if (seed % 10 === 0) sampleRss();
  }
  const wallSeconds = (performance.now() - start) / 1000;
  sampleRss();
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
  return {
    name,
    mean,
    std,
    meanLength: steps / episodes,
    success: returns.filter((r) => r >= 200).length / episodes,
    stepsPerSecond: steps / wallSeconds,
    wallSeconds,
    peer,
  };
}

/** Raw env throughput as bench/envs.ts measures it: pre-sampled random actions, resets included. */
function throughput(): Row {
  const env = make<Float32Array, LunarLanderAction>('LunarLander-v3');
  const rng = new Rng(1);
  const pool = Array.from({ length: 4096 }, () => env.actionSpace.sample(rng));
  env.reset({ seed: 0 });
  let steps = 0;
  let k = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 1024; i++) {
      const r = env.step(pool[k++ & 4095]);
      if (r.terminated || r.truncated) env.reset();
    }
    steps += 1024;
  }
  const wallSeconds = (performance.now() - start) / 1000;
  sampleRss();
  return {
    name: `throughput, random (${seconds} s)`,
    mean: NaN,
    std: NaN,
    meanLength: NaN,
    success: NaN,
    stepsPerSecond: steps / wallSeconds,
    wallSeconds,
    peer: 'Gymnasium ~10-20 k steps/s (approx.); target >= 20 k',
  };
}

const heuristic = box2dHeuristics['LunarLander-v3'];
const heuristicContinuous = box2dHeuristics['LunarLanderContinuous-v3'];
const totalStart = performance.now();

// Warm-up (untimed, seeds 100000+): V8 needs a few thousand steps to tier the solver up
// to optimised code; without this the first timed row reports about half its steady
// speed. Each policy runs 20 episodes so every code path is compiled.
for (const [id, policy] of [
  ['LunarLander-v3', heuristic],
  ['LunarLanderContinuous-v3', heuristicContinuous],
] as const) {
  const env = make<Float32Array, LunarLanderAction>(id);
  const rng = new Rng(0);
  for (let seed = 100_000; seed < 100_020; seed++) {
    let { observation } = env.reset({ seed });
    for (;;) {
      // Alternate between the heuristic and random actions to warm both paths.
      const r = env.step(seed % 2 === 0 ? policy(observation) : env.actionSpace.sample(rng));
      observation = r.observation;
      if (r.terminated || r.truncated) break;
    }
  }
}

const rows: Row[] = [
  evaluate('heuristic, discrete', 'LunarLander-v3', (obs) => heuristic(obs), 'Gymnasium: > 200'),
  evaluate('heuristic, continuous', 'LunarLanderContinuous-v3', (obs) => heuristicContinuous(obs), 'Gymnasium: > 200'),
  evaluate('random, discrete', 'LunarLander-v3', (_obs, env, rng) => env.actionSpace.sample(rng), 'Gymnasium: about -150 to -250'),
  throughput(),
];

const fmt = (x: number, d = 1) => (Number.isNaN(x) ? '' : x.toFixed(d));
console.log(`LunarLander-v3 on planck: ${episodes} episodes per policy (seeds 0..${episodes - 1}), through make()`);
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, nproc ${os.availableParallelism()}, ${os.platform()} ${os.arch()}`);
console.log('');
console.log('| policy | return (mean ± std) | mean length | success (>= 200) | steps/s | wall (s) | peer |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ret = Number.isNaN(r.mean) ? '' : `${fmt(r.mean)} ± ${fmt(r.std)}`;
  const success = Number.isNaN(r.success) ? '' : `${fmt(100 * r.success, 0)} %`;
  console.log(
    `| ${r.name} | ${ret} | ${fmt(r.meanLength)} | ${success} | ${Math.round(r.stepsPerSecond).toLocaleString('en-US')} | ${fmt(r.wallSeconds, 2)} | ${r.peer} |`,
  );
}
console.log('');
console.log(`total wall time (warm-up included) ${fmt((performance.now() - totalStart) / 1000, 2)} s, peak RSS ${fmt(peakRss / 2 ** 20, 0)} MiB`);

const failures: string[] = [];
if (rows[0].mean < 200) failures.push(`discrete heuristic mean ${fmt(rows[0].mean)} < 200`);
if (rows[1].mean < 200) failures.push(`continuous heuristic mean ${fmt(rows[1].mean)} < 200`);
if (rows[2].mean > -100 || rows[2].mean < -300) failures.push(`random mean ${fmt(rows[2].mean)} outside [-300, -100]`);
if (failures.length > 0) {
  console.error(`FAIL: ${failures.join('; ')}`);
  process.exitCode = 1;
}
