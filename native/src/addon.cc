// Module entry point: the binding is split into tensor handles (tensor_wrap.cc), the op table (ops.cc) and c10d's
// collectives for data-parallel training (distributed.cc).
#include <napi.h>
#ifdef __GLIBC__
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#endif

namespace nt {
void registerTensorWrap(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);
}  // namespace nt

#ifdef __GLIBC__
// A user's own glibc malloc settings (MALLOC_MMAP_THRESHOLD_ and its kin, or glibc.malloc tunables) win over ours.
static bool userTunedMalloc() {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}
#endif

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __GLIBC__
  // Tensor buffers come from the heap, never from fresh mmaps: with mmap, every new buffer of a step is page-faulted
  // and zeroed by the kernel again (half of a CPU training step went there, against 8% for PyTorch). The trim
  // threshold keeps freed memory for the next step; the loop gives it back once per epoch (mallocTrim), so a long
  // run's RSS stays bounded.
  if (!userTunedMalloc()) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
#endif
  nt::registerTensorWrap(env, exports);
  nt::registerOps(env, exports);
  nt::registerDistributed(env, exports);
  return exports;
}

NODE_API_MODULE(nnunet_torch, Init)
