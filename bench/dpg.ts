/**
 * DDPG / TD3 / SAC benchmarks (issue 5).
 *
 *   npx tsx bench/dpg.ts converge --algo td3 --env Pendulum-v1 [--seeds 0,1,2,3,4] [--steps 20000] [--parallel 2] [--eval-every 5000] [--config '{...}']
 *   npx tsx bench/dpg.ts speed [--steps 3000]
 *
 * `converge` is `bench/converge.ts` with TD3 as the default algorithm and issue 5's thresholds
 * (Pendulum-v1 −200, LunarLanderContinuous-v3 200, MountainCarContinuous-v0 90): one run per
 * seed with the preset, periodic 100-episode evaluations, the best policy re-evaluated on fresh
 * seeds. `speed` times the whole training loop (one gradient update per env step
 * after 1000 warm-up steps) and one gradient update alone, for each algorithm at its Pendulum
 * preset's network size (TD3/DDPG 400-300, SAC 256-256, batch 256), and TD3's update at its
 * LunarLanderContinuous preset (batch 100).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../src/agents/builtin.js';
import type { StepBatch } from '../src/agents/agent.js';
import { DdpgAgent } from '../src/agents/dpg/ddpg.js';
import { SacAgent } from '../src/agents/dpg/sac.js';
import { Td3Agent } from '../src/agents/dpg/td3.js';
import { Box } from '../src/core/spaces.js';
import { initTensorBackend, isFusedFma, preferFusedFma } from '../src/tensor/index.js';
import { startRun } from '../src/train/run.js';
import { arg, convergeCli } from './converge.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function speed(): Promise<void> {
  preferFusedFma(); // as the CLI does; KAIROS_FMA=0 for the bit-identical path
  const info = await initTensorBackend();
  console.log(`backend ${info.backend}, fused multiply-add ${isFusedFma() ? 'on' : 'off'}; ${os.cpus().length} x ${os.cpus()[0]?.model}; node ${process.version}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  const steps = Number(arg(process.argv, 'steps', '3000'));
  const warmup = 1000;
  const nets: Record<string, number[]> = { ddpg: [400, 300], td3: [400, 300], sac: [256, 256] };
  // 1. Whole loop on Pendulum-v1: 1000 uniform warm-up steps, then one update per env step.
  for (const algo of ['td3', 'sac', 'ddpg']) {
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), `kairos-bench-${algo}-speed-`));
    const rates: number[] = [];
    try {
      const s = await startRun(
        {
          algorithm: algo,
          env: { id: 'Pendulum-v1' },
          totalSteps: steps,
          seed: 0,
          config: { learningStarts: warmup, batchSize: 256, network: { hiddenSizes: nets[algo] } },
          evalEvery: 0,
          finalEvalEpisodes: 0,
          checkpointEvery: 0,
          checkpointReplay: false,
          logEvery: 500,
        },
        { runDir, callbacks: [{ onLog: (r) => void (r.step > warmup + 500 && rates.push(r.sps)) }] },
      );
      console.log(`${algo} whole loop, Pendulum-v1, ${nets[algo].join('-')} batch 256, 1 update per step after ${warmup} warm-up steps: ${median(rates).toFixed(1)} steps/s while training (${steps} steps in ${s.seconds.toFixed(1)} s)`);
    } finally {
      await fs.rm(runDir, { recursive: true, force: true });
    }
  }
  // 2. One gradient update alone and batch-1 acting: Pendulum's shapes (3-dim observations,
  // 1-dim actions) at batch 256, then TD3 at its LunarLanderContinuous preset (8 and 2, batch 100).
  console.log('');
  const cases = [
    { algo: 'td3', Ctor: Td3Agent, obsDim: 3, actDim: 1, batch: 256 },
    { algo: 'sac', Ctor: SacAgent, obsDim: 3, actDim: 1, batch: 256 },
    { algo: 'ddpg', Ctor: DdpgAgent, obsDim: 3, actDim: 1, batch: 256 },
    { algo: 'td3', Ctor: Td3Agent, obsDim: 8, actDim: 2, batch: 100 },
  ] as const;
  for (const { algo, Ctor, obsDim, actDim, batch } of cases) {
    const agent = new Ctor({ observationSpace: new Box(-8, 8, [obsDim]), actionSpace: new Box(-1, 1, [actDim]), config: { learningStarts: 1e9, batchSize: batch, bufferSize: 10_000, network: { hiddenSizes: nets[algo] } }, seed: 0 });
    const state = (k: number) => Float32Array.from({ length: obsDim }, (_, i) => Math.sin(k + i));
    const obs = state(0.5);
    for (let k = 0; k < 1000; k++) {
      const batch: StepBatch = {
        n: 1,
        obs: state(k),
        actions: Float32Array.from({ length: actDim }, (_, i) => Math.sin(3 * k + i)),
        probs: Float64Array.from([1]),
        rewards: Float64Array.from([-Math.abs(Math.sin(k))]),
        nextObs: state(k + 1),
        terminated: Uint8Array.from([0]),
        truncated: Uint8Array.from([0]),
        nextMasks: null,
      };
      agent.observe(batch, { step: k + 1, totalSteps: 1e9 });
    }
    for (let i = 0; i < 10; i++) agent.update();
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      agent.update();
      times.push(performance.now() - t);
    }
    const acts: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      agent.act(obs, 1, { deterministic: true });
      acts.push(performance.now() - t);
    }
    const what = algo === 'sac' ? 'twin critics, actor, temperature, target critics' : algo === 'td3' ? 'twin critics; actor and targets every 2nd update' : 'critic, actor, targets';
    console.log(`${algo} update ${nets[algo].join('-')}, ${obsDim}-dim observations, ${actDim}-dim actions, batch ${batch} (${what}): median ${median(times).toFixed(1)} ms, p90 ${[...times].sort((a, b) => a - b)[89].toFixed(1)} ms | act batch 1: median ${(median(acts) * 1000).toFixed(0)} µs`);
    agent.dispose();
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

const mode = process.argv[2];
if (mode === 'converge') await convergeCli(process.argv, 'td3');
else if (mode === 'speed') await speed();
else {
  console.error('usage: npx tsx bench/dpg.ts converge --algo td3|sac|ddpg --env <id> [--seeds 0,1,2,3,4] [--steps N] [--parallel 2] [--eval-every N] [--config JSON] [--stop-at-threshold] [--runs-dir DIR] [--budget N] | speed [--steps N]');
  process.exit(2);
}
