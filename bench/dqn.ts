/**
 * DQN benchmarks (issue 3).
 *
 *   npx tsx bench/dqn.ts converge --env CartPole-v1 [--seeds 0,1,2,3,4] [--steps 50000] [--parallel 2] [--config '{...}']
 *   npx tsx bench/dqn.ts speed
 *
 * `converge` is `bench/converge.ts` with DQN as the algorithm (see there).
 * `speed` times the whole loop on the CartPole preset (256-256 net, batch 64) and one
 * gradient update of an 8-256-256-4 net at batch 128, next to the Stable-Baselines3 and
 * PyTorch figures quoted in the issue.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../src/agents/builtin.js';
import { DqnAgent } from '../src/agents/dqn/dqn.js';
import { DQN_PRESETS } from '../src/agents/dqn/presets.js';
import { Box, Discrete } from '../src/core/spaces.js';
import { initTensorBackend, isFusedFma, preferFusedFma } from '../src/tensor/index.js';
import { startRun } from '../src/train/run.js';
import { convergeCli } from './converge.js';

const PEER_LOOP = 'Stable-Baselines3 DQN, CartPole preset (256-256, batch 64), 2-core CPU: ~1,100 steps/s';
const PEER_UPDATE = 'PyTorch, one thread: ~3 ms per DQN update of an 8-256-256-4 net at batch 128';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function speed(): Promise<void> {
  preferFusedFma(); // as the CLI does; KAIROS_FMA=0 for the bit-identical path
  const info = await initTensorBackend();
  console.log(`backend ${info.backend}, fused multiply-add ${isFusedFma() ? 'on' : 'off'}; ${os.cpus().length} x ${os.cpus()[0]?.model}; node ${process.version}\n`);
  // 1. Whole loop on the CartPole preset (no evaluation, no checkpoints).
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-bench-dqn-speed-'));
  const steps = Number(arg('steps', '20000'));
  try {
    const s = await startRun(
      { algorithm: 'dqn', env: { id: 'CartPole-v1' }, totalSteps: steps, seed: 0, config: DQN_PRESETS['CartPole-v1'].config, evalEvery: 0, finalEvalEpisodes: 0, checkpointEvery: 0, checkpointReplay: false },
      { runDir },
    );
    console.log(`whole loop, CartPole preset (256-256, batch 64, 128 updates per 256 steps), ${steps} steps: ${s.sps.toFixed(0)} steps/s (${s.seconds.toFixed(1)} s)`);
    console.log(`  peer: ${PEER_LOOP}`);
  } finally {
    await fs.rm(runDir, { recursive: true, force: true });
  }
  // 2. One gradient update alone, and batch-1 acting.
  for (const [obsDim, A, B] of [
    [8, 4, 128],
    [4, 2, 64],
  ]) {
    const agent = new DqnAgent({
      observationSpace: new Box(-1, 1, [obsDim]),
      actionSpace: new Discrete(A),
      config: { learningStarts: 1e9, batchSize: B, bufferSize: 10_000, network: { hiddenSizes: [256, 256] } },
      seed: 0,
    });
    const obs = new Float32Array(obsDim).map((_, i) => Math.sin(i));
    for (let k = 0; k < 2000; k++) {
      agent.observe(
        {
          n: 1,
          obs,
          actions: Int32Array.from([k % A]),
          probs: Float64Array.from([1]),
          rewards: Float64Array.from([1]),
          nextObs: obs,
          terminated: Uint8Array.from([0]),
          truncated: Uint8Array.from([0]),
          nextMasks: null,
        },
        { step: k + 1, totalSteps: 1e9 },
      );
    }
    const update = (agent as unknown as { update(): unknown }).update.bind(agent);
    for (let i = 0; i < 20; i++) update();
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      update();
      times.push(performance.now() - t);
    }
    const acts: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      agent.act(obs, 1, { deterministic: true });
      acts.push(performance.now() - t);
    }
    console.log(`DQN update ${obsDim}-256-256-${A}, batch ${B} (online fwd+bwd, target fwd, Adam): median ${median(times).toFixed(2)} ms | act batch 1: median ${(median(acts) * 1000).toFixed(0)} µs`);
    agent.dispose();
  }
  console.log(`  peer: ${PEER_UPDATE}`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

const mode = process.argv[2];
if (mode === 'converge') await convergeCli(process.argv, 'dqn');
else if (mode === 'speed') await speed();
else {
  console.error('usage: npx tsx bench/dqn.ts converge --env <id> [--seeds 0,1,2,3,4] [--steps N] [--parallel 2] | speed');
  process.exit(2);
}
