import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adamUndo,
  type Checkpointable,
  conditionalMlpDiscriminator,
  conditionalMlpGenerator,
  DataError,
  type Discriminator,
  FUSED_ADAM_KERNEL,
  firstFailedUpdate,
  fusedAdamUpdate,
  GANConfigError,
  GANTrainer,
  type GANTrainerConfig,
  guardStart,
  NonFiniteError,
  nextGuard,
  noteForwardState,
  recordForwardState,
  registerFusedAdamKernels,
  releaseFusedAdam,
  stabilizers,
} from '../src/index';
import { countReads, everything, failingLoss, readsDuringFit, run, trainer } from './fixtures/guard';
import { ringData, smallModels } from './fixtures/models';

// The non-finite guard's on-device check (nextGuard, fusedAdamUpdate's guard, the trainer's
// 'on-device' mode) against its read-back check: the same decisions, the same trainer state after.

const BIG = 3e38; // finite in float32, but two of them sum to Infinity

afterAll(async () => {
  await tf.setBackend('cpu');
});

async function guardValues(previous: number, tensors: number[][]): Promise<number> {
  const before = tf.tensor1d([previous]);
  const ts = tensors.map((t) => tf.tensor1d(t));
  const held = tf.memory().numTensors;
  const next = nextGuard(before, ts);
  expect(tf.memory().numTensors).toBe(held + 1);
  expect(next.shape).toEqual([1]);
  const [value] = await next.data();
  tf.dispose([before, next, ...ts]);
  return value as number;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`nextGuard on ${backend}`, () => {
    it('counts finite updates and keeps the index of the first that is not', async () => {
      await tf.setBackend(backend);
      expect(await guardValues(1, [[1, -2, 3], [0.5]])).toBe(2);
      expect(await guardValues(3, [[-0, 0]])).toBe(4);
      expect(
        await guardValues(2, [
          [BIG, BIG, 1],
          [-BIG, -BIG],
        ]),
      ).toBe(3); // element-wise: no overflowing sum
      expect(await guardValues(2, [[1, Number.NaN]])).toBe(-2);
      expect(await guardValues(1, [[Number.POSITIVE_INFINITY]])).toBe(-1);
      expect(await guardValues(4, [[2], [Number.NEGATIVE_INFINITY, 1]])).toBe(-4);
      expect(await guardValues(-2, [[1, 2]])).toBe(-2); // failed earlier: stays
      expect(await guardValues(-2, [[Number.NaN]])).toBe(-2);
      expect(await guardValues(5, [])).toBe(6);
      const ints = tf.tensor1d([1, 2], 'int32');
      const g = nextGuard(tf.tensor1d([1]), [ints]);
      expect(Array.from(await g.data())).toEqual([2]);
      tf.dispose([ints, g]);
      expect([1, 2, 7].map(firstFailedUpdate)).toEqual([undefined, undefined, undefined]);
      expect([-1, -2, -5].map(firstFailedUpdate)).toEqual([0, 1, 4]);
      expect(firstFailedUpdate(-0.5)).toBeUndefined(); // the data's failure (dataGuardStart), no update's
      const start = guardStart();
      expect(Array.from(await start.data())).toEqual([1]);
      start.dispose();
    });
  });
}

describe('noteForwardState / recordForwardState', () => {
  it('records the notes made while f runs (also when it throws), nested recordings apart; outside, notes are dropped', () => {
    const log: string[] = [];
    noteForwardState(() => log.push('dropped'));
    const outer: (() => void)[] = [];
    const inner: (() => void)[] = [];
    const result = recordForwardState(outer, () => {
      noteForwardState(() => log.push('a'));
      recordForwardState(inner, () => noteForwardState(() => log.push('inner')));
      noteForwardState(() => log.push('b'));
      return 7;
    });
    expect(result).toBe(7);
    expect(() =>
      recordForwardState(outer, () => {
        noteForwardState(() => log.push('c'));
        throw new Error('f failed');
      }),
    ).toThrow('f failed');
    noteForwardState(() => log.push('dropped too'));
    for (const undo of [...outer, ...inner]) undo();
    expect(log).toEqual(['a', 'b', 'c', 'inner']);
  });
});

// ---------------------------------------------------------------------------------------------
// fusedAdamUpdate's guard and adamUndo

const SHAPES = [[7, 5], [5], [1027]];

function problem(seed: number) {
  const vars = SHAPES.map((s, i) => tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', seed + i))));
  const grads = (step: number) =>
    Object.fromEntries(vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1, 'float32', 100 * step + i)]));
  return { vars, grads };
}

async function adamState(opt: tf.Optimizer, vars: tf.Variable[]): Promise<number[][]> {
  const weights = await opt.getWeights();
  const out = [...vars.map((v) => Array.from(v.dataSync())), ...weights.map((w) => Array.from(w.tensor.dataSync()))];
  weights[0]?.tensor.dispose();
  return out;
}

/**
 * Applies the gradients of every step with `guard` values (a skipped step is undone with adamUndo) on
 * one problem, and tfjs's own Adam on the steps whose guard is above 0 on an equal problem.
 */
async function guardedAgainstPlain(guards: number[]): Promise<{ guarded: number[][]; plain: number[][] }> {
  const a = problem(1);
  const b = problem(1);
  const plain = tf.train.adam(1e-2, 0.5, 0.999);
  const fused = tf.train.adam(1e-2, 0.5, 0.999);
  for (const [s, value] of guards.entries()) {
    const gb = b.grads(s);
    const guard = tf.tensor1d([value]);
    const undo = adamUndo(fused);
    const before = await adamState(fused, b.vars);
    fusedAdamUpdate(fused, gb, { guard });
    if (value > 0) {
      undo.dispose();
      const ga = a.grads(s);
      (plain as tf.Optimizer).applyGradients(ga);
      tf.dispose(Object.values(ga));
    } else {
      // Skipped: weights and moments as they were, bit for bit; only the iteration count moved...
      const after = await adamState(fused, b.vars);
      const iter = SHAPES.length;
      expect(after[iter]).toEqual([(before[iter]?.[0] as number) + 1]);
      for (const [i, values] of before.entries()) if (i !== iter) expect(after[i]).toEqual(values);
      if (before.length === iter + 1)
        expect(
          after
            .slice(iter + 1)
            .flat()
            .every((x) => x === 0),
        ).toBe(true); // new slots: zeros
      // ...and the counters put back by the undo.
      undo.restore();
      expect(await adamState(fused, b.vars)).toEqual(before);
    }
    tf.dispose([guard, ...Object.values(gb)]);
  }
  const result = { guarded: await adamState(fused, b.vars), plain: await adamState(plain, a.vars) };
  expect(fused.iterations).toBe(plain.iterations);
  plain.dispose();
  fused.dispose();
  releaseFusedAdam(fused);
  tf.dispose([...a.vars, ...b.vars]);
  return result;
}

const GUARDS = [0, 1, 3, -2, Number.NaN, 2, 0, 5];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fusedAdamUpdate with a guard on ${backend}`, () => {
    it('applies where the guard is above 0 (the same bits as tf.train.adam), skips elsewhere; adamUndo puts the counters back', async () => {
      const isTest = tf.env().getBool('IS_TEST');
      tf.env().set('IS_TEST', false);
      await tf.setBackend(backend);
      try {
        const start = tf.memory().numTensors;
        const { guarded, plain } = await guardedAgainstPlain(GUARDS);
        expect(guarded).toEqual(plain);
        expect(tf.memory().numTensors).toBe(start);
      } finally {
        tf.env().set('IS_TEST', isTest);
      }
    });

    it('without the kernel (tfjs ops): the same', async () => {
      await tf.setBackend(backend);
      registerFusedAdamKernels();
      const kernel = tf.getKernel(FUSED_ADAM_KERNEL, backend);
      if (kernel === undefined) throw new Error(`the ${backend} fused Adam kernel should be registered`);
      tf.unregisterKernel(FUSED_ADAM_KERNEL, backend);
      try {
        const { guarded, plain } = await guardedAgainstPlain(GUARDS);
        expect(guarded).toEqual(plain);
      } finally {
        tf.registerKernel(kernel);
      }
    });
  });
}

describe('fusedAdamUpdate guard and adamUndo: bad input', () => {
  it('a guard that is not one live float32 value is refused before anything changes; an undo restores once', async () => {
    await tf.setBackend('cpu');
    const { vars, grads } = problem(2);
    const opt = tf.train.adam(1e-3);
    const g = grads(0);
    const disposed = tf.scalar(1);
    disposed.dispose();
    for (const bad of [tf.tensor1d([1, 1]), tf.tensor1d([1], 'int32'), disposed]) {
      expect(() => fusedAdamUpdate(opt, g, { guard: bad })).toThrow(GANConfigError);
      bad.dispose();
    }
    expect(opt.iterations).toBe(0);
    expect(await opt.getWeights()).toHaveLength(1); // no moment slots made
    expect(() => adamUndo(tf.train.sgd(0.1))).toThrow(GANConfigError);
    const undo = adamUndo(opt);
    undo.restore();
    expect(() => undo.restore()).toThrow(GANConfigError);
    undo.dispose(); // harmless
    opt.dispose();
    tf.dispose([...vars, ...Object.values(g)]);
  });
});

// ---------------------------------------------------------------------------------------------
// The trainer: 'on-device' against 'read-back'

describe("the trainer's guard: 'on-device' and 'read-back' end in the same state", () => {
  // Step 2 (the third) holds D updates d5, d6 and G updates g5, g6.
  for (const failAt of ['d5', 'd6', 'g5', 'g6']) {
    it(`a non-finite update at ${failAt}: the same error, the same state after it and after one more step`, async () => {
      await tf.setBackend('cpu');
      const readBack = await run('read-back', failAt);
      const onDevice = await run('on-device', failAt);
      for (const r of [readBack, onDevice]) {
        expect(r.error).toBeInstanceOf(NonFiniteError);
        expect((r.error as NonFiniteError).step).toBe(2);
        expect((r.error as NonFiniteError).loss).toBe(failAt.startsWith('d') ? 'discriminator' : 'generator');
        expect(r.next.step).toBe(2);
      }
      expect(onDevice.afterError).toBe(readBack.afterError);
      expect(onDevice.afterNext).toBe(readBack.afterNext);
      expect(onDevice.next).toEqual(readBack.next);
      // A failure at the step's first update leaves everything as before the step: weights, batch
      // norm's moving statistics, moments, counters, both random streams.
      if (failAt === 'd5') expect(readBack.afterError).toBe(readBack.beforeStep);
      else expect(readBack.afterError).not.toBe(readBack.beforeStep);
    });
  }

  it("an update that throws after one the guard skipped: the skipped one's NonFiniteError, the same state", async () => {
    await tf.setBackend('cpu');
    // d5 is not finite; on-device, d6 and g5 still run, and g5's loss throws. (Not one more step: the
    // loss's own call counter, JavaScript state the guard knows nothing of, differs between the modes.)
    const states: string[] = [];
    for (const mode of ['read-back', 'on-device'] as const) {
      const t = trainer(mode, 'd5', { loss: failingLoss('d5', 'g5') });
      const batch = ringData(16, 3);
      await t.step(batch);
      await t.step(batch);
      const before = await everything(t);
      const held = tf.memory().numTensors;
      const error = await t.step(batch).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonFiniteError);
      expect((error as NonFiniteError).loss).toBe('discriminator');
      states.push(await everything(t));
      expect(states.at(-1)).toBe(before);
      if (mode === 'on-device') expect(tf.memory().numTensors).toBe(held);
      batch.dispose();
      t.dispose();
    }
    expect(states[1]).toBe(states[0]);
    // Without an earlier failure, the error itself comes through — and a throwing loss leaks nothing
    // (tfjs-core keeps the forward pass's tensors for the backward pass it never runs; they are released).
    for (const mode of ['read-back', 'on-device', false] as const) {
      for (const throwAt of ['d4', 'g3']) {
        const t = trainer(mode, undefined, { loss: failingLoss(undefined, throwAt) });
        const batch = ringData(16, 3);
        await t.step(batch); // the optimizers' state made
        const held = tf.memory().numTensors;
        await expect(t.step(batch)).rejects.toThrow('boom');
        expect(tf.memory().numTensors).toBe(held);
        batch.dispose();
        t.dispose();
      }
    }
  });

  it("a failure at a new trainer's first update leaves it as new (no moment slots made)", async () => {
    await tf.setBackend('cpu');
    const after: string[] = [];
    for (const mode of ['read-back', 'on-device'] as const) {
      const t = trainer(mode, 'd1');
      const batch = ringData(16, 3);
      const fresh = await everything(t);
      await expect(t.step(batch)).rejects.toThrow(NonFiniteError);
      const state = await everything(t);
      expect(state).toBe(fresh);
      expect(await t.discriminatorOptimizer.getWeights()).toHaveLength(1); // the iteration count only
      await t.step(batch);
      after.push(state + (await everything(t)));
      batch.dispose();
      t.dispose();
    }
    expect(after[1]).toBe(after[0]);
  });

  it("a disposed generator EMA among the checkpointed components does not stop training (it is not the update's)", async () => {
    await tf.setBackend('cpu');
    const { generator, discriminator } = smallModels(1);
    const ema = stabilizers.generatorEma(generator);
    ema.dispose();
    const t = new GANTrainer({ generator, discriminator, checkpointed: [ema] });
    const batch = ringData(16, 3);
    await t.step(batch);
    const held = tf.memory().numTensors;
    await t.step(batch);
    expect(tf.memory().numTensors).toBe(held);
    batch.dispose();
    t.dispose();
  });

  it('a checkpointed component a custom D changes: put back in both modes; an optimizer that throws leaks nothing', async () => {
    await tf.setBackend('cpu');
    for (const mode of ['read-back', 'on-device'] as const) {
      const calls = { n: 0 };
      const counter: Checkpointable = {
        checkpointKey: 'calls',
        checkpointState: () => ({ data: { n: calls.n }, tensors: {} }),
        prepareRestore: (state) => () => {
          calls.n = Number(state?.data.n ?? 0);
        },
      };
      const { generator, discriminator: inner } = smallModels(1);
      const discriminator: Discriminator = {
        inputShape: inner.inputShape,
        get trainableVariables() {
          return inner.trainableVariables;
        },
        apply: (x, o) => {
          if (o.training) calls.n++;
          return inner.apply(x, o) as tf.Tensor;
        },
      };
      const t = new GANTrainer({
        generator,
        discriminator,
        checkpointed: [counter],
        loss: failingLoss('d2'),
        guardNonFinite: mode,
      });
      const batch = ringData(16, 3);
      await t.step(batch); // d1, g1
      const before = calls.n;
      await expect(t.step(batch)).rejects.toThrow(NonFiniteError); // d2 fails (on-device: g2 runs too)
      expect(calls.n).toBe(before);
      batch.dispose();
      t.dispose();
    }
    // The optimizer itself throws: the update's tensors are released.
    const t = trainer('read-back', undefined, { fusedAdam: false });
    const batch = ringData(16, 3);
    await t.step(batch);
    const held = tf.memory().numTensors;
    const opt = t.discriminatorOptimizer;
    const apply = opt.applyGradients;
    opt.applyGradients = () => {
      throw new Error('optimizer failed');
    };
    await expect(t.step(batch)).rejects.toThrow('optimizer failed');
    opt.applyGradients = apply;
    expect(tf.memory().numTensors).toBe(held);
    batch.dispose();
    t.dispose();
  });

  it('a conditional GAN (labels drawn from the random stream): the same error and state', async () => {
    await tf.setBackend('cpu');
    const states: string[] = [];
    for (const mode of ['read-back', 'on-device'] as const) {
      const t = new GANTrainer({
        generator: conditionalMlpGenerator({ numClasses: 3, latentDim: 4, hiddenUnits: [16], outputShape: [2], seed: 1 }),
        discriminator: conditionalMlpDiscriminator({ numClasses: 3, inputShape: [2], hiddenUnits: [16], seed: 2 }),
        seed: 5,
        loss: failingLoss('d2'),
        guardNonFinite: mode,
      });
      const batch = { x: ringData(12, 3), labels: tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], 'int32') };
      await t.step(batch);
      const error = await t.step(batch).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonFiniteError);
      expect((error as NonFiniteError).loss).toBe('discriminator');
      const after = await everything(t as unknown as GANTrainer);
      await t.step(batch);
      states.push(after + (await everything(t as unknown as GANTrainer)));
      tf.dispose([batch.x, batch.labels]);
      t.dispose();
    }
    expect(states[1]).toBe(states[0]);
  });

  it('without a failure, the same losses and state bit for bit; no tensor left behind', async () => {
    await tf.setBackend('cpu');
    const states: string[] = [];
    const logs: unknown[] = [];
    for (const mode of ['read-back', 'on-device', false] as const) {
      const t = trainer(mode, undefined);
      const data = ringData(64, 4);
      await t.fit(data, { batchSize: 8, epochs: 1 });
      const held = tf.memory().numTensors;
      const history = await t.fit(data, { batchSize: 8, epochs: 1 });
      expect(tf.memory().numTensors).toBe(held);
      logs.push(history.steps.map((s) => [s.dLoss, s.dReal, s.dFake, s.gLoss]));
      states.push(await everything(t));
      data.dispose();
      t.dispose();
    }
    expect(states[1]).toBe(states[0]);
    expect(states[2]).toBe(states[0]);
    expect(logs[1]).toEqual(logs[0]);
  });

  it("reads back once per step on-device, once per update more with 'read-back'", async () => {
    await tf.setBackend('cpu');
    const reads: Record<string, number> = {};
    for (const mode of ['read-back', 'on-device', true] as const) reads[String(mode)] = await readsDuringFit(mode);
    // fit checks the data once, then each step reads its losses (and, read-back, one flag per update).
    expect(reads).toEqual({ 'read-back': 1 + 4 * 3, 'on-device': 1 + 4, true: 1 + 4 * 3 }); // true: read-back on cpu
  });

  it("checks step()'s data on the device: a DataError and nothing changed, as 'read-back' gives, one read-back a step", async () => {
    await tf.setBackend('cpu');
    const good = ringData(16, 3);
    const bad = tf.tidy(() => tf.concat([tf.slice(good, 0, 15), tf.tensor2d([[Number.NaN, 1]])]));
    const infinite = tf.tidy(() => tf.concat([tf.tensor2d([[1, Number.NEGATIVE_INFINITY]]), tf.slice(good, 1, 15)]));
    const outcomes: unknown[] = [];
    for (const mode of ['read-back', 'on-device'] as const) {
      const t = trainer(mode, undefined);
      await t.step(good);
      const before = await everything(t);
      const held = tf.memory().numTensors;
      const errors: unknown[] = [];
      // One batch repeated k = 2 times, and two batches of which the second is bad.
      for (const input of [bad, [good, infinite]]) errors.push(await t.step(input as tf.Tensor).catch((e: unknown) => e));
      expect(tf.memory().numTensors).toBe(held);
      for (const e of errors) {
        expect(e).toBeInstanceOf(DataError);
        expect((e as Error).message).toBe('data batch: contains NaN or Infinity');
      }
      expect(await everything(t)).toBe(before);
      const { reads, result: next } = await countReads(() => t.step(good));
      outcomes.push([before, next, await everything(t), reads]);
      t.dispose();
    }
    type Outcome = [string, unknown, string, number];
    const [readBack, onDevice] = outcomes as [Outcome, Outcome];
    expect(onDevice.slice(0, 3)).toEqual(readBack.slice(0, 3));
    // k = 2 and two G updates: the data check (of each of the batch's two uses), one flag per update and the
    // losses; on the device, the losses.
    expect([readBack[3], onDevice[3]]).toEqual([2 + 4 + 1, 1]);
    // A batch reused for the k updates is scanned once; two batches twice (IsFinite: nextGuard's ops on cpu).
    const isFinites = async (input: tf.Tensor | tf.Tensor[]) => {
      const t = trainer('on-device', undefined);
      const p = await tf.profile(async () => {
        await t.step(input as tf.Tensor);
      });
      t.dispose();
      return p.kernels.filter((k) => k.name === 'IsFinite').length;
    };
    const other = ringData(16, 4);
    expect((await isFinites([good, other])) - (await isFinites(good))).toBe(1);
    other.dispose();
    // The guard's mode is chosen once per step: a later answer (the backend changed, with guard `true`)
    // cannot leave the data unchecked.
    const t = trainer('on-device', undefined);
    await t.step(good);
    const before = await everything(t);
    const internals = t as unknown as { guardMode(): string };
    const guardMode = internals.guardMode.bind(t);
    let calls = 0;
    internals.guardMode = () => (++calls === 1 ? guardMode() : 'read-back');
    const error = await t.step(bad).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(DataError);
    expect(await everything(t)).toBe(before);
    t.dispose();
    tf.dispose([good, bad, infinite]);
  });

  it("checks an iterable source's batches on the device in fit: the same DataError and state as read-back", async () => {
    await tf.setBackend('cpu');
    const states: string[] = [];
    const held: number[] = [];
    for (const mode of ['read-back', 'on-device'] as const) {
      const t = trainer(mode, undefined);
      const before = tf.memory().numTensors;
      const batches = [
        ringData(8, 1),
        ringData(8, 2),
        ringData(8, 3),
        ringData(8, 4),
        tf.fill([8, 2], Number.NaN),
        ringData(8, 5),
      ];
      // Steps of k = 2 batches: the third step's first batch is NaN. (Read-back stops before taking the sixth.)
      const error = await t.fit(batches.values()).catch((e: unknown) => e); // an iterable: checked batch by batch
      expect(error).toBeInstanceOf(DataError);
      tf.dispose(batches); // those the trainer did not take (it disposes what it takes)
      held.push(tf.memory().numTensors - before); // the optimizers' moments, made by the first updates
      expect(t.history.steps).toHaveLength(2);
      states.push(await everything(t));
      t.dispose();
    }
    expect(states[1]).toBe(states[0]);
    expect(held[1]).toBe(held[0]);
    // A bad batch among the last ones, too few for a step (k = 2), is checked all the same.
    for (const mode of ['read-back', 'on-device'] as const) {
      for (const count of [5, 1]) {
        const t = trainer(mode, undefined);
        const batches = [...Array.from({ length: count - 1 }, (_, i) => ringData(8, i + 1)), tf.fill([8, 2], Number.NaN)];
        const error = await t.fit(batches.values()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DataError);
        expect((error as Error).message).toBe('data batch: contains NaN or Infinity');
        expect(t.history.steps).toHaveLength((count - 1) / 2);
        tf.dispose(batches);
        t.dispose();
      }
    }
  });

  it('refuses a mode it cannot run, before anything is built', () => {
    const { generator, discriminator } = smallModels(1);
    const bad = (extra: Partial<GANTrainerConfig>) => () => new GANTrainer({ generator, discriminator, ...extra });
    expect(bad({ guardNonFinite: 'sometimes' as never })).toThrow(GANConfigError);
    expect(bad({ guardNonFinite: 'on-device', discriminatorOptimizer: tf.train.sgd(0.1) })).toThrow(
      /'on-device' applies the updates with the fused Adam/,
    );
    expect(bad({ guardNonFinite: 'on-device', fusedAdam: false })).toThrow(GANConfigError);
    const ok = new GANTrainer({ generator, discriminator, guardNonFinite: 'read-back', generatorOptimizer: tf.train.sgd(0.1) });
    ok.dispose();
  });
});
