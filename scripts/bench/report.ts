/** The benchmark's result records and its readable table. */

/** Memory over a long run: `tf.memory()` sampled after each pass over the data. */
export interface MemoryTrace {
  readonly steps: number;
  /** Live tensors after each sample (the first after the first pass). */
  readonly tensors: number[];
  /** Live tensor bytes after each sample. */
  readonly bytes: number[];
  /** Growth between the first and the last sample, per step. */
  readonly tensorsPerStep: number;
  readonly bytesPerStep: number;
  /** Process resident set size growth over the run (MiB), for information (the JS heap and allocators breathe). */
  readonly rssGrowthMiB: number;
  /** True when the live tensor count and bytes were the same at every sample. */
  readonly flat: boolean;
}

/** One runner (library / hand-written) on one backend and model. */
export interface RunnerResult {
  readonly backend: string;
  readonly model: string;
  readonly runner: string;
  /** Steps per timed run. */
  readonly steps: number;
  /** Steps/s of each timed run. */
  readonly runs: number[];
  /** Median of `runs`. */
  readonly stepsPerSecond: number;
  /** Steps per second of this process's CPU time (user + system), per run. */
  readonly cpuRuns: number[];
  /** Median of `cpuRuns`: little affected by other processes when the backend uses one thread. */
  readonly stepsPerCpuSecond: number;
  /** Tensors and bytes the timed runs left behind, per step (0 when nothing leaks). */
  readonly tensorsHeldPerStep: number;
  readonly bytesHeldPerStep: number;
  /** Live tensors and bytes after the timed runs (models, optimizer state, data included). */
  readonly liveTensors: number;
  readonly liveBytes: number;
  /** From `tf.profile` of one step: kernels run, and the peak of tensor bytes above the start. */
  readonly kernelsPerStep: number;
  readonly peakStepBytes: number;
  readonly memory?: MemoryTrace;
}

/** A runner's steps/s over the hand-written loop's, same backend and model, same process, interleaved runs. */
export interface Ratio {
  readonly backend: string;
  readonly model: string;
  readonly runner: string;
  readonly overHandwritten: number;
  /** The same ratio of steps per CPU-second. */
  readonly cpuOverHandwritten: number;
}

export interface TorchResult {
  readonly model: string;
  readonly device: string;
  readonly threads: number;
  readonly torch: string;
  readonly runs: number[];
  readonly median: number;
}

export interface BenchReport {
  readonly meta: Record<string, unknown>;
  readonly results: RunnerResult[];
  readonly ratios: Ratio[];
  readonly torch: TorchResult[];
  readonly skipped: string[];
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  const [head, ...body] = rows;
  return [line(head ?? []), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** A Markdown table of the results (one row per backend, model and runner). */
export function formatReport(report: BenchReport): string {
  const rows: string[][] = [
    [
      'backend',
      'model',
      'runner',
      'steps/s',
      'runs',
      'per CPU-s',
      '÷ hand',
      'vs torch',
      'kernels/step',
      'peak MiB/step',
      'held/step',
      'live in process (MiB)',
      'memory',
    ],
  ];
  for (const r of report.results) {
    const ratio = report.ratios.find((q) => q.backend === r.backend && q.model === r.model && q.runner === r.runner);
    const torch = report.torch.find((t) => t.model === r.model);
    const mem = r.memory;
    rows.push([
      r.backend,
      r.model,
      r.runner,
      r.stepsPerSecond.toFixed(r.stepsPerSecond < 1 ? 3 : 2),
      r.runs.map((x) => x.toFixed(x < 1 ? 3 : 1)).join(' '),
      r.stepsPerCpuSecond.toFixed(r.stepsPerCpuSecond < 1 ? 3 : 2),
      ratio === undefined ? '' : `${ratio.overHandwritten.toFixed(2)} (CPU ${ratio.cpuOverHandwritten.toFixed(2)})`,
      torch === undefined ? '' : `${(r.stepsPerSecond / torch.median).toFixed(2)}x`,
      String(r.kernelsPerStep),
      mib(r.peakStepBytes),
      `${r.tensorsHeldPerStep} t, ${r.bytesHeldPerStep} B`,
      `${r.liveTensors} (${mib(r.liveBytes)})`,
      mem === undefined
        ? ''
        : `${mem.flat ? 'flat' : 'GROWS'} over ${mem.steps} steps (${mem.tensorsPerStep.toFixed(2)} t/step, rss ${mem.rssGrowthMiB >= 0 ? '+' : ''}${mem.rssGrowthMiB.toFixed(0)} MiB)`,
    ]);
  }
  const parts = [table(rows)];
  if (report.torch.length > 0) {
    parts.push(
      table([
        ['PyTorch', 'device', 'threads', 'steps/s', 'runs'],
        ...report.torch.map((t) => [
          `${t.model} (torch ${t.torch})`,
          t.device,
          String(t.threads),
          t.median.toFixed(2),
          t.runs.map((x) => x.toFixed(1)).join(' '),
        ]),
      ]),
    );
  }
  if (report.skipped.length > 0) parts.push(`skipped: ${report.skipped.join('; ')}`);
  return parts.join('\n\n');
}
