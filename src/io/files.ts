import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors';
import { isRecord, parseJsonData } from './safe-json';

/*
 * Node file handlers. tfjs-core has no `file://` handler without tfjs-node, so
 * the library brings its own: atomic (temporary file or folder, fsync, rename)
 * so a process killed mid-save leaves the previous files intact.
 * Node modules are imported lazily: in a browser these functions are never called.
 */

const MAGIC = 'TFGANCK1';

type FS = typeof import('node:fs/promises');
type Path = typeof import('node:path');

/**
 * A dynamic import that bundlers leave alone (the specifier is not a literal), so browser
 * bundles of the library never try to resolve Node's built-ins.
 */
const importNode = <T>(specifier: string): Promise<T> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;

async function node(): Promise<{ fs: FS; path: Path }> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    throw new CheckpointError('file:// paths need Node.js; in a browser use indexeddb://, downloads:// or an IOHandler');
  }
  const [fs, path] = await Promise.all([importNode<FS>('node:fs/promises'), importNode<Path>('node:path')]);
  return { fs, path };
}

/** `file:///a/b` or `file://a/b` → `/a/b` / `a/b`. */
export function filePath(url: string): string {
  return url.replace(/^file:\/\//, '');
}

/** Whether a destination string names a local file. */
export const isFileUrl = (url: string): boolean => url.startsWith('file://');

function tempName(target: string): string {
  return `${target}.tmp-${typeof process === 'undefined' ? 0 : process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

async function writeDurably(fs: FS, file: string, chunks: readonly Uint8Array[]): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    for (const chunk of chunks) {
      // Write in slices so a large checkpoint is never one huge syscall.
      for (let o = 0; o < chunk.byteLength; o += 8 << 20)
        await handle.write(chunk.subarray(o, Math.min(o + (8 << 20), chunk.byteLength)));
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(fs: FS, dir: string): Promise<void> {
  try {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  }
}

function joinWeights(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return tf.io.CompositeArrayBuffer.join(data);
}

/**
 * An `IOHandler` that stores model artifacts in **one file**: an 8-byte magic,
 * a 4-byte header length, the JSON header (everything but the weights), then
 * the weight bytes. Saving writes a temporary file, fsyncs and renames it over
 * the target, which is atomic on POSIX file systems.
 */
export function singleFileHandler(url: string): tf.io.IOHandler {
  const target = filePath(url);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { fs, path } = await node();
      await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
      const { weightData, ...rest } = artifacts;
      const header = new TextEncoder().encode(JSON.stringify(rest));
      const weights = new Uint8Array(joinWeights(weightData));
      const prefix = new Uint8Array(12);
      prefix.set(new TextEncoder().encode(MAGIC), 0);
      new DataView(prefix.buffer).setUint32(8, header.byteLength, true);
      const tmp = tempName(target);
      try {
        await writeDurably(fs, tmp, [prefix, header, weights]);
        await fs.rename(tmp, target);
      } catch (e) {
        await fs.rm(tmp, { force: true });
        throw e;
      }
      await syncDir(fs, path.dirname(path.resolve(target)));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: header.byteLength,
          weightSpecsBytes: 0,
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const { fs } = await node();
      let bytes: Uint8Array;
      try {
        bytes = await fs.readFile(target);
      } catch (e) {
        throw new CheckpointError(`cannot read ${target}: ${(e as Error).message}`);
      }
      if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
        throw new CheckpointError(`${target} is not a tfjs-gan checkpoint file (bad magic or truncated header)`);
      }
      const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 12).getUint32(8, true);
      if (12 + headerLength > bytes.byteLength) {
        throw new CheckpointError(
          `${target} is truncated: its header needs ${headerLength} bytes, the file has ${bytes.byteLength - 12}`,
        );
      }
      let header: unknown;
      try {
        header = parseJsonData(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
      } catch (e) {
        throw new CheckpointError(`${target} has an unreadable header: ${(e as Error).message}`);
      }
      if (!isRecord(header)) throw new CheckpointError(`${target} has an unreadable header: not an object`);
      const weightData = new Uint8Array(bytes.subarray(12 + headerLength)).buffer; // a copy: Node buffers share a pool
      return { ...(header as tf.io.ModelArtifacts), weightData };
    },
  };
}

/**
 * An `IOHandler` that saves a model in the standard TensorFlow.js layers format
 * (`model.json` + `weights.bin` in a folder), readable by `tf.loadLayersModel`.
 * The folder is written under a temporary name and swapped in.
 */
export function layersModelFolderHandler(url: string): tf.io.IOHandler {
  const target = filePath(url);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { fs, path } = await node();
      const dir = path.resolve(target);
      await fs.mkdir(path.dirname(dir), { recursive: true });
      const weights = new Uint8Array(joinWeights(artifacts.weightData));
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? 'tfjs-gan',
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: artifacts.userDefinedMetadata }),
      };
      const tmp = tempName(dir);
      const old = `${tempName(dir)}.old`;
      await fs.mkdir(tmp);
      try {
        await writeDurably(fs, path.join(tmp, 'weights.bin'), [weights]);
        await writeDurably(fs, path.join(tmp, 'model.json'), [new TextEncoder().encode(JSON.stringify(modelJson))]);
        const exists = await fs.stat(dir).then(
          () => true,
          () => false,
        );
        if (exists) await fs.rename(dir, old);
        await fs.rename(tmp, dir);
        if (exists) await fs.rm(old, { recursive: true, force: true });
      } catch (e) {
        await fs.rm(tmp, { recursive: true, force: true });
        throw e;
      }
      await syncDir(fs, path.dirname(dir));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}

/** Deletes a file written by {@link singleFileHandler} (for keep-last-K rotation). */
export async function removeFile(url: string): Promise<void> {
  const { fs } = await node();
  await fs.rm(filePath(url), { force: true });
}
