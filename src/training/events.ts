// Typed training events: the loop emits them, the CLI (progress bar, console), the training log and, later, a
// dashboard subscribe. Listeners observe; decisions go through callbacks.
import type { Fold } from '../model/model-folder.js';
import type { CheckpointKind } from './callbacks/callback.js';

export interface TrainerEventMap {
  start: {
    outputFolder: string;
    trainer: string;
    configuration: string;
    fold: Fold;
    numEpochs: number;
    iterationsPerEpoch: number;
    startEpoch: number;
    startIteration: number;
    resumedFrom: string | null;
  };
  epochStart: { epoch: number; lr: number; iterations: number; startIteration: number };
  iteration: { epoch: number; iteration: number; iterations: number; loss: number };
  /** The training iterations of an epoch are done (or were interrupted). */
  trainEpochEnd: { epoch: number; completed: boolean };
  validation: { epoch: number; trainLoss: number; valLoss: number; pseudoDice: number[]; meanFgDice: number; emaFgDice: number; epochSeconds: number };
  checkpoint: { kind: CheckpointKind; file: string; nextEpoch: number };
  log: { line: string };
  stop: { reason: 'finished' | 'stopped_early' | 'interrupted' | 'already_finished' | 'diverged'; epochs: number; signal: 'SIGINT' | 'SIGTERM' | null };
}

export type TrainerEventName = keyof TrainerEventMap;
export type TrainerListener<K extends TrainerEventName> = (event: TrainerEventMap[K]) => void;

export class TrainerEvents {
  private readonly listeners = new Map<TrainerEventName, Set<(event: never) => void>>();

  /** Subscribe; returns the unsubscribe function. */
  on<K extends TrainerEventName>(name: K, listener: TrainerListener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends TrainerEventName>(name: K, event: TrainerEventMap[K]): void {
    for (const l of this.listeners.get(name) ?? []) (l as TrainerListener<K>)(event);
  }
}
