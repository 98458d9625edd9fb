import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { serveCommand } from '../../src/cli/serve.js';
import { LogStore } from '../../src/data/index.js';
import { tempDir, trainTinyRun } from './helpers.js';

let dir: string;
let runDir: string;
let out: string[] = [];
let err: string[] = [];

beforeAll(async () => {
  dir = await tempDir('kairos-serve-cli-');
  runDir = await trainTinyRun(dir);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

async function countRows(file: string): Promise<number> {
  const store = await LogStore.open(file, { readOnly: true });
  try {
    return await store.count();
  } finally {
    store.close();
  }
}

const act = (url: string, state: number[]) =>
  fetch(`${url}/act`, { method: 'POST', body: JSON.stringify({ state }) }).then((r) => r.json() as Promise<{ action: number; propensity: number }>);

describe('kairos serve', () => {
  it('prints the URL and a curl example, serves, and logs every decision when stopped', async () => {
    const log = path.join(dir, 'in-process.duckdb');
    const opts = { log, host: '127.0.0.1', port: 0, seed: 0, flushInterval: 1000 };
    const code = await serveCommand(runDir, opts, {
      untilStopped: async (server) => {
        for (let i = 0; i < 3; i++) expect((await act(server.url, [0, 0, 0, 0])).propensity).toBeGreaterThan(0);
      },
    });
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/model [0-9a-f]{12}@400\), epsilon-greedy \(ε = 0\.05\), seed 0/);
    expect(text).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+, logging decisions to .*in-process\.duckdb/);
    expect(text).toMatch(/try: curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/act -H 'content-type: application\/json' -d '\{"state":\[0,0,0,0\]\}'/);
    expect(text).toMatch(/stopped; 3 decisions served, 3 logged/);
    expect(await countRows(log)).toBe(3);
  });

  it('rejects bad options, naming them', async () => {
    expect(await run(['node', 'kairos', 'serve', runDir, '--epsilon', 'abc'])).toBe(1);
    expect(err.join('\n')).toMatch(/--epsilon: expected a number, received "abc"/);
    err = [];
    expect(await run(['node', 'kairos', 'serve', runDir, '--epsilon', '1.5', '--log', path.join(dir, 'x.duckdb')])).toBe(1);
    expect(err.join('\n')).toMatch(/epsilon: expected <= 1, received 1\.5/);
    err = [];
    expect(await run(['node', 'kairos', 'serve', path.join(dir, 'nope')])).toBe(1);
    expect(err.join('\n')).toMatch(/not a Kairos run folder/);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await run(['node', 'kairos', 'serve', runDir, '--policy-mode', 'random'])).toBe(2);
  });

  it('a real process: SIGTERM stops it with exit code 0 and no decision lost', async () => {
    const log = path.join(dir, 'process.duckdb');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', "const { run } = await import('./src/cli/main.ts'); process.exitCode = await run(process.argv);",
        'kairos', 'serve', runDir, '--port', '0', '--log', log, '--json', '--flush-interval', '60000'],
      { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const stderr: string[] = [];
    child.stderr.on('data', (b) => stderr.push(String(b)));
    const lines = createInterface({ input: child.stdout });
    const events: any[] = [];
    const listening = new Promise<any>((resolve, reject) => {
      lines.on('line', (line) => {
        const e = JSON.parse(line);
        events.push(e);
        if (e.event === 'listening') resolve(e);
      });
      child.once('exit', (c) => reject(new Error(`exited with ${c} before listening: ${stderr.join('')}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const { url } = await listening;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => act(url, [i / 20, 0, 0, 0])));
    expect(answers.every((a) => a.action === 0 || a.action === 1)).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(events.at(-1)).toMatchObject({ event: 'stopped', decisionsServed: 20, decisionsLogged: 20 });
    expect(await countRows(log)).toBe(20); // the flush interval never came: committed at shutdown
  });
});
