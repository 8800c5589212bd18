#!/usr/bin/env node
// Packs tfjs-gan with `npm pack`, installs the tarball into an empty temporary
// project next to TensorFlow.js, and checks it the way users consume it:
//   1. ESM runtime    (`import ... from 'tfjs-gan'` in an .mjs script)
//   2. CJS runtime    (`require('tfjs-gan')` in a .cjs script)
//   3. types, ESM     (tsc, module/moduleResolution nodenext, .ts in a "type": "module" project)
//   4. types, bundler (tsc, moduleResolution bundler)
//   5. types, CJS     (tsc, module/moduleResolution nodenext, .cts file)
// Exits non-zero if any check fails. Temporary directories are always removed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tscBin = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const npmCmd = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TF_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu'];

/** Environment for child processes, without the variables `npm run` sets for *this* project. */
function childEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('npm_package_') || key.startsWith('npm_lifecycle_') || key === 'npm_config_local_prefix') delete env[key];
  }
  return env;
}

/** Runs a command; returns its result, or throws with its output when it fails. */
function run(cmd, args, cwd, what) {
  const result = spawnSync(cmd, args, { cwd, env: childEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${what}: could not run ${cmd}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new Error(`${what}: \`${cmd} ${args.join(' ')}\` exited with ${result.status ?? result.signal}\n${output}`);
  }
  return result;
}

/**
 * Runs tsc on one consumer tsconfig. Fails on any diagnostic except those located inside
 * `node_modules/@tensorflow/` (TensorFlow.js's own declarations do not pass strict lib checking).
 */
function typecheck(project, config, what) {
  const result = spawnSync(process.execPath, [tscBin, '-p', config, '--pretty', 'false'], {
    cwd: project,
    env: childEnv(),
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`${what}: could not run tsc: ${result.error.message}`);
  const lines = `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '');
  // A diagnostic starts at column 0; its continuation lines are indented.
  const diagnostics = [];
  for (const line of lines) {
    if (/^\s/.test(line) && diagnostics.length > 0) diagnostics[diagnostics.length - 1] += `\n${line}`;
    else diagnostics.push(line);
  }
  const foreign = diagnostics.filter((d) => d.startsWith('node_modules/@tensorflow/'));
  const ours = diagnostics.filter((d) => !d.startsWith('node_modules/@tensorflow/'));
  if (ours.length > 0 || (result.status !== 0 && diagnostics.length === 0)) {
    throw new Error(`${what}: tsc -p ${config} reported ${ours.length} error(s)\n${ours.join('\n')}`);
  }
  return { stdout: foreign.length > 0 ? `(ignored ${foreign.length} diagnostics inside @tensorflow's own .d.ts files)` : '' };
}

/** Exact versions of the TensorFlow.js packages in our lockfile. */
function lockedVersions() {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
  return TF_PACKAGES.map((name) => {
    const version = lock.packages?.[`node_modules/${name}`]?.version;
    if (!version) throw new Error(`package-lock.json has no entry for ${name}; run npm install`);
    return `${name}@${version}`;
  });
}

const write = (dir, file, text) => writeFileSync(join(dir, file), `${text.trim()}\n`);

// A tiny GAN step, shared by the ESM and CJS runtime checks (only the imports differ).
const STEP_BODY = `
await tf.setBackend('cpu');
await tf.ready();
if (typeof losses.nonSaturating !== 'function') throw new Error('losses.nonSaturating is not a function');
const loss = losses.nonSaturating();
if (typeof loss.discriminator !== 'function' || typeof loss.generator !== 'function') throw new Error('losses.nonSaturating() is not a GANLoss');
const trainer = new GANTrainer({
  generator: mlpGenerator({ latentDim: 2, hiddenUnits: [4], outputShape: [1], outputActivation: 'linear', seed: 1 }),
  discriminator: mlpDiscriminator({ inputShape: [1], hiddenUnits: [4], seed: 2 }),
  loss,
  seed: 3,
});
const real = tf.randomNormal([8, 1], 0, 1, 'float32', 4);
const logs = await trainer.step(real);
console.log(JSON.stringify(logs));
for (const key of ['dLoss', 'gLoss', 'dReal', 'dFake']) {
  if (!Number.isFinite(logs[key])) throw new Error(\`step logs: \${key} is not a finite number: \${logs[key]}\`);
}
real.dispose();
trainer.dispose();
`;

const ESM_SCRIPT = `
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { GANTrainer, losses, mlpDiscriminator, mlpGenerator } from 'tfjs-gan';
${STEP_BODY}
`;

const CJS_SCRIPT = `
'use strict';
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const { GANTrainer, losses, mlpDiscriminator, mlpGenerator } = require('tfjs-gan');
(async () => {
${STEP_BODY}
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

// Type-level consumer. Uses values and types, so it checks the declarations end to end.
const TS_BODY = `
const loss: GANLoss = losses.nonSaturating();
export const trainer: GANTrainer = new GANTrainer({
  generator: mlpGenerator({ latentDim: 2, hiddenUnits: [4], outputShape: [1], outputActivation: 'linear' }),
  discriminator: mlpDiscriminator({ inputShape: [1], hiddenUnits: [4] }),
  loss,
});
export async function oneStep(real: tf.Tensor2D): Promise<StepLogs> {
  const logs: StepLogs = await trainer.step(real);
  const dLoss: number = logs.dLoss;
  void dLoss;
  return logs;
}
// @ts-expect-error -- StepLogs fields are numbers
export const wrong: StepLogs['gLoss'] = 'not a number';
`;

const TS_ESM = `
import type * as tf from '@tensorflow/tfjs-core';
import { type GANLoss, GANTrainer, losses, mlpDiscriminator, mlpGenerator, type StepLogs } from 'tfjs-gan';
${TS_BODY}
`;

const TS_CJS = `
import type * as tf from '@tensorflow/tfjs-core';
import type { GANLoss, StepLogs } from 'tfjs-gan';
import gan = require('tfjs-gan');
const { GANTrainer, losses, mlpDiscriminator, mlpGenerator } = gan;
type GANTrainer = gan.GANTrainer;
${TS_BODY}
`;

function tsconfig(module, moduleResolution, files) {
  return JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        module,
        moduleResolution,
        strict: true,
        noEmit: true,
        // Our .d.ts/.d.cts are checked too; errors inside @tensorflow's own declarations are filtered out below.
        skipLibCheck: false,
      },
      files,
    },
    null,
    2,
  );
}

function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'tfjs-gan-pack-'));
  const results = [];
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    // Pack (runs `prepack`, i.e. a fresh build).
    const packDir = join(tmp, 'pack');
    mkdirSync(packDir);
    console.log('pack check: npm pack');
    run(npmCmd, ['pack', '--pack-destination', packDir, '--silent'], repoRoot, 'npm pack');
    const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    if (tarballs.length !== 1) throw new Error(`npm pack: expected one tarball in ${packDir}, found ${tarballs.length}`);
    const tarball = join(packDir, tarballs[0]);

    // Empty consumer project.
    const project = join(tmp, 'consumer');
    mkdirSync(project);
    write(
      project,
      'package.json',
      JSON.stringify({ name: 'tfjs-gan-pack-consumer', version: '0.0.0', private: true, type: 'module' }),
    );
    const deps = [tarball, ...lockedVersions()];
    console.log(`pack check: npm install ${deps.map((d) => (d === tarball ? tarballs[0] : d)).join(' ')}`);
    run(npmCmd, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', ...deps], project, 'npm install');

    write(project, 'esm.mjs', ESM_SCRIPT);
    write(project, 'cjs.cjs', CJS_SCRIPT);
    write(project, 'consumer.ts', TS_ESM);
    write(project, 'consumer.cts', TS_CJS);
    write(project, 'tsconfig.nodenext.json', tsconfig('nodenext', 'nodenext', ['consumer.ts']));
    write(project, 'tsconfig.bundler.json', tsconfig('esnext', 'bundler', ['consumer.ts']));
    write(project, 'tsconfig.cjs.json', tsconfig('nodenext', 'nodenext', ['consumer.cts']));

    const checks = [
      ['ESM import (node esm.mjs)', (name) => run(process.execPath, ['esm.mjs'], project, name)],
      ['CJS require (node cjs.cjs)', (name) => run(process.execPath, ['cjs.cjs'], project, name)],
      ['types, module/moduleResolution nodenext (ESM .ts)', (name) => typecheck(project, 'tsconfig.nodenext.json', name)],
      ['types, moduleResolution bundler (.ts)', (name) => typecheck(project, 'tsconfig.bundler.json', name)],
      ['types, CJS consumer (nodenext .cts)', (name) => typecheck(project, 'tsconfig.cjs.json', name)],
    ];
    for (const [name, check] of checks) {
      try {
        const { stdout } = check(name);
        const out = stdout.trim();
        console.log(`  ok   ${name}${out ? `\n       ${out.split('\n').join('\n       ')}` : ''}`);
        results.push(true);
      } catch (error) {
        console.error(`  FAIL ${name}\n${String(error.message ?? error).replace(/^/gm, '       ')}`);
        results.push(false);
      }
    }
  } catch (error) {
    console.error(`pack check: setup failed: ${error.message ?? error}`);
    results.push(false);
  } finally {
    cleanup();
  }
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`pack check: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main();
