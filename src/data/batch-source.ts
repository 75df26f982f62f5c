// Makes training/validation batches. Batch k of a stream is a pure function of (seed, stream, k): its random draws
// come from a Generator seeded from those three numbers, so background workers, restarts and resumes all produce
// exactly the same batches.
import { readPreprocessedCase } from '../preprocessing/preprocessed-store.js';
import { Generator, type Tensor, cat, keep, stack, tidy, Tensor as T } from '../torch/index.js';
import { cropPatch } from './crop-patch.js';
import { forceForeground, sampleBbox, sampleSlice } from './patch-sampler.js';
import { readPreviousStageSegmentation } from './previous-stage.js';
import { type AugmentationConfig, type SampleTransform, buildTrainingTransforms, buildValidationTransforms } from './augmentation/index.js';

export interface BatchStreamConfig {
  preprocessedDir: string;
  caseIds: string[];
  batchSize: number;
  /** final patch size fed to the network */
  patchSize: number[];
  oversampleForeground: number;
  seed: number;
  stream: 'train' | 'val';
  augmentation: AugmentationConfig;
  /** false: training batches get the validation transforms (nnUNetTrainerNoDA); default true */
  augment?: boolean;
  /**
   * Data-parallel training: this rank's samples of the global batch (Strategy.batchShare) and the world. Batch k of a
   * rank is then a pure function of (seed, stream, k, rank, world size), and foreground oversampling follows the global
   * sample index, so that the global batch keeps nnU-Net's pattern. Absent or a world of 1: the batch is the whole one.
   */
  share?: { rank: number; worldSize: number; offset: number; globalBatchSize: number };
  /**
   * Cascade stages: the folder of the previous stage's segmentations (previous-stage.ts). Each case's rides along as
   * seg channel 1 through cropping and the spatial transforms until augmentation.previousStageLabels moves it into the
   * image as one-hot channels.
   */
  previousStageDir?: string;
}

export interface Batch {
  index: number;
  data: Float32Array;
  dataShape: number[];
  /** targets per deep-supervision level, highest resolution first */
  targets: Int16Array[];
  targetShapes: number[][];
}

interface LoadedCase {
  data: Tensor;
  seg: Tensor;
  shape: number[];
  classLocations: Record<string, number[][]>;
}

/**
 * Distinct, well-mixed 48-bit seeds from (seed, stream, index) and, in a data-parallel run, (rank, world size)
 * (splitmix64 finalizer). A world of 1 adds nothing, so one process keeps the seeds it always had.
 */
export function batchSeed(seed: number, stream: 'train' | 'val', index: number, rank = 0, worldSize = 1): number {
  const place = worldSize === 1 ? 0n : BigInt(worldSize) * 65536n + BigInt(rank) + 1n;
  let z = (BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(stream === 'train' ? 1 : 2) * 0xbf58476d1ce4e5b9n + BigInt(index) * 0x94d049bb133111ebn + place * 0xd6e8feb86659fd93n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  z ^= z >> 31n;
  return Number(z & 0xffffffffffffn);
}

export class BatchSource {
  private readonly cache = new Map<string, LoadedCase>();
  private readonly transform: SampleTransform;
  private readonly samplePatch: number[];

  constructor(private readonly config: BatchStreamConfig) {
    const built = config.stream === 'train' && config.augment !== false ? buildTrainingTransforms(config.augmentation) : buildValidationTransforms(config.augmentation);
    this.transform = built.transform;
    this.samplePatch = built.samplePatchSize;
  }

  private async load(id: string): Promise<LoadedCase> {
    let c = this.cache.get(id);
    if (!c) {
      const stored = await readPreprocessedCase(this.config.preprocessedDir, id);
      const spatial = stored.shape.slice(1);
      const prev = this.config.previousStageDir === undefined ? null : await readPreviousStageSegmentation(this.config.previousStageDir, id, spatial);
      c = {
        data: keep(T.fromBuffer(stored.data, stored.shape, 'float32')),
        seg: keep(
          tidy(() => {
            const seg = T.fromBuffer(stored.seg, [1, ...spatial], stored.seg instanceof Int8Array ? 'int8' : 'int16').to('int16');
            return prev === null ? seg : cat([seg, T.fromBuffer(prev, [1, ...spatial], 'uint8').to('int16')], 0);
          }),
        ),
        shape: stored.shape.slice(1),
        classLocations: stored.properties.class_locations,
      };
      this.cache.set(id, c);
    }
    return c;
  }

  async makeBatch(index: number): Promise<Batch> {
    const { batchSize, oversampleForeground, caseIds, share } = this.config;
    const rng = new Generator(batchSeed(this.config.seed, this.config.stream, index, share?.rank, share?.worldSize));
    const picks = Array.from({ length: batchSize }, () => caseIds[rng.integer(0, caseIds.length)]);
    const cases = await Promise.all(picks.map((id) => this.load(id)));
    return tidy(() => {
      const images: Tensor[] = [];
      const segLevels: Tensor[][] = [];
      cases.forEach((c, j) => {
        const fg = forceForeground((share?.offset ?? 0) + j, share?.globalBatchSize ?? batchSize, oversampleForeground);
        let image = c.data;
        let seg = c.seg;
        let shape = c.shape;
        let locations = c.classLocations;
        if (this.samplePatch.length < shape.length) {
          const picked = sampleSlice({ shape, classLocations: locations }, fg, rng);
          image = image.select(1, picked.slice);
          seg = seg.select(1, picked.slice);
          shape = shape.slice(1);
          locations = picked.locations;
        }
        const corner = sampleBbox(shape, this.samplePatch, locations, fg, rng);
        const sample = this.transform({ image: cropPatch(image, corner, this.samplePatch, 0), seg: cropPatch(seg, corner, this.samplePatch, -1) }, rng);
        images.push(sample.image);
        sample.segs.forEach((s, level) => (segLevels[level] ??= []).push(s));
      });
      const data = stack(images);
      const targets = segLevels.map((level) => stack(level));
      return {
        index,
        data: data.toTypedArray() as Float32Array,
        dataShape: data.shape,
        targets: targets.map((t) => t.to('int16').toTypedArray() as Int16Array),
        targetShapes: targets.map((t) => t.shape),
      };
    });
  }

  dispose(): void {
    for (const c of this.cache.values()) {
      c.data.dispose();
      c.seg.dispose();
    }
    this.cache.clear();
  }
}
