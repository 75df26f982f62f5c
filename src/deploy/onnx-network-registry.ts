// The ONNX graph of each network class, keyed like the network registry (the last segment of the plans'
// network_class_name). A network added to src/model/network-registry.ts exports once it has one entry here.
import { UserError } from '../errors.js';
import type { SegmentationNetwork } from '../model/network-registry.js';
import type { GraphBuilder } from './onnx-graph.js';

export interface OnnxNetworkEntry {
  className: string;
  /** Emits the network (deep supervision off) from `input`; returns the logits' value name. */
  emit(g: GraphBuilder, network: SegmentationNetwork, input: string): string;
}

const registry = new Map<string, OnnxNetworkEntry>();

export function registerOnnxNetwork(entry: OnnxNetworkEntry): void {
  registry.set(entry.className, entry);
}

export function onnxExportableNetworks(): string[] {
  return [...registry.keys()].sort();
}

/** The entry for a plans' network class, or one clear error naming the class and what can be exported. */
export function onnxNetworkEntry(networkClassName: string, source: string): OnnxNetworkEntry {
  const name = networkClassName.split('.').pop() ?? networkClassName;
  const entry = registry.get(name);
  if (!entry) throw new UserError(`${source}: network '${networkClassName}' cannot be exported to ONNX (exportable: ${onnxExportableNetworks().join(', ')})`);
  return entry;
}
