/**
 * Backend selection: option > KAIROS_BACKEND > 'wasm'; invalid values give an error naming
 * the option or variable, the value and the allowed values; initialisation is idempotent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  initTensorBackend,
  isFastMatMulGrad,
  resolveTensorBackendOptions,
  tensorBackendInfo,
  tf,
} from '../../src/tensor/index.js';

const saved = { backend: process.env.KAIROS_BACKEND, fast: process.env.KAIROS_FAST_MATMUL_GRAD };
afterEach(() => {
  for (const [key, value] of [
    ['KAIROS_BACKEND', saved.backend],
    ['KAIROS_FAST_MATMUL_GRAD', saved.fast],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('backend selection', () => {
  it('a bad KAIROS_BACKEND names the variable, the value and the allowed values', async () => {
    process.env.KAIROS_BACKEND = 'webgpu';
    const err = await initTensorBackend().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toBe(
      'initTensorBackend: KAIROS_BACKEND: expected one of "wasm", "cpu", received "webgpu"',
    );
    expect((err as ValidationError).path).toBe('KAIROS_BACKEND');
  });

  it('a bad option names the field', async () => {
    await expect(initTensorBackend({ backend: 'gpu' as 'cpu' })).rejects.toThrow(
      'initTensorBackend: backend: expected one of "wasm", "cpu", received "gpu"',
    );
  });

  it('a bad KAIROS_FAST_MATMUL_GRAD names the variable', () => {
    process.env.KAIROS_FAST_MATMUL_GRAD = 'yes please';
    expect(() => resolveTensorBackendOptions()).toThrow(/KAIROS_FAST_MATMUL_GRAD: expected one of "0", "1", "true", "false", received "yes please"/);
  });

  it('defaults to wasm with the fast gradient; the option beats the environment', () => {
    delete process.env.KAIROS_BACKEND;
    delete process.env.KAIROS_FAST_MATMUL_GRAD;
    expect(resolveTensorBackendOptions()).toEqual({ backend: 'wasm', fastMatMulGrad: true });
    process.env.KAIROS_BACKEND = 'cpu';
    process.env.KAIROS_FAST_MATMUL_GRAD = '0';
    expect(resolveTensorBackendOptions()).toEqual({ backend: 'cpu', fastMatMulGrad: false });
    expect(resolveTensorBackendOptions({ backend: 'wasm', fastMatMulGrad: true })).toEqual({ backend: 'wasm', fastMatMulGrad: true });
  });

  it('KAIROS_BACKEND=cpu and KAIROS_FAST_MATMUL_GRAD=0 take effect', async () => {
    process.env.KAIROS_BACKEND = 'cpu';
    process.env.KAIROS_FAST_MATMUL_GRAD = '0';
    const info = await initTensorBackend();
    expect(info).toMatchObject({ backend: 'cpu', requested: 'cpu', fellBack: false, fastMatMulGrad: false });
    expect(tf.getBackend()).toBe('cpu');
    expect(isFastMatMulGrad()).toBe(false);
  });

  it('is idempotent and switches when asked for another backend', async () => {
    const a = await initTensorBackend({ backend: 'wasm' });
    const b = await initTensorBackend({ backend: 'wasm' });
    expect(b).toBe(a);
    expect(tf.getBackend()).toBe('wasm');
    expect(isFastMatMulGrad()).toBe(true);
    const [c, d] = await Promise.all([initTensorBackend({ backend: 'cpu' }), initTensorBackend({ backend: 'cpu' })]);
    expect(c).toBe(d);
    expect(tf.getBackend()).toBe('cpu');
    expect(tensorBackendInfo()).toEqual(c);
    await initTensorBackend({ backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
  });
});
