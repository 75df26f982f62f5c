// Tensor and generator handles, argument conversion, and moving data between TypedArrays and tensors.
#include <ATen/CPUGeneratorImpl.h>
#include <cstring>
#include <unordered_map>

#include "common.h"

namespace nt {

static const std::unordered_map<std::string, at::ScalarType>& dtypeTable() {
  static const std::unordered_map<std::string, at::ScalarType> table = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf},   {"bfloat16", at::kBFloat16},
      {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},    {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool}};
  return table;
}

at::ScalarType dtypeArg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return at::kFloat;
  auto it = dtypeTable().find(v.As<Napi::String>().Utf8Value());
  if (it == dtypeTable().end()) throw Napi::TypeError::New(v.Env(), "unknown dtype " + v.As<Napi::String>().Utf8Value());
  return it->second;
}

const char* dtypeName(at::ScalarType t) {
  for (const auto& [name, type] : dtypeTable())
    if (type == t) return name.c_str();
  return "unsupported";
}

at::TensorOptions optionsArg(const Napi::Value& dtype, const Napi::Value& device) {
  auto opts = at::TensorOptions().dtype(dtypeArg(dtype));
  if (!device.IsUndefined() && !device.IsNull()) opts = opts.device(at::Device(device.As<Napi::String>().Utf8Value()));
  return opts;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "tensors are created by ops, not by `new`");
  tensor = std::move(*info[0].As<Napi::External<at::Tensor>>().Data());
  // Tell V8 about the native bytes a fresh tensor holds so the collector schedules itself accordingly.
  if (tensor.defined() && !tensor.is_view() && tensor.device().is_cpu()) {
    reportedBytes = static_cast<int64_t>(tensor.storage().nbytes());
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), reportedBytes);
  }
}

void TensorWrap::release(Napi::Env env) {
  tensor = at::Tensor();
  if (reportedBytes) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes);
    reportedBytes = 0;
  }
}

void TensorWrap::Finalize(Napi::Env env) { release(env); }

TensorWrap::~TensorWrap() { tensor = at::Tensor(); }

TensorWrap* TensorWrap::live(const Napi::Value& v) {
  auto* data = v.Env().GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->tensorCtor.Value())) return nullptr;
  void* w = nullptr;
  // Fails once free() removed the wrap; Napi's Unwrap would throw instead.
  if (napi_unwrap(v.Env(), v, &w) != napi_ok) return nullptr;
  return static_cast<TensorWrap*>(w);
}

// free() and isFreed() are plain functions on the prototype, not ObjectWrap instance methods, because those unwrap
// `this` first and throw on a shell whose wrap was removed.
static Napi::Value FreeTensor(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* w = TensorWrap::live(info.This());
  if (!w) return env.Undefined();
  w->release(env);
  // Removing the wrap also drops its finalizer, so nothing of this tensor waits for the collector.
  NAPI_THROW_IF_FAILED(env, napi_remove_wrap(env, info.This(), nullptr), env.Undefined());
  delete w;
  return env.Undefined();
}

static Napi::Value IsTensorFreed(const Napi::CallbackInfo& info) {
  auto* w = TensorWrap::live(info.This());
  return Napi::Boolean::New(info.Env(), !w || !w->tensor.defined());
}

Napi::Function TensorWrap::Init(Napi::Env env) {
  auto ctor = DefineClass(env, "NativeTensor", {});
  auto proto = ctor.Get("prototype").As<Napi::Object>();
  proto.Set("free", Napi::Function::New(env, FreeTensor, "free"));
  proto.Set("isFreed", Napi::Function::New(env, IsTensorFreed, "isFreed"));
  return ctor;
}

Napi::Object wrap(Napi::Env env, at::Tensor t) {
  auto* data = env.GetInstanceData<AddonData>();
  return data->tensorCtor.New({Napi::External<at::Tensor>::New(env, &t)});
}

Napi::Array wrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(i, wrap(env, ts[i]));
  return arr;
}

at::Tensor& unwrap(const Napi::Value& v) {
  auto* data = v.Env().GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->tensorCtor.Value()))
    throw Napi::TypeError::New(v.Env(), "expected a tensor");
  auto* w = TensorWrap::live(v);
  if (!w || !w->tensor.defined()) throw Napi::Error::New(v.Env(), "tensor was already freed (used after dispose or outside its scope)");
  return w->tensor;
}

c10::optional<at::Tensor> unwrapOptional(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return unwrap(v);
}

std::vector<at::Tensor> unwrapList(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(unwrap(arr.Get(i)));
  return out;
}

std::vector<int64_t> intList(const Napi::Value& v) {
  std::vector<int64_t> out;
  if (v.IsNumber()) {
    out.push_back(v.As<Napi::Number>().Int64Value());
    return out;
  }
  auto arr = v.As<Napi::Array>();
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(arr.Get(i).As<Napi::Number>().Int64Value());
  return out;
}

std::vector<double> doubleList(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<double> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = arr.Get(i).As<Napi::Number>().DoubleValue();
  return out;
}

// JS has one number type: integral values become integer scalars so int tensors stay int, as in Python.
at::Scalar scalarArg(const Napi::Value& v) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless;
    return at::Scalar(static_cast<int64_t>(v.As<Napi::BigInt>().Int64Value(&lossless)));
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

GeneratorWrap::GeneratorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GeneratorWrap>(info) {
  uint64_t seed = info.Length() > 0 && info[0].IsNumber() ? static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()) : 0;
  gen = at::make_generator<at::CPUGeneratorImpl>(seed);
}

Napi::Value GeneratorWrap::ManualSeed(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value GeneratorWrap::GetState(const Napi::CallbackInfo& info) {
  NT_TRY
  std::lock_guard<std::mutex> lock(gen.mutex());
  return wrap(info.Env(), gen.get_state());
  NT_CATCH
}

Napi::Value GeneratorWrap::SetState(const Napi::CallbackInfo& info) {
  NT_TRY
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(unwrap(info[0]));
  return info.Env().Undefined();
  NT_CATCH
}

Napi::Function GeneratorWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeGenerator",
                     {InstanceMethod("manualSeed", &GeneratorWrap::ManualSeed), InstanceMethod("getState", &GeneratorWrap::GetState),
                      InstanceMethod("setState", &GeneratorWrap::SetState)});
}

c10::optional<at::Generator> generatorArg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  auto* data = v.Env().GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->generatorCtor.Value()))
    throw Napi::TypeError::New(v.Env(), "expected a generator");
  return GeneratorWrap::Unwrap(v.As<Napi::Object>())->gen;
}

// ---- data in and out ----

static Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  NT_TRY
  auto env = info.Env();
  const uint8_t* src;
  size_t nbytes;
  if (info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    nbytes = ta.ByteLength();
  } else if (info[0].IsDataView()) {
    auto dv = info[0].As<Napi::DataView>();
    src = static_cast<const uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    nbytes = dv.ByteLength();
  } else {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    src = static_cast<const uint8_t*>(ab.Data());
    nbytes = ab.ByteLength();
  }
  auto shape = intList(info[1]);
  auto t = at::empty(shape, at::TensorOptions().dtype(dtypeArg(info[2])));
  if (static_cast<size_t>(t.nbytes()) != nbytes)
    throw Napi::RangeError::New(env, "buffer holds " + std::to_string(nbytes) + " bytes but shape and dtype need " + std::to_string(t.nbytes()));
  if (nbytes) std::memcpy(t.data_ptr(), src, nbytes);
  return wrap(env, t);
  NT_CATCH
}

static at::Tensor cpuContiguous(const at::Tensor& t) { return t.device().is_cpu() ? t.contiguous() : t.to(at::kCPU).contiguous(); }

static Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  NT_TRY
  auto t = cpuContiguous(unwrap(info[0]));
  auto ab = Napi::ArrayBuffer::New(info.Env(), t.nbytes());
  if (t.nbytes()) std::memcpy(ab.Data(), t.data_ptr(), t.nbytes());
  return ab;
  NT_CATCH
}

// Zero-copy view of a CPU tensor's bytes: the ArrayBuffer keeps its own reference to the tensor, so the memory
// stays valid after the tensor handle is freed.
static Napi::Value DataView(const Napi::CallbackInfo& info) {
  NT_TRY
  auto t = cpuContiguous(unwrap(info[0]));
  if (t.nbytes() == 0) return Napi::ArrayBuffer::New(info.Env(), 0);
  auto* keep = new at::Tensor(t);
  return Napi::ArrayBuffer::New(info.Env(), keep->data_ptr(), keep->nbytes(), [](Napi::Env, void*, at::Tensor* k) { delete k; }, keep);
  NT_CATCH
}

static Napi::Value Item(const Napi::CallbackInfo& info) {
  NT_TRY
  auto& t = unwrap(info[0]);
  if (t.numel() != 1) throw Napi::Error::New(info.Env(), "item() needs a tensor with one element, got " + std::to_string(t.numel()));
  if (t.scalar_type() == at::kBool) return Napi::Boolean::New(info.Env(), t.item<bool>());
  return Napi::Number::New(info.Env(), t.item<double>());
  NT_CATCH
}

static Napi::Value Meta(const Napi::CallbackInfo& info) {
  NT_TRY
  auto env = info.Env();
  auto& t = unwrap(info[0]);
  auto o = Napi::Object::New(env);
  auto shape = Napi::Array::New(env, t.dim());
  auto strides = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) {
    shape.Set(i, Napi::Number::New(env, static_cast<double>(t.size(i))));
    strides.Set(i, Napi::Number::New(env, static_cast<double>(t.stride(i))));
  }
  o.Set("shape", shape);
  o.Set("strides", strides);
  o.Set("dtype", dtypeName(t.scalar_type()));
  o.Set("device", t.device().str());
  o.Set("requiresGrad", t.requires_grad());
  o.Set("storageOffset", Napi::Number::New(env, static_cast<double>(t.storage_offset())));
  return o;
  NT_CATCH
}

void registerTensorWrap(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  auto tensorCtor = TensorWrap::Init(env);
  auto generatorCtor = GeneratorWrap::Init(env);
  data->tensorCtor = Napi::Persistent(tensorCtor);
  data->generatorCtor = Napi::Persistent(generatorCtor);
  env.SetInstanceData<AddonData>(data);
  exports.Set("NativeTensor", tensorCtor);
  exports.Set("Generator", generatorCtor);
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, ToBuffer));
  exports.Set("dataView", Napi::Function::New(env, DataView));
  exports.Set("item", Napi::Function::New(env, Item));
  exports.Set("meta", Napi::Function::New(env, Meta));
}

}  // namespace nt
