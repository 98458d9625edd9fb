/**
 * WASM that cannot load falls back to CPU with exactly one warning line. Own file: a failed
 * WASM initialisation cannot be undone within a process (vitest runs each file in its own).
 */
import { describe, expect, it, vi } from 'vitest';
import { initTensorBackend, tf } from '../../src/tensor/index.js';

describe('WASM fallback', () => {
  it('falls back to cpu with a one-line warning when the .wasm files cannot be found', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const info = await initTensorBackend({ backend: 'wasm', wasmPaths: '/nonexistent-kairos-wasm/' });
      expect(info).toMatchObject({ backend: 'cpu', requested: 'wasm', fellBack: true });
      expect(tf.getBackend()).toBe('cpu');
      const lines = warn.mock.calls.map((args) => args.map(String).join(' '));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^kairos: WASM backend failed to initialise \(.+\); falling back to the CPU backend/);
      expect(lines[0]).not.toContain('\n');
      // Training still works on the fallback.
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2]));
      expect(Array.from(g.dataSync())).toEqual([2, 4]);
    } finally {
      warn.mockRestore();
    }
  });
});
