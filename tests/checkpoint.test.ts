import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHECKPOINT_VERSION,
  CheckpointError,
  checkpointing,
  GANConfigError,
  type GANLoss,
  GANTrainer,
  type GANTrainerConfig,
  generatorFromFunction,
  losses,
  mlpDiscriminator,
  NonFiniteError,
  stabilizers,
} from '../src/index';
import { bigModels } from './fixtures/big-models';
import { ringData, smallModels, weightsOf } from './fixtures/models';
import { stabilizedSetup, stabilizedState } from './fixtures/stabilized';
import { allVariables, maxChange, snapshot } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'tfjs-gan-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// One process (no tsx wrapper process), so that killing it kills the writer itself.
const runTs = (script: string, ...args: string[]) => [process.execPath, ['--import', 'tsx', script, ...args]] as const;
const file = (name: string) => `file://${join(dir, name)}`;

/**
 * An in-memory IOHandler (as indexeddb:// or downloads:// would be): `artifacts()` is what was saved last;
 * `edit` may change a copy of the header before each load.
 */
function memoryHandler(
  edit?: (header: { components: Record<string, { data: Record<string, unknown>; tensors: unknown[] }> }) => void,
) {
  let stored: tf.io.ModelArtifacts | undefined;
  const artifacts = () => {
    if (stored === undefined) throw new Error('nothing saved yet');
    return stored;
  };
  const handler: tf.io.IOHandler = {
    save: async (a) => {
      stored = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
    load: async () => {
      if (edit === undefined) return artifacts();
      const copy = JSON.parse(JSON.stringify(artifacts().modelTopology));
      edit(copy);
      return { ...artifacts(), modelTopology: copy };
    },
  };
  return { handler, artifacts };
}

/** A trainer on the ring data with a seeded setup; `initSeed` changes only the initial weights. */
function ringTrainer(initSeed = 1, extra: Partial<GANTrainerConfig> = {}) {
  const models = smallModels(initSeed);
  return { trainer: new GANTrainer({ ...models, seed: 7, discriminatorSteps: 2, ...extra }), models };
}

describe('resume is bit-exact on the cpu backend', () => {
  it('N + M epochs in one go equal N, save, load into fresh models, M more — in-process and in a child process', async () => {
    const data = ringData(256, 5);
    const straight = ringTrainer();
    const all = await straight.trainer.fit(data, { epochs: 4, batchSize: 32 });

    const first = ringTrainer();
    const firstHalf = await first.trainer.fit(data, { epochs: 2, batchSize: 32 });
    await first.trainer.save(file('half.tfgan'));
    expect(firstHalf.steps).toEqual(all.steps.slice(0, 8));

    // Fresh models with other initial weights and fresh optimizers: all state comes from the file.
    const resumedModels = smallModels(123);
    const resumed = await GANTrainer.load(file('half.tfgan'), resumedModels);
    expect(resumed.stepCount).toBe(8);
    expect(resumed.epochCount).toBe(2);
    expect(resumed.history.steps).toEqual(firstHalf.steps);
    expect(resumed.generatorOptimizer.getClassName()).toBe('Adam');
    const secondHalf = await resumed.fit(data, { epochs: 2, batchSize: 32 });
    expect(secondHalf.steps).toEqual(all.steps.slice(8)); // identical losses, bit for bit
    expect(weightsOf(resumedModels)).toEqual(weightsOf(straight.models)); // identical weights, BN statistics included

    // Across a real process boundary.
    const out = execFileSync(...runTs('tests/fixtures/resume-child.ts', join(dir, 'half.tfgan'), '2'), { encoding: 'utf8' });
    const child = JSON.parse(out) as { logs: unknown[]; weights: number[][]; step: number };
    expect(child.step).toBe(16);
    expect(child.logs).toEqual(all.steps.slice(8));
    expect(child.weights).toEqual(weightsOf(straight.models));
    for (const t of [straight.trainer, first.trainer, resumed]) t.dispose();
    data.dispose();
  });

  it('restores step() runs and the random state exactly', async () => {
    const batch = ringData(32, 9);
    const a = ringTrainer(1, { discriminatorSteps: 1 });
    const expected = [];
    for (let i = 0; i < 6; i++) expected.push(await a.trainer.step(batch));
    const b = ringTrainer(1, { discriminatorSteps: 1 });
    for (let i = 0; i < 3; i++) await b.trainer.step(batch);
    await b.trainer.save(file('steps.tfgan'));
    const c = ringTrainer(55, { discriminatorSteps: 1, seed: 999 });
    await c.trainer.restore(file('steps.tfgan'));
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await c.trainer.step(batch));
    expect(got).toEqual(expected.slice(3));
    expect(weightsOf(c.models)).toEqual(weightsOf(a.models));
    for (const t of [a, b, c]) t.trainer.dispose();
    batch.dispose();
  });

  it('a custom IOHandler (as indexeddb:// or downloads:// would be) round-trips, without leaking tensors', async () => {
    const { handler: memory, artifacts } = memoryHandler();
    const { trainer } = ringTrainer();
    await trainer.step(ringData(16, 1));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await trainer.save(memory);
      await trainer.restore(memory);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(artifacts().format).toBe('tfjs-gan-checkpoint');
    // No component state: written as format version 1, which older tfjs-gan versions read.
    expect((artifacts().modelTopology as { version: number }).version).toBe(1);
    await expect(trainer.save('indexeddb://x')).rejects.toThrow(/no tf.io handler for "indexeddb:\/\/x"/); // Node has no IndexedDB
    trainer.dispose();
  });
});

describe('stabiliser state in checkpoints (format version 2)', () => {
  // JSON round trip: NaN levels become null on both sides, as they do through a child process.
  const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x));

  it('N + M epochs with EMA, adaptive k, gradient penalty and instance noise equal N, save, load, M more — in-process and in a child', async () => {
    const data = ringData(512, 5);
    const straight = stabilizedSetup(1);
    const straightTrainer = new GANTrainer(straight.config);
    const extras: number[] = [];
    const all = await straightTrainer.fit(data, {
      epochs: 4,
      batchSize: 32,
      callbacks: [...straight.callbacks, { onStepEnd: () => void extras.push(straight.schedule.extra) }],
    });
    // The run is not vacuous: the schedule gave both sides extra updates, the EMA and noise moved on.
    expect(extras.some((e) => e > 0)).toBe(true);
    expect(extras.some((e) => e < 0)).toBe(true);
    expect(straight.ema.updates).toBe(all.steps.length);

    const first = stabilizedSetup(1);
    const firstTrainer = new GANTrainer(first.config);
    const firstHalf = await firstTrainer.fit(data, { epochs: 2, batchSize: 32, callbacks: first.callbacks });
    expect(firstHalf.steps).toEqual(all.steps.slice(0, firstHalf.steps.length));
    await firstTrainer.save(file('stabilized.tfgan'));
    const n = firstHalf.steps.length;

    // Fresh models (other initial weights), a fresh EMA, schedule, penalty and noise: all state comes from the file.
    const resumed = stabilizedSetup(123);
    const resumedTrainer = await GANTrainer.load(file('stabilized.tfgan'), resumed.config);
    expect(plain(stabilizedState(resumed))).toEqual(plain(stabilizedState(first)));
    const secondHalf = await resumedTrainer.fit(data, { epochs: 2, batchSize: 32, callbacks: resumed.callbacks });
    expect(secondHalf.steps).toEqual(all.steps.slice(n)); // identical losses, and so identical k decisions
    expect(plain(stabilizedState(resumed))).toEqual(plain(stabilizedState(straight)));

    const out = execFileSync(...runTs('tests/fixtures/resume-stabilized-child.ts', join(dir, 'stabilized.tfgan'), '2'), {
      encoding: 'utf8',
    });
    const child = JSON.parse(out) as { logs: unknown[]; state: unknown; step: number };
    expect(child.step).toBe(all.steps.length);
    expect(child.logs).toEqual(all.steps.slice(n));
    expect(child.state).toEqual(plain(stabilizedState(straight)));
    for (const t of [straightTrainer, firstTrainer, resumedTrainer]) t.dispose();
    for (const s of [straight, first, resumed]) s.ema.dispose();
    data.dispose();
  });

  it('records each component under its key, its tensors as state/<key>/<name> weights', async () => {
    const { handler: memory, artifacts } = memoryHandler();
    const s = stabilizedSetup(1);
    const trainer = new GANTrainer(s.config);
    await trainer.step(ringData(32, 1));
    await trainer.save(memory);
    const header = artifacts().modelTopology as {
      version: number;
      components: Record<string, { data: Record<string, unknown> }>;
    };
    expect(header.version).toBe(CHECKPOINT_VERSION);
    expect(Object.keys(header.components).sort()).toEqual([
      'adaptiveSchedule',
      'generatorEma',
      'gradientPenalty',
      'instanceNoise',
    ]);
    expect(header.components.generatorEma?.data).toEqual({ updates: 0, swapped: false, decay: 0.9, warmup: true, every: 1 });
    expect(header.components.instanceNoise?.data.step).toBe(0); // no callbacks ran: step() alone does not anneal
    const names = (artifacts().weightSpecs ?? []).map((w) => w.name).filter((n) => n.startsWith('state/'));
    expect(names).toEqual(s.ema.shadow.map((_, i) => `state/generatorEma/shadow/${i}`));
    trainer.dispose();
    s.ema.dispose();
  });

  it('loads a version 1 checkpoint (written before component state existed) and resumes it exactly', async () => {
    const v1Path = join(import.meta.dirname, 'fixtures', 'checkpoint-v1.tfgan');
    const v1 = `file://${v1Path}`;
    const bytes = readFileSync(v1Path);
    const header = JSON.parse(bytes.subarray(12, 12 + bytes.readUInt32LE(8)).toString('utf8'));
    expect(header.modelTopology.version).toBe(1);
    expect(header.modelTopology.components).toBeUndefined();
    // What tests/fixtures/make-v1-checkpoint.ts trained (2 steps, one epoch), continued for one more epoch.
    const data = ringData(128, 5);
    const straight = ringTrainer(1);
    const all = await straight.trainer.fit(data, { epochs: 2, batchSize: 32 });
    const models = smallModels(77);
    const resumed = await GANTrainer.load(v1, models);
    expect(resumed.stepCount).toBe(2);
    const rest = await resumed.fit(data, { epochs: 1, batchSize: 32 });
    expect(rest.steps).toEqual(all.steps.slice(2));
    expect(weightsOf(models)).toEqual(weightsOf(straight.models));

    // With stateful components: the EMA restarts from the loaded weights (as reset() does), the schedule afresh.
    const m2 = smallModels(78);
    const ema = stabilizers.generatorEma(m2.generator);
    const schedule = stabilizers.adaptiveSchedule();
    const withState = await GANTrainer.load(v1, { ...m2, schedule, checkpointed: [ema] });
    expect(ema.updates).toBe(0);
    expect(ema.shadow.map((v) => Array.from(v.dataSync()))).toEqual(
      (m2.generator.stateVariables ?? []).map((v) => Array.from(v.dataSync())),
    );
    expect(schedule.level).toBeNaN();
    expect(schedule.extra).toBe(0);
    for (const t of [straight.trainer, resumed, withState]) t.dispose();
    ema.dispose();
    data.dispose();
  });

  it('a checkpoint with state the trainer has no component for is refused, changing nothing; the reverse restarts the component', async () => {
    const s = stabilizedSetup(1);
    const trainer = new GANTrainer(s.config);
    await trainer.fit(ringData(64, 1), { epochs: 1, batchSize: 16, callbacks: s.callbacks });
    await trainer.save(file('with-ema.tfgan'));

    // Without the EMA: its average would be lost — refused, naming the key and the remedy.
    const bare = stabilizedSetup(2);
    const noEma = new GANTrainer({ ...bare.config, checkpointed: [] });
    await noEma.step(ringData(32, 2));
    const before = snapshot(allVariables(noEma.generator, noEma.discriminator));
    const levelBefore = bare.schedule.level;
    const e = await noEma.restore(file('with-ema.tfgan')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/holds the state of "generatorEma".*config\.checkpointed/);
    expect(maxChange(before, allVariables(noEma.generator, noEma.discriminator))).toBe(0);
    expect(noEma.stepCount).toBe(1);
    expect(bare.schedule.level).toBe(levelBefore);
    // Without the adaptive schedule (a fixed one), and without the penalty's loss: refused too.
    await expect(
      GANTrainer.load(file('with-ema.tfgan'), { ...stabilizedSetup(3).config, schedule: undefined } as never),
    ).rejects.toThrow(/"adaptiveSchedule"/);
    const { loss: _gp, ...noGp } = stabilizedSetup(3).config;
    await expect(GANTrainer.load(file('with-ema.tfgan'), { ...noGp, loss: 'non-saturating' })).rejects.toThrow(
      /"gradientPenalty"/,
    );

    // An EMA over another generator (a different architecture): refused by the EMA before anything changes.
    const other = stabilizedSetup(4);
    const wrongEma = stabilizers.generatorEma(
      generatorFromFunction({
        latentDim: 3,
        outputShape: [2],
        variables: [tf.variable(tf.zeros([5]))],
        fn: (z) => tf.slice(z, [0, 0], [-1, 2]),
      }),
    );
    const mismatched = new GANTrainer({ ...other.config, checkpointed: [wrongEma] });
    const before2 = snapshot(allVariables(mismatched.generator, mismatched.discriminator));
    await expect(mismatched.restore(file('with-ema.tfgan'))).rejects.toThrow(
      /generatorEma: the checkpoint holds \d+ averaged variables, the generator has 1 — another architecture/,
    );
    expect(maxChange(before2, allVariables(mismatched.generator, mismatched.discriminator))).toBe(0);
    expect(other.schedule.level).toBeNaN(); // the schedule, validated first, was not restored either

    // A checkpoint saved without an EMA, restored with one: the EMA restarts from the restored weights.
    const plainRun = ringTrainer(5);
    await plainRun.trainer.step(ringData(32, 5));
    await plainRun.trainer.save(file('no-ema.tfgan'));
    const m = smallModels(6);
    const ema = stabilizers.generatorEma(m.generator);
    const t = new GANTrainer({ ...m, seed: 7, discriminatorSteps: 2, checkpointed: [ema] });
    await t.step(ringData(32, 6));
    ema.update();
    await t.restore(file('no-ema.tfgan'));
    expect(ema.updates).toBe(0);
    expect(ema.shadow.map((v) => Array.from(v.dataSync()))).toEqual(weightsOf(plainRun.models).slice(0, ema.shadow.length));
    for (const x of [trainer, noEma, mismatched, plainRun.trainer, t]) x.dispose();
    for (const x of [s, bare, other]) x.ema.dispose();
    wrongEma.dispose();
    ema.dispose();
  });

  it('rejects malformed component state with a CheckpointError, changing nothing', async () => {
    const s = stabilizedSetup(1);
    const trainer = new GANTrainer(s.config);
    await trainer.fit(ringData(64, 1), { epochs: 1, batchSize: 16, callbacks: s.callbacks });
    type Edit = (c: Record<string, { data: Record<string, unknown>; tensors: unknown[] }>) => void;
    let edit: Edit = () => {};
    const { handler: memory } = memoryHandler((header) => edit(header.components));
    const edits: [Edit, RegExp][] = [
      [
        (c) => {
          c.generatorEma!.data.updates = -1;
        },
        /generatorEma: malformed state \(updates -1/,
      ],
      [
        (c) => {
          c.adaptiveSchedule!.data.extra = 'many';
        },
        /adaptive schedule: malformed state/,
      ],
      [
        (c) => {
          c.instanceNoise!.data.random = 1.5;
        },
        /instanceNoise: malformed random state 1.5/,
      ],
      [
        (c) => {
          c.gradientPenalty!.data = {};
        },
        /gradientPenalty: malformed random state undefined/,
      ],
      [
        (c) => {
          c.generatorEma!.tensors.pop();
        },
        /generatorEma: the checkpoint holds \d+ averaged variables, the generator has \d+/,
      ],
      [
        (c) => {
          c['bad key!'] = { data: {}, tensors: [] };
        },
        /component key "bad key!" is not a valid name/,
      ],
    ];
    await trainer.save(memory);
    const target = stabilizedSetup(2);
    const t2 = new GANTrainer(target.config);
    await t2.step(ringData(32, 3));
    const before = snapshot([...allVariables(t2.generator, t2.discriminator), ...target.ema.shadow]);
    const state = plain({ level: target.schedule.level, extra: target.schedule.extra, std: target.noise.currentStd });
    for (const [change, message] of edits) {
      edit = change;
      const e = await t2.restore(memory).catch((x: unknown) => x);
      expect(e, String(message)).toBeInstanceOf(CheckpointError);
      expect((e as Error).message).toMatch(message);
    }
    expect(maxChange(before, [...allVariables(t2.generator, t2.discriminator), ...target.ema.shadow])).toBe(0);
    expect(plain({ level: target.schedule.level, extra: target.schedule.extra, std: target.noise.currentStd })).toEqual(state);
    expect(t2.stepCount).toBe(1);
    // Two components under one key: refused when the trainer is built.
    const twice = stabilizedSetup(3);
    const second = stabilizers.generatorEma(twice.config.generator);
    expect(() => new GANTrainer({ ...twice.config, checkpointed: [twice.ema, second] })).toThrow(GANConfigError);
    expect(() => new GANTrainer({ ...twice.config, checkpointed: [twice.ema, second] })).toThrow(/key "generatorEma"/);
    const keyed = stabilizers.generatorEma(twice.config.generator, { checkpointKey: 'ema2' });
    const both = new GANTrainer({ ...twice.config, checkpointed: [twice.ema, keyed] });
    for (const x of [trainer, t2, both]) x.dispose();
    for (const x of [s.ema, target.ema, twice.ema, second, keyed]) x.dispose();
  });

  it('refuses to save component data JSON cannot hold (NaN, Infinity, undefined, functions, class instances), keeping the previous file', async () => {
    const m = smallModels(1);
    let data: Record<string, unknown> = { level: 0.5, history: [1, 2, { ok: true, note: null }] };
    const custom = {
      checkpointKey: 'custom',
      checkpointState: () => ({ data: data as never, tensors: {} }),
      prepareRestore: () => () => {},
    };
    const t = new GANTrainer({ ...m, checkpointed: [custom] });
    await t.step(ringData(16, 1));
    await t.save(file('component-data.tfgan'));
    const good = readFileSync(join(dir, 'component-data.tfgan'));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ level: Number.NaN }, /"custom" data\.level is NaN/],
      [{ history: [1, Number.POSITIVE_INFINITY] }, /data\.history\[1\] is Infinity/],
      [{ level: undefined }, /data\.level is undefined/],
      [{ f: () => 1 }, /data\.f is a function/],
      [{ when: new Date(0) }, /data\.when is not a plain object/],
    ];
    for (const [bad, message] of cases) {
      data = bad;
      const e = await t.save(file('component-data.tfgan')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as Error).message).toMatch(message);
      expect(readFileSync(join(dir, 'component-data.tfgan')).equals(good)).toBe(true);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    data = cyclic;
    await expect(t.save(file('component-data.tfgan'))).rejects.toThrow(/refers to itself/);
    t.dispose();
  });

  it('keeps a swapped-in average as it was, and leaks no tensors over save/restore cycles', async () => {
    const s = stabilizedSetup(1);
    const trainer = new GANTrainer(s.config);
    await trainer.fit(ringData(64, 1), { epochs: 1, batchSize: 16, callbacks: s.callbacks });
    const { handler: memory } = memoryHandler();
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await trainer.save(memory);
      await trainer.restore(memory);
    }
    expect(tf.memory().numTensors).toBe(start);
    const training = snapshot(s.config.generator.trainableVariables);
    s.ema.swap();
    await trainer.save(memory);
    s.ema.swap();
    const r = stabilizedSetup(9);
    const resumed = new GANTrainer(r.config);
    await resumed.restore(memory);
    expect(r.ema.swapped).toBe(true); // as saved: the generator holds the average …
    r.ema.swap(); // … and swapping back gives the training weights
    expect(maxChange(training, r.config.generator.trainableVariables)).toBe(0);
    for (const x of [trainer, resumed]) x.dispose();
    for (const x of [s, r]) x.ema.dispose();
  });
});

describe('export', () => {
  it('exportGenerator writes a LayersModel that plain tfjs loads and samples from, with no tfjs-gan import', async () => {
    const { trainer } = ringTrainer();
    await trainer.fit(ringData(64, 3), { epochs: 1, batchSize: 32 });
    const folder = join(dir, 'exported');
    await trainer.exportGenerator(`file://${folder}`);
    await trainer.exportGenerator(`file://${folder}`); // replacing an existing export works too
    expect(readdirSync(folder).sort()).toEqual(['model.json', 'weights.bin']);
    const z = [
      [0.1, -0.3, 1.2],
      [2, 0, -1],
    ];
    const expected = Array.from(trainer.generate(tf.tensor2d(z)).dataSync());
    const script = readFileSync('tests/fixtures/load-exported.mjs', 'utf8');
    expect(script).not.toMatch(/from '(tfjs-gan|\.)/); // imports tfjs packages only
    const out = JSON.parse(
      execFileSync('node', ['tests/fixtures/load-exported.mjs', folder, JSON.stringify(z)], { encoding: 'utf8' }),
    );
    expect(out.inputShape).toEqual([null, 3]);
    out.output.forEach((v: number, i: number) => {
      expect(v).toBeCloseTo(expected[i] as number, 5);
    });
    const functional = new GANTrainer({
      generator: generatorFromFunction({
        latentDim: 3,
        outputShape: [2],
        variables: [],
        fn: (zz) => tf.slice(zz, [0, 0], [-1, 2]),
      }),
      discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [4] }),
    });
    await expect(functional.exportGenerator(`file://${join(dir, 'nope')}`)).rejects.toThrow(/LayersModel-backed/);
    functional.dispose();
    trainer.dispose();
  });
});

describe('periodic checkpoints', () => {
  it('save every N steps and every epoch, keeping the last K', async () => {
    const { trainer } = ringTrainer(1, { discriminatorSteps: 1 });
    const cb = checkpointing(trainer, { destination: file('periodic/step-{step}.tfgan'), everySteps: 3, keepLast: 2 });
    await trainer.fit(ringData(160, 2), { epochs: 2, batchSize: 16, callbacks: [cb] }); // 20 steps → saves at 3, 6, …, 18
    expect(readdirSync(join(dir, 'periodic')).sort()).toEqual(['step-15.tfgan', 'step-18.tfgan']);
    expect(cb.saved).toEqual([file('periodic/step-15.tfgan'), file('periodic/step-18.tfgan')]);
    const byEpoch = checkpointing(trainer, { destination: file('periodic/epoch-{epoch}.tfgan') });
    await trainer.fit(ringData(64, 2), { epochs: 2, batchSize: 16, callbacks: [byEpoch] });
    expect(existsSync(join(dir, 'periodic/epoch-3.tfgan')) && existsSync(join(dir, 'periodic/epoch-4.tfgan'))).toBe(true);
    const restored = ringTrainer(3, { discriminatorSteps: 1 });
    await restored.trainer.restore(file('periodic/epoch-4.tfgan'));
    expect(restored.trainer.stepCount).toBe(28);
    expect(() => checkpointing(trainer, { destination: 'x', everySteps: 0 })).toThrow(/everySteps/);
    trainer.dispose();
    restored.trainer.dispose();
  });

  it('an abort mid-epoch leaves a trainer that saves and resumes', async () => {
    const { trainer } = ringTrainer();
    const controller = new AbortController();
    const data = ringData(256, 5);
    await trainer.fit(data, {
      epochs: 3,
      batchSize: 32,
      signal: controller.signal,
      callbacks: [{ onStepEnd: (l) => void (l.step === 5 && controller.abort()) }],
    });
    expect(trainer.stepCount).toBe(6);
    await trainer.save(file('aborted.tfgan'));
    const resumed = ringTrainer(8);
    await resumed.trainer.restore(file('aborted.tfgan'));
    const h = await resumed.trainer.fit(data, { epochs: 1, batchSize: 32 });
    expect(h.steps[0]?.step).toBe(6);
    expect(h.steps.every((s) => Number.isFinite(s.dLoss))).toBe(true);
    trainer.dispose();
    resumed.trainer.dispose();
    data.dispose();
  });
});

describe('loading validates everything before touching the trainer', () => {
  const cases: [string, (path: string) => void | Promise<void>, RegExp][] = [
    ['a missing file', (p) => rmSync(p), /cannot read/],
    ['a truncated file', (p) => writeFileSync(p, readFileSync(p).subarray(0, statSync(p).size - 100)), /truncated or corrupt/],
    ['a file cut inside its header', (p) => writeFileSync(p, readFileSync(p).subarray(0, 40)), /truncated: its header/],
    ['not a checkpoint', (p) => writeFileSync(p, 'hello world, this is not a checkpoint'), /not a tfjs-gan checkpoint file/],
  ];
  const editHeader = (p: string, edit: (h: Record<string, unknown>) => void) => {
    const bytes = readFileSync(p);
    const len = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.subarray(12, 12 + len).toString('utf8'));
    edit(header);
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(12);
    bytes.copy(prefix, 0, 0, 8);
    prefix.writeUInt32LE(json.length, 8);
    writeFileSync(p, Buffer.concat([prefix, json, bytes.subarray(12 + len)]));
  };
  const topology = (h: Record<string, unknown>) => h.modelTopology as Record<string, unknown>;
  cases.push(
    [
      'a newer format version',
      (p) =>
        editHeader(p, (h) => {
          topology(h).version = 99;
        }),
      /version 99 is newer than this tfjs-gan reads \(2\)/,
    ],
    [
      'a wrong dtype',
      (p) =>
        editHeader(p, (h) => {
          (h.weightSpecs as { dtype: string }[])[0]!.dtype = 'int32';
        }),
      /weight "generator\/0" is int32\[3, 16\] in the checkpoint, expected float32\[3, 16\]/,
    ],
    [
      'a missing weight',
      (p) =>
        editHeader(p, (h) => {
          (h.weightSpecs as { name: string }[])[0]!.name = 'renamed';
        }),
      /lacks the weight "generator\/0"/,
    ],
  );
  for (const [what, corrupt, message] of cases) {
    it(`rejects ${what} with a CheckpointError and changes nothing`, async () => {
      const path = join(dir, `bad-${what.replaceAll(' ', '-')}.tfgan`);
      const source = ringTrainer(1);
      await source.trainer.step(ringData(16, 1));
      await source.trainer.save(`file://${path}`);
      await corrupt(path);
      const target = ringTrainer(2);
      await target.trainer.step(ringData(16, 2));
      const before = snapshot(allVariables(target.trainer.generator, target.trainer.discriminator));
      const error = await target.trainer.restore(`file://${path}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toMatch(message);
      expect(maxChange(before, allVariables(target.trainer.generator, target.trainer.discriminator))).toBe(0);
      expect(target.trainer.stepCount).toBe(1);
      source.trainer.dispose();
      target.trainer.dispose();
    });
  }

  it('rejects another architecture and another optimizer, naming the mismatch', async () => {
    const { trainer } = ringTrainer();
    await trainer.step(ringData(16, 1));
    await trainer.save(file('arch.tfgan'));
    const wider = new GANTrainer({
      ...smallModels(1),
      discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [16, 32] }),
    });
    await expect(wider.restore(file('arch.tfgan'))).rejects.toThrow(
      /discriminator: variable 2 \(".*"\) is float32\[16, 16\] in the checkpoint but float32\[16, 32\] in the model/,
    );
    const deeper = new GANTrainer({
      ...smallModels(1),
      discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [16, 16, 16] }),
    });
    await expect(deeper.restore(file('arch.tfgan'))).rejects.toThrow(
      /holds 6 variables, the model has 8 — a different architecture/,
    );
    const sgd = new GANTrainer({ ...smallModels(1), discriminatorOptimizer: tf.train.sgd(0.1) });
    await expect(sgd.restore(file('arch.tfgan'))).rejects.toThrow(
      /discriminator optimizer: the checkpoint holds Adam state, the trainer uses SGD/,
    );
    const custom: GANLoss = { ...losses.hinge(), name: 'mine' };
    const withCustom = new GANTrainer({ ...smallModels(1), loss: custom });
    await withCustom.step(ringData(16, 1));
    await withCustom.save(file('custom.tfgan'));
    await expect(GANTrainer.load(file('custom.tfgan'), smallModels(1))).rejects.toThrow(
      /custom loss "mine": pass it as config.loss/,
    );
    for (const t of [trainer, wider, deeper, sgd, withCustom]) t.dispose();
  });

  it('parses checkpoint JSON as data: no prototype pollution through __proto__ keys', async () => {
    const { trainer } = ringTrainer();
    await trainer.step(ringData(16, 1));
    const path = join(dir, 'proto.tfgan');
    await trainer.save(`file://${path}`);
    const bytes = readFileSync(path);
    const len = bytes.readUInt32LE(8);
    const text = bytes.subarray(12, 12 + len).toString('utf8');
    const evil = text.replace(
      '{"modelTopology":{',
      '{"__proto__":{"polluted":"yes"},"modelTopology":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},',
    );
    expect(evil).not.toBe(text);
    const json = Buffer.from(evil);
    const prefix = Buffer.alloc(12);
    bytes.copy(prefix, 0, 0, 8);
    prefix.writeUInt32LE(json.length, 8);
    writeFileSync(path, Buffer.concat([prefix, json, bytes.subarray(12 + len)]));
    const other = ringTrainer(4);
    await other.trainer.restore(`file://${path}`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(other.trainer.stepCount).toBe(1);
    trainer.dispose();
    other.trainer.dispose();
  });
});

describe('non-finite guard', () => {
  it('stops with a typed error naming the step and the loss, keeping the last good weights', async () => {
    let calls = 0;
    const exploding: GANLoss = {
      name: 'exploding',
      discriminator: (c) => losses.nonSaturating().discriminator(c),
      generator: (c) =>
        ++calls === 3 ? tf.mul(losses.nonSaturating().generator(c), Number.NaN) : losses.nonSaturating().generator(c),
    };
    const { trainer } = ringTrainer(1, { loss: exploding, discriminatorSteps: 1 });
    const batch = ringData(16, 1);
    await trainer.step(batch);
    await trainer.step(batch);
    const gBefore = snapshot(trainer.generator.trainableVariables);
    const error = await trainer.step(batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect((error as NonFiniteError).step).toBe(2);
    expect((error as NonFiniteError).loss).toBe('generator');
    expect((error as Error).message).toMatch(/step 2: the generator loss or a gradient is not finite/);
    expect(maxChange(gBefore, trainer.generator.trainableVariables)).toBe(0);
    for (const v of allVariables(trainer.generator, trainer.discriminator))
      expect(v.dataSync().every(Number.isFinite)).toBe(true);
    expect(trainer.stepCount).toBe(2);
    await trainer.save(file('after-nan.tfgan')); // the last good weights save fine
    batch.dispose();
    trainer.dispose();
  });

  it('never writes NaN weights over a checkpoint', async () => {
    const { trainer } = ringTrainer();
    await trainer.step(ringData(16, 1));
    const path = join(dir, 'good.tfgan');
    await trainer.save(`file://${path}`);
    const good = readFileSync(path);
    const v = trainer.discriminator.trainableVariables[0] as tf.Variable;
    v.assign(tf.fill(v.shape, Number.NaN));
    await expect(trainer.save(`file://${path}`)).rejects.toThrow(/refusing to save: "discriminator\/0" holds NaN/);
    expect(readFileSync(path).equals(good)).toBe(true);
    trainer.dispose();
  });

  it('without the guard, a NaN loss is still reported after the step', async () => {
    const nan: GANLoss = {
      ...losses.nonSaturating(),
      name: 'nan',
      discriminator: (c) => tf.mul(losses.nonSaturating().discriminator(c), Number.NaN),
    };
    const { trainer } = ringTrainer(1, { loss: nan, guardNonFinite: false });
    await expect(trainer.step(ringData(16, 1))).rejects.toThrow(/step 0: the discriminator loss is not finite/);
    trainer.dispose();
  });
});

describe('atomic writes', () => {
  it('a process killed in the middle of a save leaves the previous checkpoint intact and loadable', async () => {
    const path = join(dir, 'killed', 'ckpt.tfgan');
    let killedMidWrite = 0;
    for (let attempt = 0; attempt < 6 && killedMidWrite < 2; attempt++) {
      const child: ChildProcess = spawn(...runTs('tests/fixtures/save-loop-child.ts', path), {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<void>((resolve, reject) => {
        child.on('exit', () => resolve());
        child.on('error', reject);
      });
      // After one complete save, kill the child as soon as its next save has started writing
      // (its temporary file exists), a few milliseconds into the write.
      const folder = join(dir, 'killed');
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const writing = existsSync(folder) && readdirSync(folder).some((f) => f.includes('.tmp-'));
        if (/saved \d+/.test(output) && writing) break;
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, attempt * 15));
      child.kill('SIGKILL');
      await exited;
      const leftovers = readdirSync(join(dir, 'killed')).filter((f) => f.includes('.tmp-'));
      if (leftovers.length > 0) killedMidWrite++;
      const savedSteps = [...output.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      const target = new GANTrainer({ ...bigModels(), seed: 3 });
      await target.restore(`file://${path}`); // loads, whatever moment the kill hit
      expect(savedSteps).toContain(target.stepCount);
      target.dispose();
      for (const f of leftovers) rmSync(join(dir, 'killed', f));
    }
    // The kill really landed inside a write (a temporary file was left behind) at least twice.
    expect(killedMidWrite).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
