// Gradient-mode scopes. Gradient mode is per thread in libtorch, and each JS thread runs on one OS thread.
import { native } from './native.js';

function withGradMode<R>(enabled: boolean, fn: () => R): R {
  const previous = native.isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs fn without recording operations for autograd (inference, optimizer updates). */
export function noGrad<R>(fn: () => R): R {
  return withGradMode(false, fn);
}

export function enableGrad<R>(fn: () => R): R {
  return withGradMode(true, fn);
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
