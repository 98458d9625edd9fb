/**
 * Schedules: a value as a function of training progress (epsilon, learning rate, PER's β,
 * entropy coefficients). Progress is the fraction of the run done, in [0, 1], as SB3's
 * `1 - progress_remaining`; a schedule is plain data (JSON-safe) so it sits in configs.
 *
 * @example
 * const eps = parseSchedule({ type: 'linear', start: 1, end: 0.05, fraction: 0.1 }, 'epsilon');
 * valueAt(eps, 0.05); // 0.525: halfway through the first 10% of training
 */
import { z } from 'zod';
import { parseWith } from './errors.js';

const ScheduleObjectSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), value: z.number() }).strict(),
  z
    .object({
      type: z.literal('linear'),
      start: z.number(),
      end: z.number(),
      /** Fraction of the run over which the value moves from start to end, then stays at end. */
      fraction: z.number().gt(0).max(1).default(1),
    })
    .strict(),
  z
    .object({
      type: z.literal('exponential'),
      start: z.number(),
      end: z.number(),
      /** Fraction of the run over which the value decays geometrically from start to end. */
      fraction: z.number().gt(0).max(1).default(1),
    })
    .strict()
    .refine((s) => Math.sign(s.start) === Math.sign(s.end) && s.start !== 0, {
      message: 'start and end must be non-zero with the same sign',
      path: ['end'],
    }),
]);

type ScheduleObject = z.output<typeof ScheduleObjectSchema>;

/**
 * Schedule configs; a bare number means constant. Parsed by hand rather than as a zod union
 * so an error names the bad field (`epsilon.end`) instead of "invalid input".
 */
export const ScheduleSchema = z.custom<number | z.input<typeof ScheduleObjectSchema>>().transform((value, ctx): number | ScheduleObject => {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value === null || typeof value !== 'object') {
    ctx.addIssue({ code: 'custom', message: `expected a number or a schedule object {type: "constant" | "linear" | "exponential", ...}, received ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  const r = ScheduleObjectSchema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: issue.path } as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

/** A schedule as written in a config. */
export type ScheduleConfig = z.input<typeof ScheduleSchema>;
/** A parsed schedule. */
export type Schedule = z.output<typeof ScheduleSchema>;

/** Validates a schedule config; `field` names it in errors (`epsilon.end`). */
export function parseSchedule(input: unknown, field: string): Schedule {
  return parseWith(ScheduleSchema, input, field);
}

/**
 * The value at `progress` ∈ [0, 1] (clamped).
 * - linear: start + (end − start) · min(1, progress / fraction) (SB3's `LinearSchedule`).
 * - exponential: geometric interpolation start · (end/start)^min(1, progress / fraction),
 *   reaching `end` exactly at `fraction`.
 */
export function valueAt(schedule: Schedule, progress: number): number {
  if (typeof schedule === 'number') return schedule;
  const p = Math.min(1, Math.max(0, progress));
  switch (schedule.type) {
    case 'constant':
      return schedule.value;
    case 'linear': {
      const f = Math.min(1, p / schedule.fraction);
      return schedule.start + (schedule.end - schedule.start) * f;
    }
    case 'exponential': {
      const f = Math.min(1, p / schedule.fraction);
      return schedule.start * Math.pow(schedule.end / schedule.start, f);
    }
  }
}
