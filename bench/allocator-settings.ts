// Before and after the allocator change of 2026-12-01, in one bench run: the addon serves tensor buffers from the heap
// (trimmed once per epoch) unless glibc's own malloc variables are set, so the same build runs "before" (a fixed
// 128 kB mmap threshold, the addon's earlier setting: every large buffer freshly mmapped, page-faulted and zeroed)
// with one environment variable. The other changes of that issue (slab-streaming sliding window, autocast wiring)
// are not switched: on CPU they do not change the work per step.
export interface AllocatorSetting {
  id: 'after' | 'before';
  label: string;
  env: Record<string, string>;
}

export const ALLOCATOR_SETTINGS: readonly AllocatorSetting[] = [
  { id: 'after', label: 'heap buffers', env: {} },
  { id: 'before', label: 'mmap > 128 kB (before)', env: { MALLOC_MMAP_THRESHOLD_: '131072' } },
];

/** The settings a bench's `--allocators after,before` names (default both), in that order. */
export function allocatorSettings(list: string): AllocatorSetting[] {
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !ALLOCATOR_SETTINGS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`--allocators: unknown ${unknown.join(', ')} (after, before)`);
  return ALLOCATOR_SETTINGS.filter((s) => ids.includes(s.id));
}
