// The backend conformance suite's assertions, written once: every backend's test file calls
// conformanceSuite() with a function that produces that backend's results and the cpu backend's
// reference from the same run (in Node, or in a browser page).
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendResults, SecondOrderRun, StabilizerRun, TrainingRun } from './cases';
import {
  CONFORMANCE_EXTRA_RUNS,
  CONFORMANCE_LOSSES,
  CONFORMANCE_MODELS,
  CONFORMANCE_SAMPLES,
  CONFORMANCE_STABILIZER_STEPS,
  CONFORMANCE_STABILIZERS,
  CONFORMANCE_STEPS,
} from './cases';

/** Relative tolerance of the first step's losses and of second-order gradients against cpu. */
export const RELATIVE_TOLERANCE = 1e-3;

/** |a − b| / max(|b|, floor): a relative difference that stays meaningful for values near 0. */
export function relativeDifference(a: number, b: number, floor = 1e-3): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), floor);
}

/** Largest relative difference of the first step's dLoss and gLoss over every (model, loss). */
export function maxFirstStepDifference(results: BackendResults, reference: BackendResults): number {
  let worst = 0;
  for (const run of results.training) {
    const ref = find(reference.training, run);
    const [a, b] = [run.steps[0], ref.steps[0]];
    if (a === undefined || b === undefined) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, relativeDifference(a.dLoss, b.dLoss), relativeDifference(a.gLoss, b.gLoss));
  }
  return worst;
}

/** max |g − g_cpu| / max |g_cpu| over a second-order gradient. */
export function gradientDifference(run: SecondOrderRun, ref: SecondOrderRun): number {
  if (run.gradient.length !== ref.gradient.length) return Number.POSITIVE_INFINITY;
  let scale = 0;
  let diff = 0;
  ref.gradient.forEach((r, i) => {
    scale = Math.max(scale, Math.abs(r));
    diff = Math.max(diff, Math.abs((run.gradient[i] as number) - r));
  });
  return diff / scale;
}

function find(runs: readonly TrainingRun[], like: TrainingRun): TrainingRun {
  const r = runs.find((x) => x.model === like.model && x.loss === like.loss);
  if (r === undefined) throw new Error(`reference has no ${like.model}/${like.loss} run`);
  return r;
}

const label = (r: TrainingRun | SecondOrderRun | StabilizerRun): string =>
  'stabilizer' in r ? `mlp + ${r.stabilizer}` : 'loss' in r ? `${r.model}/${r.loss}` : `${r.model} penalty`;
const describeError = (r: TrainingRun | SecondOrderRun | StabilizerRun): string | undefined =>
  r.error && `${label(r)}: ${r.error.name}: ${r.error.message}`;

/** Largest relative difference of the first step's dLoss and gLoss over the stabiliser runs. */
export function maxStabilizerDifference(results: BackendResults, reference: BackendResults): number {
  let worst = 0;
  for (const run of results.stabilizers) {
    const [a, b] = [run.steps[0], reference.stabilizers.find((r) => r.stabilizer === run.stabilizer)?.steps[0]];
    if (a === undefined || b === undefined) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, relativeDifference(a.dLoss, b.dLoss), relativeDifference(a.gLoss, b.gLoss));
  }
  return worst;
}

/**
 * Defines the conformance tests of one backend. `produce` runs tests/conformance/cases.ts on the
 * backend and on cpu (in that process or page) and returns both.
 */
export function conformanceSuite(
  title: string,
  produce: () => Promise<{ readonly results: BackendResults; readonly reference: BackendResults }>,
): void {
  describe(title, () => {
    let results: BackendResults;
    let reference: BackendResults;
    beforeAll(async () => {
      ({ results, reference } = await produce());
    }, 300_000); // SwiftShader on a busy 2-core CI machine: shader compilation dominates

    it('trains an MLP GAN and a tiny DCGAN with every built-in loss, and a conditional GAN with embeddings, moving both models', () => {
      expect(results.training.map((r) => `${r.model}/${r.loss}`).sort()).toEqual(
        [
          ...CONFORMANCE_MODELS.flatMap((m) => CONFORMANCE_LOSSES.map((l) => `${m}/${l}`)),
          ...CONFORMANCE_EXTRA_RUNS.map((r) => `${r.model}/${r.loss}`),
        ].sort(),
      );
      expect(results.training.map(describeError).filter(Boolean)).toEqual([]);
      for (const run of results.training) {
        expect(run.steps, label(run)).toHaveLength(CONFORMANCE_STEPS);
        for (const s of run.steps) expect(Number.isFinite(s.dLoss) && Number.isFinite(s.gLoss), label(run)).toBe(true);
        expect(run.gMoved, label(run)).toBeGreaterThan(0);
        expect(run.dMoved, label(run)).toBeGreaterThan(0);
      }
    });

    it('leaks no tensors: steps, disposal, and double backpropagation', () => {
      for (const run of results.training) {
        expect(run.stepLeak, `${label(run)} step`).toBe(0);
        expect(run.disposeLeak, `${label(run)} dispose`).toBe(0);
      }
      for (const run of results.secondOrder) expect(run.leak, label(run)).toBe(0);
    });

    it(`gives the cpu backend's first-step losses within ${RELATIVE_TOLERANCE} relative, and tracks it over the steps`, () => {
      const worst = maxFirstStepDifference(results, reference);
      console.info(
        `[conformance] ${results.backend}: max relative first-step loss difference vs cpu = ${worst.toExponential(2)}`,
      );
      expect(worst).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
      // Later steps drift apart only by accumulated rounding: still close after a few steps.
      for (const run of results.training) {
        const ref = find(reference.training, run);
        const last = run.steps.length - 1;
        expect(relativeDifference(run.steps[last]?.gLoss ?? Number.NaN, ref.steps[last]?.gLoss ?? 0), label(run)).toBeLessThan(
          1e-2,
        );
      }
    });

    it(`trains the MLP GAN with each stabiliser (${CONFORMANCE_STABILIZERS.join(', ')}) as cpu does, leak-free`, () => {
      expect(results.stabilizers.map((r) => r.stabilizer)).toEqual([...CONFORMANCE_STABILIZERS]);
      expect(results.stabilizers.map(describeError).filter(Boolean)).toEqual([]);
      for (const run of results.stabilizers) {
        expect(run.steps, label(run)).toHaveLength(CONFORMANCE_STABILIZER_STEPS);
        for (const s of run.steps) expect(Number.isFinite(s.dLoss) && Number.isFinite(s.gLoss), label(run)).toBe(true);
        expect(run.gMoved, label(run)).toBeGreaterThan(0);
        expect(run.dMoved, label(run)).toBeGreaterThan(0);
        expect(run.stepLeak, `${label(run)} step`).toBe(0);
        expect(run.disposeLeak, `${label(run)} dispose`).toBe(0);
      }
      // The EMA averaged every step and moved; adaptive k gave G one more update per step; the noise annealed.
      const [wgan, r1] = CONFORMANCE_STABILIZERS.map((name) => results.stabilizers.find((r) => r.stabilizer === name));
      expect(wgan?.emaUpdates).toBe(CONFORMANCE_STABILIZER_STEPS);
      expect(wgan?.emaMoved).toBeGreaterThan(0);
      expect(wgan?.generatorUpdates).toEqual(Array.from({ length: CONFORMANCE_STABILIZER_STEPS }, (_, i) => Math.min(1 + i, 2)));
      expect(r1?.noiseStd).toBeCloseTo(0.2 * (1 - CONFORMANCE_STABILIZER_STEPS / 10), 6);
      const worst = maxStabilizerDifference(results, reference);
      console.info(
        `[conformance] ${results.backend}: max relative first-step loss difference vs cpu, stabilisers = ${worst.toExponential(2)}`,
      );
      expect(worst).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
      for (const run of results.stabilizers) {
        const ref = reference.stabilizers.find((r) => r.stabilizer === run.stabilizer) as StabilizerRun;
        const last = run.steps.length - 1;
        expect(relativeDifference(run.steps[last]?.gLoss ?? Number.NaN, ref.steps[last]?.gLoss ?? 0), label(run)).toBeLessThan(
          1e-2,
        );
      }
    });

    for (const which of ['sampling', 'conditionalSampling'] as const) {
      it(`${which === 'sampling' ? '' : 'conditional: '}trains a critic against a frozen generator and rejection-samples with it as cpu does, leak-free`, () => {
        const run = results[which];
        const ref = reference[which];
        expect(run.error && `${run.error.name}: ${run.error.message}`).toBeUndefined();
        expect(run.dMoved).toBeGreaterThan(0);
        expect(run.shape).toEqual([CONFORMANCE_SAMPLES, 3]);
        expect(run.leak).toBe(0);
        console.info(
          `[conformance] ${results.backend}: ${which} loss ${run.loss.toFixed(6)} (cpu ${ref.loss.toFixed(6)}), ${run.proposals} proposals (cpu ${ref.proposals})`,
        );
        expect(relativeDifference(run.loss, ref.loss)).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
        // Accept/reject compares each proposal's probability with the same seeded uniform draw, so with logits
        // ~1e-6 apart the decisions match cpu's; a flipped borderline decision would shift the count by a few.
        expect(Math.abs(run.proposals - ref.proposals)).toBeLessThanOrEqual(2);
      });
    }

    it('computes second-order gradients (d/dθ of a gradient penalty) of a dense and a conv D as cpu does', () => {
      expect(results.secondOrder.map(describeError).filter(Boolean)).toEqual([]);
      let worst = 0;
      for (const run of results.secondOrder) {
        const ref = reference.secondOrder.find((r) => r.model === run.model) as SecondOrderRun;
        expect(run.penalty, label(run)).toBeGreaterThan(0);
        expect(relativeDifference(run.penalty, ref.penalty), label(run)).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
        expect(
          run.gradient.some((g) => g !== 0),
          `${label(run)}: an all-zero gradient`,
        ).toBe(true);
        const d = gradientDifference(run, ref);
        worst = Math.max(worst, d);
        expect(d, label(run)).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
        // And the analytic second-order gradient is the derivative of the penalty (finite differences).
        expect(run.finiteDifferences.length, label(run)).toBeGreaterThan(0);
        for (const { analytic, numeric } of run.finiteDifferences) {
          expect(Math.abs(analytic - numeric), label(run)).toBeLessThanOrEqual(1e-2 * Math.abs(analytic) + 1e-5);
        }
      }
      console.info(
        `[conformance] ${results.backend}: max relative second-order gradient difference vs cpu = ${worst.toExponential(2)}`,
      );
    });
  });
}
