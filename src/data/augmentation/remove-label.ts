// BG2 RemoveLabelTansform: one label value replaced by another in the seg (nnU-Net: −1 → 0 after augmentation).
import { tidy } from '../../torch/index.js';
import type { Transform } from './transform.js';

export function removeLabel(label = -1, setTo = 0): Transform {
  return (sample) => tidy(() => ({ ...sample, seg: sample.seg.maskedFill(sample.seg.eq(label), setTo) }));
}
