// Module entry point: the binding is split into tensor handles (tensor_wrap.cc) and the op table (ops.cc).
#include <napi.h>

namespace nt {
void registerTensorWrap(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);
}  // namespace nt

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  nt::registerTensorWrap(env, exports);
  nt::registerOps(env, exports);
  return exports;
}

NODE_API_MODULE(nnunet_torch, Init)
