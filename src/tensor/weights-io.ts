/**
 * Node-only file I/O for weights and optimiser state, in the format of `serialize.ts`:
 * `<dir>/<name>.weights.json` (manifest) and `<dir>/<name>.weights.bin` (float32 data).
 *
 * Writes are atomic per file (temp file in the same directory, fsync, rename, fsync the
 * directory), and the data file is written before the manifest: the manifest is the commit
 * point and holds the data's length and CRC-32, so a crash between the two renames leaves a
 * pair that fails loudly on load rather than loading mixed weights.
 *
 * `node:fs` is imported lazily inside the functions so a browser bundle that includes
 * `kairos/tensor` does not break; calling these in a browser throws.
 *
 * @example
 * await saveWeights('runs/dqn-1/checkpoints', 'q', q.getWeights());
 * q.setWeights(await loadWeights('runs/dqn-1/checkpoints', 'q'));
 */
import { KairosError, ValidationError } from '../core/errors.js';
import type { OptimizerState } from './optim.js';
import {
  decodeOptimizerState,
  decodeWeights,
  encodeOptimizerState,
  encodeWeights,
  type NamedWeights,
  type WeightShapes,
  type WeightsManifest,
} from './serialize.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
let tmpCounter = 0;

async function nodeModules() {
  try {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    return { fs, path };
  } catch {
    throw new KairosError('weights-io: saving and loading files needs Node.js (node:fs)', 'unsupported_platform');
  }
}

function checkName(name: string, context: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ValidationError('name', 'a file-name-safe name (letters, digits, ".", "_", "-"; no path separators)', name, context);
  }
}

/** Paths of the two files for `name` in `dir`. */
export async function weightsPaths(dir: string, name: string): Promise<{ manifest: string; data: string }> {
  const { path } = await nodeModules();
  return { manifest: path.join(dir, `${name}.weights.json`), data: path.join(dir, `${name}.weights.bin`) };
}

/** Whether `file` exists (any kind of entry). */
export async function fileExists(file: string): Promise<boolean> {
  const { fs } = await nodeModules();
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Writes `contents` to `file` atomically: a reader sees the old file or the new one, never a
 * partial one, and after return the new contents survive a power loss (POSIX).
 */
export async function writeFileAtomic(file: string, contents: Uint8Array | string): Promise<void> {
  const { fs, path } = await nodeModules();
  const dir = path.dirname(file);
  // Same directory, so rename stays on one filesystem (atomic); pid + counter avoid clashes
  // between concurrent writers.
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.${tmpCounter++}.tmp`);
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  // fsync the directory so the rename itself is durable; not possible on Windows, where
  // opening a directory fails, so best effort.
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* directory fsync unsupported on this platform */
  }
}

async function writePair(dir: string, name: string, encoded: { manifest: WeightsManifest; data: ArrayBuffer }): Promise<void> {
  const { fs } = await nodeModules();
  await fs.mkdir(dir, { recursive: true });
  const paths = await weightsPaths(dir, name);
  await writeFileAtomic(paths.data, new Uint8Array(encoded.data));
  await writeFileAtomic(paths.manifest, `${JSON.stringify(encoded.manifest, null, 1)}\n`);
}

async function readPair(dir: string, name: string): Promise<{ manifest: unknown; data: Uint8Array; path: string }> {
  const { fs } = await nodeModules();
  const paths = await weightsPaths(dir, name);
  let text: string;
  let data: Uint8Array;
  try {
    [text, data] = await Promise.all([fs.readFile(paths.manifest, 'utf8'), fs.readFile(paths.data)]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new KairosError(`loadWeights: no saved weights "${name}" in ${dir} (missing ${(err as NodeJS.ErrnoException).path})`, 'not_found');
    }
    throw err;
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (err) {
    throw new KairosError(`loadWeights: ${paths.manifest} is not valid JSON (${(err as Error).message})`, 'invalid_manifest');
  }
  return { manifest, data, path: paths.manifest };
}

/**
 * Saves named weights (e.g. `net.getWeights()`) as `<name>.weights.json` + `.bin` in `dir`
 * (created if missing). `metadata` is any JSON stored in the manifest.
 *
 * @example
 * await saveWeights(dir, 'policy', policy.getWeights(), { step: 50_000 });
 */
export async function saveWeights(dir: string, name: string, weights: NamedWeights, metadata?: Record<string, unknown>): Promise<void> {
  checkName(name, 'saveWeights');
  await writePair(dir, name, encodeWeights(weights, metadata));
}

/**
 * Loads weights saved by {@link saveWeights}. With `expected` (e.g. `net.params.shapes()`),
 * names and shapes are checked and the error names the first weight that differs.
 *
 * @example
 * net.setWeights(await loadWeights(dir, 'policy', net.params.shapes()));
 */
export async function loadWeights(dir: string, name: string, expected?: WeightShapes): Promise<NamedWeights> {
  return (await loadWeightsWithMetadata(dir, name, expected)).weights;
}

/** Like {@link loadWeights}, also returning the manifest's metadata. */
export async function loadWeightsWithMetadata(
  dir: string,
  name: string,
  expected?: WeightShapes,
): Promise<{ weights: NamedWeights; metadata: Record<string, unknown> }> {
  checkName(name, 'loadWeights');
  const { manifest, data } = await readPair(dir, name);
  const weights = decodeWeights(manifest, data, expected);
  return { weights, metadata: (manifest as WeightsManifest).metadata ?? {} };
}

/**
 * Saves optimiser state (from `getOptimizerState`) in the same format.
 *
 * @example
 * await saveOptimizerState(dir, 'optimizer', getOptimizerState(opt, net.namedVariables()));
 */
export async function saveOptimizerState(dir: string, name: string, state: OptimizerState): Promise<void> {
  checkName(name, 'saveOptimizerState');
  await writePair(dir, name, encodeOptimizerState(state));
}

/** Loads optimiser state saved by {@link saveOptimizerState}; pass it to `setOptimizerState`. */
export async function loadOptimizerState(dir: string, name: string): Promise<OptimizerState> {
  checkName(name, 'loadOptimizerState');
  const { manifest, data } = await readPair(dir, name);
  return decodeOptimizerState(manifest, data);
}
