// Dynamic loss scaling as torch.cuda.amp.GradScaler, for float16 autocast: the loss is multiplied by `scale` before
// backward so that small float16 gradients do not flush to zero, and the gradients are divided by it before
// clipping. A step whose gradients are not finite is skipped and the scale backs off; after growthInterval
// consecutive finite steps it grows. The skip itself is the training step's (train-step.ts): the scaler only
// hears the outcome through update(), so AMP and fp32 runs share one non-finite path and divergence streak.
import { UserError } from '../../errors.js';
import { z } from 'zod';
import { type Tensor, noGrad } from '../../torch/index.js';

/** GradScaler.state_dict(), key for key: what upstream writes as the checkpoint's grad_scaler_state. */
export interface GradScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

const StateSchema = z.object({
  scale: z.number().positive(),
  growth_factor: z.number().gt(1),
  backoff_factor: z.number().gt(0).lt(1),
  growth_interval: z.number().int().positive(),
  _growth_tracker: z.number().int().nonnegative(),
});

export class GradScaler {
  /** float32, as the scale tensor PyTorch keeps */
  private scaleValue: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private growthTracker = 0;

  constructor(options: GradScalerOptions = {}) {
    // PyTorch's defaults
    const state = StateSchema.parse({
      scale: options.initScale ?? 2 ** 16,
      growth_factor: options.growthFactor ?? 2,
      backoff_factor: options.backoffFactor ?? 0.5,
      growth_interval: options.growthInterval ?? 2000,
      _growth_tracker: 0,
    });
    this.scaleValue = Math.fround(state.scale);
    this.growthFactor = state.growth_factor;
    this.backoffFactor = state.backoff_factor;
    this.growthInterval = state.growth_interval;
  }

  get scale(): number {
    return this.scaleValue;
  }

  /** The loss to call backward on. */
  scaleLoss(loss: Tensor): Tensor {
    return loss.mul(this.scaleValue);
  }

  /** Divides the gradients by the scale in place (by its float32 reciprocal, as unscale_), before clipping. */
  unscale(params: readonly Tensor[]): void {
    const inv = Math.fround(1 / this.scaleValue);
    noGrad(() => {
      for (const p of params) {
        const g = p.grad;
        if (g) {
          g.mul_(inv);
          g.dispose();
        }
      }
    });
  }

  /**
   * After every step: `skipped` is whether the step found non-finite values (loss or gradients) and left the weights
   * alone. As _amp_update_scale_: back off and restart the count on a skip; grow after growthInterval finite steps
   * in a row (unless the grown scale would overflow float32).
   */
  update(skipped: boolean): void {
    if (skipped) {
      this.scaleValue = Math.fround(this.scaleValue * this.backoffFactor);
      this.growthTracker = 0;
      return;
    }
    const successful = this.growthTracker + 1;
    if (successful < this.growthInterval) {
      this.growthTracker = successful;
      return;
    }
    const grown = Math.fround(this.scaleValue * this.growthFactor);
    if (Number.isFinite(grown)) this.scaleValue = grown;
    this.growthTracker = 0;
  }

  stateDict(): GradScalerState {
    return { scale: this.scaleValue, growth_factor: this.growthFactor, backoff_factor: this.backoffFactor, growth_interval: this.growthInterval, _growth_tracker: this.growthTracker };
  }

  /** A grad_scaler_state as read from a checkpoint (ours or nnU-Net's); throws naming `source` when malformed. */
  static fromState(value: unknown, source: string): GradScaler {
    const parsed = StateSchema.safeParse(value);
    if (!parsed.success) throw new UserError(`${source}: grad_scaler_state is not a GradScaler state: ${z.prettifyError(parsed.error)}`);
    const s = parsed.data;
    const scaler = new GradScaler({ initScale: s.scale, growthFactor: s.growth_factor, backoffFactor: s.backoff_factor, growthInterval: s.growth_interval });
    scaler.growthTracker = s._growth_tracker;
    return scaler;
  }
}
