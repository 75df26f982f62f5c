// Optimizer base with torch's state_dict layout: { state: {paramIndex: {...}}, param_groups: [{..., params: [indices]}] }.
import { keep } from '../scope.js';
import { Tensor } from '../tensor.js';

export type HyperValue = number | boolean | null | number[];
export type ParamGroup = Record<string, HyperValue>;
export type ParamState = Record<string, Tensor>;
export interface OptimizerStateDict {
  state: Map<number, ParamState>;
  param_groups: ParamGroup[];
}

export abstract class Optimizer {
  protected readonly state = new Map<number, ParamState>();
  readonly group: ParamGroup;

  constructor(readonly params: Tensor[], defaults: ParamGroup) {
    this.group = { ...defaults };
  }

  abstract step(): void;

  get lr(): number {
    return this.group.lr as number;
  }
  set lr(value: number) {
    this.group.lr = value;
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** A snapshot: tensors are copies, so the caller may free them after saving. */
  stateDict(): OptimizerStateDict {
    const state = new Map<number, ParamState>();
    for (const [i, s] of this.state) state.set(i, Object.fromEntries(Object.entries(s).map(([k, t]) => [k, t.clone()])));
    return { state, param_groups: [{ ...this.group, params: this.params.map((_, i) => i) }] };
  }

  loadStateDict(sd: OptimizerStateDict): void {
    const groups = sd.param_groups;
    if (groups.length !== 1) throw new Error(`optimizer state has ${groups.length} param groups, expected 1`);
    const indices = groups[0].params as number[];
    if (indices.length !== this.params.length) throw new Error(`optimizer state covers ${indices.length} parameters, the model has ${this.params.length}`);
    const { params: _ignored, ...hyper } = groups[0];
    Object.assign(this.group, hyper);
    this.disposeState();
    for (const [i, s] of sd.state) {
      const own: ParamState = {};
      for (const [k, t] of Object.entries(s)) {
        if (!(t instanceof Tensor)) continue;
        const p = this.params[i];
        if (k !== 'step' && t.shape.join() !== p.shape.join()) throw new Error(`optimizer state '${k}' of parameter ${i} has shape [${t.shape}], parameter has [${p.shape}]`);
        own[k] = keep(t.to(k === 'step' ? t.dtype : p.dtype).clone());
      }
      this.state.set(i, own);
    }
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
  }

  dispose(): void {
    this.disposeState();
  }
}
