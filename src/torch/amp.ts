// Mixed precision as torch.autocast: inside withAutocast(device, fn), libtorch runs the ops on its lower-precision
// list (convolutions, matmuls) in float16 on CUDA and keeps the ones on its float32 list (softmax, losses) in float32.
// The state is per thread and per device type; only tensors on that device type are affected.
import { native } from './native.js';
import type { DType, Device } from './tensor.js';

type AutocastDevice = 'cpu' | 'cuda';

function deviceType(device: Device): AutocastDevice {
  return device === 'cpu' ? 'cpu' : 'cuda';
}

/** torch.autocast's default lower-precision type per device type. */
const LOWER_PRECISION: Record<AutocastDevice, DType> = { cuda: 'float16', cpu: 'bfloat16' };

/** nnU-Net's policy: autocast and loss scaling on CUDA, neither on CPU (where float16 kernels are slow or missing). */
export function ampDefault(device: Device): boolean {
  return deviceType(device) === 'cuda';
}

export function isAutocastEnabled(device: Device): boolean {
  return native.autocastState(deviceType(device))[0];
}

/**
 * Runs the synchronous fn with autocast on for `device`'s type (or, with enabled false, explicitly off), restoring
 * the previous state afterwards. Leaving the outermost region drops autocast's cache of casted weights, which would
 * otherwise keep the pre-step float16 copies of parameters the optimizer has since updated.
 */
export function withAutocast<R>(device: Device, fn: () => R, enabled = true): R {
  if ((fn as unknown as { constructor: { name: string } }).constructor.name === 'AsyncFunction') {
    throw new Error('withAutocast() takes a synchronous function: autocast is per thread and would leak across an await');
  }
  const type = deviceType(device);
  const [wasEnabled, wasDtype] = native.autocastState(type);
  native.setAutocast(type, enabled, LOWER_PRECISION[type]);
  native.autocastIncrementNesting();
  try {
    return fn();
  } finally {
    if (native.autocastDecrementNesting() === 0) native.autocastClearCache();
    native.setAutocast(type, wasEnabled, wasDtype);
  }
}

/** fn under autocast on `device` when `enabled`; otherwise fn as it is, the autocast state untouched. */
export function maybeAutocast<R>(device: Device, enabled: boolean, fn: () => R): R {
  return enabled ? withAutocast(device, fn) : fn();
}
