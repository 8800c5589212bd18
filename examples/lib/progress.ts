/**
 * A terminal progress bar for `GANTrainer.fit` (cli-progress): epoch, step, steps/s, ETA and the
 * step's dLoss, gLoss, D(x), D(G(z)). When stderr is not a terminal it prints a line every few seconds instead.
 */
import { SingleBar } from 'cli-progress';
import type { GANCallback, StepLogs } from 'tfjs-gan';

/** Options of {@link progressBar}. */
export interface ProgressOptions {
  /** Steps the whole run will take (the bar's 100 %). */
  readonly totalSteps: number;
  /** Epochs of the run, shown as `epoch e/epochs`. */
  readonly epochs: number;
  /** Seconds between lines when not on a terminal. Default 5. */
  readonly logEverySeconds?: number;
}

/** The progress bar as a {@link GANCallback}; also exposes the measured rate. */
export interface ProgressCallback extends GANCallback {
  /** Mean steps per second since training began. */
  stepsPerSecond(): number;
}

const num = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : String(v));

export function progressBar(options: ProgressOptions): ProgressCallback {
  const tty = process.stderr.isTTY === true;
  const bar = new SingleBar({
    format:
      'epoch {epoch}/{epochs} [{bar}] step {value}/{total} | {rate} steps/s | ETA {eta_formatted} | ' +
      'dLoss {dLoss} gLoss {gLoss} D(x) {dReal} D(G(z)) {dFake}',
    barsize: 24,
    fps: 5,
    etaBuffer: 200,
    hideCursor: true,
    noTTYOutput: !tty,
    notTTYSchedule: (options.logEverySeconds ?? 5) * 1000,
  });
  let started = 0;
  let done = 0;
  const rate = (): number => (done === 0 ? 0 : done / ((performance.now() - started) / 1000));
  const payload = (l: StepLogs | undefined, epoch: number) => ({
    epoch: epoch + 1,
    epochs: options.epochs,
    rate: rate().toFixed(1),
    dLoss: num(l?.dLoss ?? Number.NaN),
    gLoss: num(l?.gLoss ?? Number.NaN),
    dReal: num(l?.dReal ?? Number.NaN),
    dFake: num(l?.dFake ?? Number.NaN),
  });
  let epoch = 0;
  return {
    onTrainBegin() {
      started = performance.now();
      done = 0;
      bar.start(options.totalSteps, 0, payload(undefined, 0));
    },
    onEpochBegin(e) {
      epoch = e;
    },
    onStepEnd(l) {
      done++;
      bar.update(done, payload(l, epoch));
    },
    onTrainEnd() {
      bar.stop();
    },
    stepsPerSecond: rate,
  };
}
