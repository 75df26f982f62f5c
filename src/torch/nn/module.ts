// Module base: named parameters, buffers and submodules with PyTorch's dotted key naming, train/eval mode and
// state dicts. Parameters and buffers are kept out of tidy() scopes; the module frees them in dispose().
import { noGrad } from '../autograd.js';
import { keep } from '../scope.js';
import type { Tensor } from '../tensor.js';

export type StateDict = Map<string, Tensor>;

export class ShapeMismatchError extends Error {}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  abstract forward(...inputs: Tensor[]): Tensor | Tensor[];

  protected registerParameter(name: string, value: Tensor | null): Tensor | null {
    if (value) keep(value).requiresGrad_(true);
    this.params.set(name, value);
    return value;
  }
  protected registerBuffer(name: string, value: Tensor): Tensor {
    this.buffers.set(name, keep(value));
    return value;
  }
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  /** The current tensor of a registered parameter (looked up each time, so to() can replace it). */
  protected param(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  *namedChildren(): Generator<[string, Module]> {
    yield* this.children.entries();
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.children) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** Each parameter once, under its first name (a module registered twice, as DNA's decoder.encoder, is not repeated). */
  *namedParameters(): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, p] of module.params) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        yield [prefix ? `${prefix}.${name}` : name, p];
      }
    }
  }

  /** Each distinct module once. */
  private uniqueModules(): Module[] {
    return [...new Set(Array.from(this.namedModules(), ([, m]) => m))];
  }

  parameters(): Tensor[] {
    return Array.from(this.namedParameters(), ([, p]) => p);
  }

  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, b] of module.buffers) yield [prefix ? `${prefix}.${name}` : name, b];
    }
  }

  /**
   * Parameters then buffers per module, in registration order, as torch's state_dict(): a module registered under two
   * names appears under both, as in torch. Tensors are shared, not copied.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [prefix, module] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of module.params) if (p) out.set(key(name), p);
      for (const [name, b] of module.buffers) out.set(key(name), b);
    }
    return out;
  }

  /**
   * Copies values into this module's tensors. strict: every key must match both ways. Shape mismatches are always
   * errors, listed all at once with both shapes.
   */
  loadStateDict(state: StateDict | Record<string, Tensor>, strict = true): { missing: string[]; unexpected: string[] } {
    const source = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !source.has(k));
    const unexpected = [...source.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const s = source.get(k);
      if (s && s.shape.join() !== t.shape.join()) mismatched.push(`${k}: checkpoint [${s.shape}] vs model [${t.shape}]`);
    }
    if (mismatched.length) throw new ShapeMismatchError(`shape mismatch for ${mismatched.length} key(s):\n  ${mismatched.join('\n  ')}`);
    if (strict && (missing.length || unexpected.length)) {
      throw new ShapeMismatchError(`state dict keys differ:${missing.length ? `\n  missing: ${missing.join(', ')}` : ''}${unexpected.length ? `\n  unexpected: ${unexpected.join(', ')}` : ''}`);
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const s = source.get(k);
        if (s) t.copy_(s);
      }
    });
    return { missing, unexpected };
  }

  train(mode = true): this {
    for (const m of this.uniqueModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Moves every parameter and buffer to a device or dtype (in the registry, so optimizers must be made after). */
  to(target: Parameters<Tensor['to']>[0]): this {
    for (const module of this.uniqueModules()) {
      for (const [name, p] of module.params) {
        if (!p) continue;
        const moved = keep(p.detach().to(target)).requiresGrad_(true);
        p.dispose();
        module.params.set(name, moved);
      }
      for (const [name, b] of module.buffers) {
        const moved = keep(b.to(target));
        b.dispose();
        module.buffers.set(name, moved);
      }
    }
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  dispose(): void {
    for (const module of this.uniqueModules()) {
      for (const p of module.params.values()) p?.dispose();
      for (const b of module.buffers.values()) b.dispose();
    }
  }
}
