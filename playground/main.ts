/**
 * The tfjs-gan playground: a GAN Lab-like page that trains a 2-D GAN live with the library's
 * GANTrainer. The state is exposed as `window.playground` (used by tests/browser/playground.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { GANTrainer, type LossName, metrics, mlpDiscriminator, mlpGenerator, selectBackend } from 'tfjs-gan';
import { type Distribution, type DistributionName, distribution, meanNearestDistance } from './shapes';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

/** Everything the user can choose. */
export interface Settings {
  distribution: DistributionName;
  loss: LossName;
  k: number;
  lrG: number;
  lrD: number;
  backend: string;
  overlay: 'gradients' | 'manifold' | 'none';
  seed: number;
}

/** One point of the loss curves. */
interface Record_ {
  step: number;
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
}

const BATCH = 128;
const N_SHOWN = 400;
const HEAT = 40;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const settings: Settings = {
  distribution: 'ring',
  loss: 'non-saturating',
  k: 1,
  lrG: 1e-3,
  lrD: 1e-3,
  backend: 'webgl',
  overlay: 'gradients',
  seed: 1,
};
let trainer: GANTrainer | undefined;
let dist: Distribution = distribution(settings.distribution);
let data: tf.Tensor2D | undefined;
let realShown: Float32Array = new Float32Array();
let fixedZ: tf.Tensor2D | undefined;
let reference: Float32Array = new Float32Array();
let history: Record_[] = [];
let distances: { step: number; value: number }[] = [];
let coverage: metrics.ModeCoverage | undefined;
let running = false;
let busy: Promise<void> = Promise.resolve();
let dataSeed = 0;
let lastFake: Float32Array = new Float32Array();

function readSettings(): void {
  settings.distribution = $<HTMLSelectElement>('distribution').value as DistributionName;
  settings.loss = $<HTMLSelectElement>('loss').value as LossName;
  settings.k = Math.max(1, Math.round(Number($<HTMLInputElement>('k').value)) || 1);
  settings.lrG = Number($<HTMLInputElement>('lrG').value) || 1e-3;
  settings.lrD = Number($<HTMLInputElement>('lrD').value) || 1e-3;
  settings.backend = $<HTMLSelectElement>('backend').value;
  settings.overlay = $<HTMLSelectElement>('overlay').value as Settings['overlay'];
}

function writeSettings(): void {
  $<HTMLSelectElement>('distribution').value = settings.distribution;
  $<HTMLSelectElement>('loss').value = settings.loss;
  $<HTMLInputElement>('k').value = String(settings.k);
  $<HTMLInputElement>('lrG').value = String(settings.lrG);
  $<HTMLInputElement>('lrD').value = String(settings.lrD);
  $<HTMLSelectElement>('backend').value = settings.backend;
  $<HTMLSelectElement>('overlay').value = settings.overlay;
}

function message(text: string): void {
  $('message').textContent = text;
}

/** (Re)builds data, models and trainer from the settings, on the chosen backend. */
async function reset(): Promise<void> {
  running = false;
  updatePlayButton();
  trainer?.dispose();
  trainer = undefined;
  tf.dispose([data, fixedZ]);
  if (tf.getBackend() !== settings.backend) {
    try {
      await selectBackend([settings.backend]);
      message('');
    } catch (e) {
      message(
        `${settings.backend} is not available here: ${e instanceof Error ? e.message.split('\n').slice(1).join(' ') : e}. Using ${tf.getBackend()}.`,
      );
      settings.backend = tf.getBackend();
      writeSettings();
    }
  }
  dist = distribution(settings.distribution);
  data = dist.sample(BATCH * 64, settings.seed);
  const shown = dist.sample(N_SHOWN, settings.seed + 1);
  realShown = shown.dataSync() as Float32Array;
  shown.dispose();
  reference = dist.reference();
  fixedZ = tf.randomNormal([N_SHOWN, 2], 0, 1, 'float32', settings.seed + 2) as tf.Tensor2D;
  trainer = new GANTrainer({
    generator: mlpGenerator({
      latentDim: 2,
      hiddenUnits: [64, 64],
      outputShape: [2],
      activation: 'relu',
      outputActivation: 'linear',
      seed: settings.seed,
    }),
    discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [64, 64], seed: settings.seed + 1 }),
    loss: settings.loss,
    discriminatorSteps: settings.k,
    seed: settings.seed,
    generatorOptimizer: tf.train.adam(settings.lrG, 0.5),
    discriminatorOptimizer: tf.train.adam(settings.lrD, 0.5),
  });
  history = [];
  distances = [];
  coverage = undefined;
  dataSeed = settings.seed * 1000;
  await measure();
  await render();
}

/** k fresh real batches drawn from the training set. */
function batches(): tf.Tensor2D[] {
  const n = (data as tf.Tensor2D).shape[0];
  return Array.from({ length: settings.k }, () =>
    tf.tidy(() => {
      const idx = tf.randomUniform([BATCH], 0, n, 'int32', dataSeed++);
      return tf.gather(data as tf.Tensor2D, idx) as tf.Tensor2D;
    }),
  );
}

/** One training step of the current trainer. */
async function trainStep(): Promise<void> {
  const t = trainer as GANTrainer;
  const b = batches();
  try {
    const l = await t.step(settings.k === 1 ? (b[0] as tf.Tensor2D) : b);
    history.push({ step: l.step + 1, dLoss: l.dLoss, gLoss: l.gLoss, dReal: l.dReal, dFake: l.dFake });
  } finally {
    tf.dispose(b);
  }
}

/** Samples from the fixed noise, their distance to the data and (mixtures) mode coverage. */
async function measure(): Promise<void> {
  const t = trainer as GANTrainer;
  const fake = t.generate(fixedZ as tf.Tensor2D);
  lastFake = (await fake.data()) as Float32Array;
  fake.dispose();
  distances.push({ step: t.stepCount, value: meanNearestDistance(lastFake, reference) });
  if (dist.mixture !== undefined) {
    const points = tf.tensor2d(lastFake, [lastFake.length / 2, 2]);
    coverage = await metrics.modeCoverage(points, dist.mixture);
    points.dispose();
  }
}

/** Trains `n` steps (awaiting each), measuring every 25 steps and at the end. */
async function train(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await trainStep();
    if ((trainer as GANTrainer).stepCount % 25 === 0) await measure();
  }
  await measure();
}

function toCanvas(canvas: HTMLCanvasElement, x: number, y: number): [number, number] {
  const e = dist.extent;
  return [((x + e) / (2 * e)) * canvas.width, ((e - y) / (2 * e)) * canvas.height];
}

/** Draws D's heat map, real and generated points, and the chosen overlay. */
async function render(): Promise<void> {
  const t = trainer;
  if (t === undefined) return;
  const canvas = $<HTMLCanvasElement>('field');
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const e = dist.extent;
  // D(x) on a HEAT × HEAT grid of cell centres.
  const cells = new Float32Array(HEAT * HEAT * 2);
  for (let i = 0; i < HEAT; i++) {
    for (let j = 0; j < HEAT; j++) {
      cells[2 * (i * HEAT + j)] = -e + ((j + 0.5) * 2 * e) / HEAT;
      cells[2 * (i * HEAT + j) + 1] = e - ((i + 0.5) * 2 * e) / HEAT;
    }
  }
  const gridT = tf.tensor2d(cells, [HEAT * HEAT, 2]);
  const dOut = t.discriminate(gridT);
  const d = await dOut.data();
  tf.dispose([gridT, dOut]);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const cw = canvas.width / HEAT;
  const ch = canvas.height / HEAT;
  for (let i = 0; i < HEAT * HEAT; i++) {
    const p = d[i] as number; // 0 = "fake" (orange), 1 = "real" (blue)
    // Opaque colours (pre-mixed with 30 % white) so neighbouring cells leave no seams.
    const mix = (a: number, c: number) => Math.round(0.3 * 255 + 0.7 * (a * (1 - p) + c * p));
    ctx.fillStyle = `rgb(${mix(245, 93)},${mix(176, 173)},${mix(65, 226)})`;
    ctx.fillRect((i % HEAT) * cw, Math.floor(i / HEAT) * ch, cw + 1, ch + 1);
  }
  const dot = (x: number, y: number, color: string, r = 2) => {
    const [px, py] = toCanvas(canvas, x, y);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(px, py, r, 0, 2 * Math.PI);
    ctx.fill();
  };
  for (let i = 0; i < realShown.length; i += 2) dot(realShown[i] as number, realShown[i + 1] as number, '#2ca02c');
  if (settings.overlay === 'manifold') {
    // G's image of a regular latent grid: how G folds the noise plane onto the data.
    const side = 21;
    const z = tf.tensor2d(
      Array.from({ length: side * side }, (_, i) => [
        -2 + (4 * (i % side)) / (side - 1),
        -2 + (4 * Math.floor(i / side)) / (side - 1),
      ]).flat(),
      [side * side, 2],
    );
    const xOut = t.generate(z);
    const xy = await xOut.data();
    tf.dispose([z, xOut]);
    ctx.strokeStyle = 'rgba(80,80,80,0.6)';
    ctx.lineWidth = 0.7;
    for (let row = 0; row < side; row++) {
      for (const along of [true, false]) {
        ctx.beginPath();
        for (let c = 0; c < side; c++) {
          const i = along ? row * side + c : c * side + row;
          const [px, py] = toCanvas(canvas, xy[2 * i] as number, xy[2 * i + 1] as number);
          if (c === 0) ctx.moveTo(px, py);
          else ctx.lineTo(px, py);
        }
        ctx.stroke();
      }
    }
  }
  if (settings.overlay === 'gradients') {
    // Where the generator's loss pushes each generated point: −∂L_G/∂x through D.
    const fake = tf.tensor2d(lastFake.slice(0, 2 * 150), [150, 2]);
    const grad = tf.grad((x: tf.Tensor) => t.loss.generator({ fakeLogits: t.discriminator.apply(x, { training: false }) }))(fake);
    const gv = await grad.data();
    tf.dispose([fake, grad]);
    let max = 1e-12;
    for (let i = 0; i < gv.length; i += 2) max = Math.max(max, Math.hypot(gv[i] as number, gv[i + 1] as number));
    ctx.strokeStyle = 'rgba(60,20,90,0.8)';
    ctx.lineWidth = 1;
    for (let i = 0; i < 150; i++) {
      const x = lastFake[2 * i] as number;
      const y = lastFake[2 * i + 1] as number;
      const s = (0.12 * e) / max;
      const [ax, ay] = toCanvas(canvas, x, y);
      const [bx, by] = toCanvas(canvas, x - s * (gv[2 * i] as number), y - s * (gv[2 * i + 1] as number));
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.stroke();
    }
  }
  for (let i = 0; i < lastFake.length; i += 2) dot(lastFake[i] as number, lastFake[i + 1] as number, '#9b30d9');
  drawLosses();
  const last = history.at(-1);
  const lines = [
    `backend   ${tf.getBackend()}`,
    `step      ${t.stepCount}`,
    `D loss    ${last?.dLoss.toFixed(4) ?? '–'}`,
    `G loss    ${last?.gLoss.toFixed(4) ?? '–'}`,
    `D(x)      ${last?.dReal.toFixed(3) ?? '–'}    D(G(z)) ${last?.dFake.toFixed(3) ?? '–'}`,
    `distance to data ${distances.at(-1)?.value.toFixed(3) ?? '–'}`,
  ];
  if (coverage !== undefined) {
    lines.push(
      `modes     ${coverage.modesCovered}/${coverage.numModes}, ${(100 * coverage.highQualityShare).toFixed(1)} % high quality`,
    );
  }
  $('stats').textContent = lines.join('\n');
}

function drawLosses(): void {
  const canvas = $<HTMLCanvasElement>('losses');
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (history.length < 2) return;
  const w = Math.max(1, Math.round(history.length / 60));
  const smooth = (k: 'dLoss' | 'gLoss') =>
    history.map((_, i) => {
      const from = Math.max(0, i - w + 1);
      let s = 0;
      for (let j = from; j <= i; j++) s += (history[j] as Record_)[k];
      return s / (i - from + 1);
    });
  const series = [
    { values: smooth('dLoss'), color: '#1f77b4' },
    { values: smooth('gLoss'), color: '#d62728' },
  ];
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const lo = Math.min(...all);
  const hi = Math.max(...all) + 1e-9;
  const x = (i: number) => (i / (history.length - 1)) * (canvas.width - 10) + 5;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const y = canvas.height - 5 - ((v - lo) / (hi - lo)) * (canvas.height - 10);
      if (i === 0) ctx.moveTo(x(i), y);
      else ctx.lineTo(x(i), y);
    });
    ctx.stroke();
  }
  // The distance to the data on its own scale (0 at the bottom).
  const maxD = Math.max(...distances.map((d) => d.value), 1e-9);
  const last = history.at(-1)?.step ?? 1;
  ctx.strokeStyle = '#444';
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  distances.forEach((d, i) => {
    const px = (d.step / last) * (canvas.width - 10) + 5;
    const py = canvas.height - 5 - (d.value / maxD) * (canvas.height - 10);
    if (i === 0) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
  });
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = '#444';
  ctx.fillText(`loss ${lo.toFixed(2)} … ${hi.toFixed(2)}`, 8, 12);
}

function updatePlayButton(): void {
  $('play').textContent = running ? '❚❚ Pause' : '▶ Train';
}

/** Serialises actions so a click never interleaves with a running step. */
function enqueue(action: () => Promise<void>): Promise<void> {
  busy = busy.then(action).catch((e: unknown) => {
    running = false;
    updatePlayButton();
    message(e instanceof Error ? e.message : String(e));
  });
  return busy;
}

async function loop(): Promise<void> {
  while (running) {
    await enqueue(async () => {
      // A few steps per frame, then a repaint.
      for (let i = 0; i < 5 && running; i++) await trainStep();
      await measure();
      await render();
    });
    await new Promise((r) => requestAnimationFrame(() => r(undefined)));
  }
}

$('play').addEventListener('click', () => {
  running = !running;
  updatePlayButton();
  if (running) void loop();
});
$('step').addEventListener('click', () => {
  running = false;
  updatePlayButton();
  void enqueue(async () => {
    await train(1);
    await render();
  });
});
$('reset').addEventListener('click', () => {
  readSettings();
  void enqueue(reset);
});
for (const id of ['distribution', 'loss', 'k', 'lrG', 'lrD', 'backend']) {
  $(id).addEventListener('change', () => {
    readSettings();
    void enqueue(reset);
  });
}
$('overlay').addEventListener('change', () => {
  readSettings();
  void enqueue(render);
});

/** The page's state and controls, for scripts and tests. */
const api = {
  ready: false,
  /** Applies settings (any subset) and resets. */
  configure: (s: Partial<Settings>) => {
    Object.assign(settings, s);
    writeSettings();
    return enqueue(reset);
  },
  /** Trains n steps now (pauses the animation loop first), then repaints. */
  train: (n: number) => {
    running = false;
    updatePlayButton();
    return enqueue(async () => {
      await train(n);
      await render();
    });
  },
  play: () => {
    if (!running) $('play').click();
  },
  pause: () => {
    running = false;
    updatePlayButton();
  },
  reset: () => enqueue(reset),
  /** A snapshot of the numbers on the page. */
  state: () => ({
    backend: tf.getBackend(),
    settings: { ...settings },
    step: trainer?.stepCount ?? 0,
    running,
    history: history.map((h) => ({ ...h })),
    distances: distances.map((d) => ({ ...d })),
    coverage:
      coverage === undefined
        ? null
        : { modesCovered: coverage.modesCovered, numModes: coverage.numModes, highQualityShare: coverage.highQualityShare },
    message: $('message').textContent ?? '',
    numTensors: tf.memory().numTensors,
  }),
};
(window as unknown as { playground: typeof api }).playground = api;

// Start on the fastest backend this browser offers
// (?backend=webgl etc. starts on that one when it works.)
const requested = new URLSearchParams(location.search).get('backend');
const preferred = await selectBackend([...(requested ? [requested] : []), 'webgpu', 'webgl', 'wasm', 'cpu']);
settings.backend = preferred;
writeSettings();
await enqueue(reset);
api.ready = true;
