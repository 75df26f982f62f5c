// SIGINT/SIGTERM during training: finish the current iteration, checkpoint, exit 130/143 (the CLI sets the code).
export interface StopRequest {
  readonly signal: null | 'SIGINT' | 'SIGTERM';
  dispose(): void;
}

export function stopRequest(): StopRequest {
  const state: { signal: null | 'SIGINT' | 'SIGTERM' } = { signal: null };
  const onInt = () => {
    if (state.signal) process.exit(130); // a second Ctrl-C stops at once
    state.signal = 'SIGINT';
  };
  const onTerm = () => {
    state.signal = 'SIGTERM';
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    get signal() {
      return state.signal;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
