// Shared helpers of the libtorch binding: argument conversion and error translation. No logic lives here.
#pragma once
#include <napi.h>
#include <torch/torch.h>
#include <string>
#include <vector>

namespace nt {

// Owns one at::Tensor for JavaScript. free() deletes this object and its napi wrap and reference at once, leaving
// an empty JS shell that V8 collects like any plain object. The GC finalizer is only a fallback for tensors never
// freed: Node runs napi_wrap finalizers from SetImmediate, so in a loop that never yields they would pile up.
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  at::Tensor tensor;
  // Frees the tensor and gives its bytes back to V8's external-memory count.
  void release(Napi::Env env);
  // GC fallback for tensors never freed: keeps V8's external-memory count from growing without bound.
  void Finalize(Napi::Env env) override;
  // The live wrap of a NativeTensor object, or nullptr once it was freed (or v is no NativeTensor).
  static TensorWrap* live(const Napi::Value& v);

 private:
  int64_t reportedBytes = 0;
};

// Owns one CPU at::Generator, so every random draw can come from a seeded, savable stream.
class GeneratorWrap : public Napi::ObjectWrap<GeneratorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit GeneratorWrap(const Napi::CallbackInfo& info);
  at::Generator gen;

 private:
  Napi::Value ManualSeed(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value SetState(const Napi::CallbackInfo& info);
};

struct AddonData {
  Napi::FunctionReference tensorCtor;
  Napi::FunctionReference generatorCtor;
};

Napi::Object wrap(Napi::Env env, at::Tensor t);
at::Tensor& unwrap(const Napi::Value& v);
c10::optional<at::Tensor> unwrapOptional(const Napi::Value& v);
std::vector<at::Tensor> unwrapList(const Napi::Value& v);
c10::optional<at::Generator> generatorArg(const Napi::Value& v);
std::vector<int64_t> intList(const Napi::Value& v);
std::vector<double> doubleList(const Napi::Value& v);
at::Scalar scalarArg(const Napi::Value& v);
at::ScalarType dtypeArg(const Napi::Value& v);
const char* dtypeName(at::ScalarType t);
at::TensorOptions optionsArg(const Napi::Value& dtype, const Napi::Value& device);
Napi::Array wrapList(Napi::Env env, const std::vector<at::Tensor>& ts);

using Fn = Napi::Value (*)(const Napi::CallbackInfo&);
void registerTensorWrap(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);

}  // namespace nt

// Every binding body runs inside NT_TRY/NT_CATCH: libtorch errors become JS Errors with libtorch's message and
// without the C++ backtrace, so a user mistake never aborts the process.
#define NT_TRY try {
#define NT_CATCH                                                              \
  }                                                                           \
  catch (const Napi::Error&) {                                                \
    throw;                                                                    \
  }                                                                           \
  catch (const c10::Error& e) {                                               \
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());           \
  }                                                                           \
  catch (const std::exception& e) {                                           \
    throw Napi::Error::New(info.Env(), e.what());                             \
  }
