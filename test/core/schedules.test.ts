import { describe, expect, it } from 'vitest';
import { parseSchedule, valueAt } from '../../src/core/schedules.js';

describe('schedules', () => {
  it('linear follows SB3: start → end over the fraction, then flat', () => {
    const s = parseSchedule({ type: 'linear', start: 1, end: 0.05, fraction: 0.1 }, 'epsilon');
    expect(valueAt(s, 0)).toBe(1);
    expect(valueAt(s, 0.05)).toBeCloseTo(0.525, 12);
    expect(valueAt(s, 0.1)).toBeCloseTo(0.05, 12);
    expect(valueAt(s, 0.7)).toBeCloseTo(0.05, 12);
  });

  it('exponential interpolates geometrically', () => {
    const s = parseSchedule({ type: 'exponential', start: 1, end: 0.01, fraction: 0.5 }, 'epsilon');
    expect(valueAt(s, 0.25)).toBeCloseTo(0.1, 12);
    expect(valueAt(s, 0.5)).toBeCloseTo(0.01, 12);
  });

  it('numbers are constants; bad schedules name the field', () => {
    expect(valueAt(parseSchedule(3e-4, 'learningRate'), 0.9)).toBe(3e-4);
    expect(() => parseSchedule({ type: 'linear', start: 1 }, 'epsilon')).toThrow(/epsilon.*end/);
    expect(() => parseSchedule({ type: 'exponential', start: 1, end: 0 }, 'epsilon')).toThrow(/end/);
  });
});
