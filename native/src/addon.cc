// Module entry point: the binding is split into tensor handles (tensor_wrap.cc) and the op table (ops.cc).
#include <napi.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace nt {
void registerTensorWrap(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);
}  // namespace nt

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __GLIBC__
  // A fixed mmap threshold stops glibc from raising it dynamically, after which freed tensor buffers (> 128 kB) stay
  // in a fragmented heap and a long training run's RSS grows by megabytes per step.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
  nt::registerTensorWrap(env, exports);
  nt::registerOps(env, exports);
  return exports;
}

NODE_API_MODULE(nnunet_torch, Init)
