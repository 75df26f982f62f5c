// Builds an ONNX graph node by node from a state dict: each layer helper names its node after the module's
// state-dict prefix and takes that module's weights as initializers, so the graph mirrors the network's module tree.
import { ATTRIBUTE_TYPE, type Attribute, type Dim, type ModelMessage, type NodeMessage, TENSOR_FLOAT, type TensorMessage, encodeModel } from './onnx-proto.js';

/** A float32 weight as the exporter reads it from a state dict. */
export interface Weight {
  data: Float32Array;
  shape: number[];
}

export type WeightSource = ReadonlyMap<string, Weight>;

const ints = (name: string, values: readonly number[]): Attribute => ({ name, type: ATTRIBUTE_TYPE.INTS, ints: [...values] });

export class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(private readonly weights: WeightSource) {}

  /** The initializer of state-dict key `key` (added once, however often it is used). */
  weight(key: string): string {
    const w = this.weights.get(key);
    if (!w) throw new Error(`state dict has no '${key}'`);
    if (!this.used.has(key)) {
      this.used.add(key);
      this.initializers.push({ name: key, dims: w.shape, data_type: TENSOR_FLOAT, raw_data: new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength) });
    }
    return key;
  }

  hasWeight(key: string): boolean {
    return this.weights.has(key);
  }

  /** Appends a node with one output named after `name`; returns that output. */
  node(opType: string, name: string, inputs: string[], attributes: Attribute[] = []): string {
    const output = `${name || opType}:${this.counter++}`;
    this.nodes.push({ op_type: opType, name: output, input: inputs, output: [output], attribute: attributes });
    return output;
  }

  /** nn.Conv at `prefix` (weight, optional bias), "same" padding (k-1)/2 on both sides as the networks build it. */
  conv(prefix: string, x: string, kernel: readonly number[], stride: readonly number[]): string {
    const inputs = [x, this.weight(`${prefix}.weight`)];
    if (this.hasWeight(`${prefix}.bias`)) inputs.push(this.weight(`${prefix}.bias`));
    const pad = kernel.map((k) => (k - 1) >> 1);
    return this.node('Conv', prefix, inputs, [ints('kernel_shape', kernel), ints('strides', stride), ints('pads', [...pad, ...pad]), ints('dilations', kernel.map(() => 1))]);
  }

  /** Transposed conv with kernel = stride (the decoder's upsampling). */
  convTranspose(prefix: string, x: string, stride: readonly number[]): string {
    const inputs = [x, this.weight(`${prefix}.weight`)];
    if (this.hasWeight(`${prefix}.bias`)) inputs.push(this.weight(`${prefix}.bias`));
    return this.node('ConvTranspose', prefix, inputs, [ints('kernel_shape', stride), ints('strides', stride)]);
  }

  /** Affine instance norm at `prefix`. */
  instanceNorm(prefix: string, x: string, eps: number): string {
    return this.node('InstanceNormalization', prefix, [x, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)], [{ name: 'epsilon', type: ATTRIBUTE_TYPE.FLOAT, f: eps }]);
  }

  leakyRelu(name: string, x: string, slope: number): string {
    return this.node('LeakyRelu', name, [x], [{ name: 'alpha', type: ATTRIBUTE_TYPE.FLOAT, f: slope }]);
  }

  averagePool(name: string, x: string, kernel: readonly number[]): string {
    return this.node('AveragePool', name, [x], [ints('kernel_shape', kernel), ints('strides', kernel)]);
  }

  add(name: string, a: string, b: string): string {
    return this.node('Add', name, [a, b]);
  }

  concatChannels(name: string, a: string, b: string): string {
    return this.node('Concat', name, [a, b], [{ name: 'axis', type: ATTRIBUTE_TYPE.INT, i: 1 }]);
  }

  /**
   * The model: input `input` [N, C, ...spatial], output `logits` [N, K, ...spatial], batch and spatial sizes
   * symbolic. The node that produces `output` is renamed to write `logits` directly (no Identity node).
   */
  model(output: string, io: { inputChannels: number; numClasses: number; dims: number }, meta: Omit<ModelMessage, 'nodes' | 'initializers' | 'inputs' | 'outputs'>): Uint8Array {
    const last = this.nodes.find((n) => n.output[0] === output);
    if (!last) throw new Error(`graph output '${output}' is no node's output`);
    last.output = [OUTPUT_NAME];
    const spatial: Dim[] = ['depth', 'height', 'width'].slice(3 - io.dims);
    return encodeModel({
      ...meta,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: [{ name: INPUT_NAME, elemType: TENSOR_FLOAT, shape: ['batch', io.inputChannels, ...spatial] }],
      outputs: [{ name: OUTPUT_NAME, elemType: TENSOR_FLOAT, shape: ['batch', io.numClasses, ...spatial] }],
    });
  }
}

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';
