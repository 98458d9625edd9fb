/** Small statistics helpers for the OPE tests. */
export function meanAndSe(xs: number[]): { mean: number; se: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const varr = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(varr / n) };
}

export function meanAbsError(xs: number[], truth: number): number {
  return xs.reduce((a, b) => a + Math.abs(b - truth), 0) / xs.length;
}
