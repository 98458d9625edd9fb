/**
 * Smoothing kernels for continuous-action OPE: symmetric densities on R with K(u) ≥ 0,
 * ∫K = 1 (OBP's `kernel_functions`; Kallus & Zhou 2018 allow any such second-order kernel).
 *
 *   gaussian      K(u) = exp(−u²/2) / √(2π)                  ∫u²K = 1
 *   epanechnikov  K(u) = ¾ (1 − u²)         on |u| ≤ 1       ∫u²K = 1/5
 *   triangular    K(u) = 1 − |u|            on |u| ≤ 1       ∫u²K = 1/6
 *   cosine        K(u) = (π/4) cos(πu/2)    on |u| ≤ 1       ∫u²K = 1 − 8/π²
 *
 * The second moment sets the leading bias of a kernel estimate: smoothing a reward curve q
 * with K_h(u) = K(u/h)/h shifts it by ½ h² q'' ∫u²K + O(h⁴).
 *
 * @example
 * kernelValue('epanechnikov', 0.5); // 0.5625
 * productKernel('gaussian', [0.1, -0.2], [0.5, 0.5]);
 */
import { ValidationError } from '../../core/errors.js';

export const KERNELS = ['gaussian', 'epanechnikov', 'triangular', 'cosine'] as const;
export type KernelKind = (typeof KERNELS)[number];

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** K(u) for one of the {@link KERNELS}. */
export function kernelValue(kind: KernelKind, u: number): number {
  switch (kind) {
    case 'gaussian':
      return INV_SQRT_2PI * Math.exp(-0.5 * u * u);
    case 'epanechnikov':
      return Math.abs(u) <= 1 ? 0.75 * (1 - u * u) : 0;
    case 'triangular':
      return Math.abs(u) <= 1 ? 1 - Math.abs(u) : 0;
    case 'cosine':
      return Math.abs(u) <= 1 ? (Math.PI / 4) * Math.cos((Math.PI / 2) * u) : 0;
  }
}

/** ∫ u² K(u) du, the kernel's variance (see the module comment). */
export function kernelSecondMoment(kind: KernelKind): number {
  switch (kind) {
    case 'gaussian':
      return 1;
    case 'epanechnikov':
      return 1 / 5;
    case 'triangular':
      return 1 / 6;
    case 'cosine':
      return 1 - 8 / (Math.PI * Math.PI);
  }
}

/** Per-dimension bandwidths of length d from a scalar or a list; throws unless all are finite and > 0. */
export function resolveBandwidth(bandwidth: number | readonly number[], d: number, context: string): Float64Array {
  const h = typeof bandwidth === 'number' ? new Float64Array(d).fill(bandwidth) : Float64Array.from(bandwidth);
  if (h.length !== d) throw new ValidationError('bandwidth.length', `${d} (one bandwidth per action dimension)`, h.length, context);
  for (let j = 0; j < d; j++) {
    if (!(h[j] > 0 && Number.isFinite(h[j]))) throw new ValidationError(typeof bandwidth === 'number' ? 'bandwidth' : `bandwidth[${j}]`, 'a finite bandwidth > 0', h[j], context);
  }
  return h;
}

/** Product kernel K_h(u) = Π_j K(u_j / h_j) / h_j over the d coordinates of u. */
export function productKernel(kind: KernelKind, u: ArrayLike<number>, h: ArrayLike<number>): number {
  let v = 1;
  for (let j = 0; j < u.length && v > 0; j++) v *= kernelValue(kind, u[j] / h[j]) / h[j];
  return v;
}
