// The op table: each binding forwards its arguments to one libtorch function. No logic beyond argument mapping.
#include <ATen/ScalarOps.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <unordered_map>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common.h"

namespace nt {
namespace F = torch::nn::functional;

#define OP(name) static Napi::Value name(const Napi::CallbackInfo& info)
#define RETURN_TENSOR(expr) \
  NT_TRY return wrap(info.Env(), (expr)); NT_CATCH
#define ARG_T(i) unwrap(info[i])
#define ARG_INT(i) info[i].As<Napi::Number>().Int64Value()
#define ARG_DOUBLE(i) info[i].As<Napi::Number>().DoubleValue()
#define ARG_BOOL(i) info[i].ToBoolean().Value()
#define HAS(i) (info.Length() > (i) && !info[i].IsUndefined() && !info[i].IsNull())

// A JS number operand acts like a Python scalar: a wrapped-number tensor, so type promotion matches PyTorch.
static at::Tensor operand(const Napi::Value& v) {
  if (v.IsNumber() || v.IsBoolean() || v.IsBigInt()) {
    auto t = c10::scalar_to_tensor(scalarArg(v));
    t.unsafeGetTensorImpl()->set_wrapped_number(true);
    return t;
  }
  return unwrap(v);
}

// ---- elementwise ----
using UnaryFn = at::Tensor (*)(const at::Tensor&);
#define U(name) {#name, [](const at::Tensor& t) { return at::name(t); }}
static const std::unordered_map<std::string, UnaryFn> kUnary = {
    U(neg),  U(abs),        U(exp),    U(log),        U(log1p),    U(sqrt),       U(rsqrt),    U(sigmoid), U(tanh),
    U(relu), U(floor),      U(ceil),   U(round),      U(trunc),    U(sign),       U(logical_not), U(isnan), U(isinf),
    U(isfinite), U(sin),    U(cos),    U(reciprocal), U(square),   U(erf),        U(clone),    U(detach),
    {"contiguous", [](const at::Tensor& t) { return t.contiguous(); }}};
#undef U

OP(Unary) {
  NT_TRY
  auto it = kUnary.find(info[0].As<Napi::String>().Utf8Value());
  if (it == kUnary.end()) throw Napi::Error::New(info.Env(), "unknown unary op " + info[0].As<Napi::String>().Utf8Value());
  return wrap(info.Env(), it->second(ARG_T(1)));
  NT_CATCH
}

using BinaryFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&);
#define B(name) {#name, [](const at::Tensor& a, const at::Tensor& b) { return at::name(a, b); }}
static const std::unordered_map<std::string, BinaryFn> kBinary = {
    B(add), B(sub),         B(mul),         B(div),          B(pow),  B(maximum), B(minimum), B(eq),        B(ne),
    B(lt),  B(le),          B(gt),          B(ge),           B(fmod), B(remainder), B(atan2), B(logical_and), B(logical_or),
    B(logical_xor), B(matmul),
    {"floor_divide", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b, "floor"); }}};
#undef B

OP(Binary) {
  NT_TRY
  auto it = kBinary.find(info[0].As<Napi::String>().Utf8Value());
  if (it == kBinary.end()) throw Napi::Error::New(info.Env(), "unknown binary op " + info[0].As<Napi::String>().Utf8Value());
  return wrap(info.Env(), it->second(operand(info[1]), operand(info[2])));
  NT_CATCH
}

OP(AddScaled) { RETURN_TENSOR(at::add(ARG_T(0), operand(info[1]), scalarArg(info[2]))) }
OP(Clamp) {
  NT_TRY
  c10::optional<at::Scalar> lo, hi;
  if (HAS(1)) lo = scalarArg(info[1]);
  if (HAS(2)) hi = scalarArg(info[2]);
  return wrap(info.Env(), at::clamp(ARG_T(0), lo, hi));
  NT_CATCH
}
OP(Where) { RETURN_TENSOR(at::where(ARG_T(0), operand(info[1]), operand(info[2]))) }
OP(Lerp) { RETURN_TENSOR(at::lerp(ARG_T(0), ARG_T(1), scalarArg(info[2]))) }

// ---- in place (optimizers, accumulation) ----
OP(AddInplace) {
  NT_TRY ARG_T(0).add_(operand(info[1]), HAS(2) ? scalarArg(info[2]) : at::Scalar(1));
  return info.Env().Undefined();
  NT_CATCH
}
OP(MulInplace) {
  NT_TRY ARG_T(0).mul_(operand(info[1]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(DivInplace) {
  NT_TRY ARG_T(0).div_(operand(info[1]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(CopyInplace) {
  NT_TRY ARG_T(0).copy_(ARG_T(1));
  return info.Env().Undefined();
  NT_CATCH
}
OP(FillInplace) {
  NT_TRY ARG_T(0).fill_(scalarArg(info[1]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(ZeroInplace) {
  NT_TRY ARG_T(0).zero_();
  return info.Env().Undefined();
  NT_CATCH
}
OP(AddcmulInplace) {
  NT_TRY ARG_T(0).addcmul_(ARG_T(1), ARG_T(2), scalarArg(info[3]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(AddcdivInplace) {
  NT_TRY ARG_T(0).addcdiv_(ARG_T(1), ARG_T(2), scalarArg(info[3]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(LerpInplace) {
  NT_TRY ARG_T(0).lerp_(ARG_T(1), scalarArg(info[2]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(ClampInplace) {
  NT_TRY
  c10::optional<at::Scalar> lo, hi;
  if (HAS(1)) lo = scalarArg(info[1]);
  if (HAS(2)) hi = scalarArg(info[2]);
  ARG_T(0).clamp_(lo, hi);
  return info.Env().Undefined();
  NT_CATCH
}
OP(IndexPutInplace) {
  NT_TRY
  c10::List<c10::optional<at::Tensor>> idx;
  auto arr = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) idx.push_back(unwrapOptional(arr.Get(i)));
  auto& self = ARG_T(0);
  // x[idx] = number: the number takes the destination's dtype, as Python's __setitem__ does
  at::Tensor values = info[2].IsNumber() || info[2].IsBoolean() || info[2].IsBigInt() ? at::scalar_tensor(scalarArg(info[2]), self.options()) : unwrap(info[2]);
  self.index_put_(idx, values, HAS(3) && ARG_BOOL(3));
  return info.Env().Undefined();
  NT_CATCH
}

// ---- reductions ----
OP(Sum) {
  NT_TRY
  c10::optional<at::ScalarType> dt;
  if (HAS(3)) dt = dtypeArg(info[3]);
  if (!HAS(1)) return wrap(info.Env(), at::sum(ARG_T(0), dt));
  return wrap(info.Env(), at::sum(ARG_T(0), intList(info[1]), ARG_BOOL(2), dt));
  NT_CATCH
}
OP(Mean) {
  NT_TRY
  if (!HAS(1)) return wrap(info.Env(), at::mean(ARG_T(0)));
  return wrap(info.Env(), at::mean(ARG_T(0), intList(info[1]), ARG_BOOL(2)));
  NT_CATCH
}
OP(Amax) { RETURN_TENSOR(at::amax(ARG_T(0), HAS(1) ? intList(info[1]) : std::vector<int64_t>{}, ARG_BOOL(2))) }
OP(Amin) { RETURN_TENSOR(at::amin(ARG_T(0), HAS(1) ? intList(info[1]) : std::vector<int64_t>{}, ARG_BOOL(2))) }
OP(Argmax) {
  NT_TRY
  c10::optional<int64_t> dim;
  if (HAS(1)) dim = ARG_INT(1);
  return wrap(info.Env(), at::argmax(ARG_T(0), dim, ARG_BOOL(2)));
  NT_CATCH
}
OP(MaxDim) {
  NT_TRY
  auto [v, i] = at::max(ARG_T(0), ARG_INT(1), ARG_BOOL(2));
  return wrapList(info.Env(), {v, i});
  NT_CATCH
}
OP(MinDim) {
  NT_TRY
  auto [v, i] = at::min(ARG_T(0), ARG_INT(1), ARG_BOOL(2));
  return wrapList(info.Env(), {v, i});
  NT_CATCH
}
OP(Var) {
  NT_TRY
  if (!HAS(1)) return wrap(info.Env(), at::var(ARG_T(0), ARG_BOOL(2)));
  return wrap(info.Env(), at::var(ARG_T(0), at::IntArrayRef(intList(info[1])), ARG_BOOL(2), ARG_BOOL(3)));
  NT_CATCH
}
OP(Norm) {
  NT_TRY
  at::Scalar p = scalarArg(info[1]);
  if (!HAS(2)) return wrap(info.Env(), at::norm(ARG_T(0), p));
  return wrap(info.Env(), at::norm(ARG_T(0), c10::optional<at::Scalar>(p), at::IntArrayRef(intList(info[2])), ARG_BOOL(3)));
  NT_CATCH
}
OP(Any) { RETURN_TENSOR(at::any(ARG_T(0))) }
OP(All) { RETURN_TENSOR(at::all(ARG_T(0))) }
OP(Cumsum) { RETURN_TENSOR(at::cumsum(ARG_T(0), ARG_INT(1))) }
OP(Nonzero) { RETURN_TENSOR(at::nonzero(ARG_T(0))) }
OP(Unique) {
  NT_TRY
  auto [values, inverse, counts] = at::_unique2(ARG_T(0), true, false, true);
  return wrapList(info.Env(), {values, counts});
  NT_CATCH
}
OP(Sort) {
  NT_TRY
  auto [v, i] = at::sort(ARG_T(0), ARG_INT(1), ARG_BOOL(2));
  return wrapList(info.Env(), {v, i});
  NT_CATCH
}

// ---- shape and indexing ----
OP(Reshape) { RETURN_TENSOR(at::reshape(ARG_T(0), intList(info[1]))) }
OP(Permute) { RETURN_TENSOR(ARG_T(0).permute(intList(info[1]))) }
OP(Transpose) { RETURN_TENSOR(at::transpose(ARG_T(0), ARG_INT(1), ARG_INT(2))) }
OP(Movedim) { RETURN_TENSOR(at::movedim(ARG_T(0), ARG_INT(1), ARG_INT(2))) }
OP(Squeeze) { RETURN_TENSOR(HAS(1) ? at::squeeze(ARG_T(0), ARG_INT(1)) : at::squeeze(ARG_T(0))) }
OP(Unsqueeze) { RETURN_TENSOR(at::unsqueeze(ARG_T(0), ARG_INT(1))) }
OP(Expand) { RETURN_TENSOR(ARG_T(0).expand(intList(info[1]))) }
OP(Repeat) { RETURN_TENSOR(ARG_T(0).repeat(intList(info[1]))) }
OP(Flip) { RETURN_TENSOR(at::flip(ARG_T(0), intList(info[1]))) }
OP(Slice) { RETURN_TENSOR(at::slice(ARG_T(0), ARG_INT(1), ARG_INT(2), ARG_INT(3), ARG_INT(4))) }
OP(Select) { RETURN_TENSOR(at::select(ARG_T(0), ARG_INT(1), ARG_INT(2))) }
OP(IndexSelect) { RETURN_TENSOR(at::index_select(ARG_T(0), ARG_INT(1), ARG_T(2))) }
OP(MaskedSelect) { RETURN_TENSOR(at::masked_select(ARG_T(0), ARG_T(1))) }
OP(MaskedFill) { RETURN_TENSOR(at::masked_fill(ARG_T(0), ARG_T(1), scalarArg(info[2]))) }
OP(Gather) { RETURN_TENSOR(at::gather(ARG_T(0), ARG_INT(1), ARG_T(2))) }
OP(Index) {
  NT_TRY
  c10::List<c10::optional<at::Tensor>> idx;
  auto arr = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) idx.push_back(unwrapOptional(arr.Get(i)));
  return wrap(info.Env(), at::index(ARG_T(0), idx));
  NT_CATCH
}
OP(Cat) { RETURN_TENSOR(at::cat(unwrapList(info[0]), ARG_INT(1))) }
OP(Stack) { RETURN_TENSOR(at::stack(unwrapList(info[0]), ARG_INT(1))) }
OP(Chunk) {
  NT_TRY return wrapList(info.Env(), at::chunk(ARG_T(0), ARG_INT(1), ARG_INT(2)));
  NT_CATCH
}
OP(ConstantPad) { RETURN_TENSOR(at::constant_pad_nd(ARG_T(0), intList(info[1]), scalarArg(info[2]))) }
OP(AsStrided) { RETURN_TENSOR(at::as_strided(ARG_T(0), intList(info[1]), intList(info[2]), ARG_INT(3))) }
OP(ToDtype) { RETURN_TENSOR(ARG_T(0).to(dtypeArg(info[1]))) }
OP(ToDevice) {
  NT_TRY
  auto device = at::Device(info[1].As<Napi::String>().Utf8Value());
  if (device.is_cuda() && !torch::cuda::is_available())
    throw Napi::Error::New(info.Env(), "device 'cuda' requested but the linked libtorch has no CUDA support or no GPU is visible; build with LIBTORCH=/path/to/a CUDA libtorch or use device 'cpu'");
  return wrap(info.Env(), ARG_T(0).to(device, HAS(2) && ARG_BOOL(2)));
  NT_CATCH
}
OP(OneHot) { RETURN_TENSOR(at::one_hot(ARG_T(0), ARG_INT(1))) }

// ---- neural network ----
OP(Convolution) {
  RETURN_TENSOR(at::convolution(ARG_T(0), ARG_T(1), unwrapOptional(info[2]), intList(info[3]), intList(info[4]), intList(info[5]),
                                ARG_BOOL(6), intList(info[7]), ARG_INT(8)))
}
OP(InstanceNorm) {
  RETURN_TENSOR(at::instance_norm(ARG_T(0), unwrapOptional(info[1]), unwrapOptional(info[2]), c10::nullopt, c10::nullopt, true, 0.1,
                                  ARG_DOUBLE(3), at::globalContext().userEnabledCuDNN()))
}
OP(LeakyRelu) { RETURN_TENSOR(at::leaky_relu(ARG_T(0), scalarArg(info[1]))) }
OP(LeakyReluInplace) {
  NT_TRY at::leaky_relu_(ARG_T(0), scalarArg(info[1]));
  return info.Env().Undefined();
  NT_CATCH
}
// kernel, stride, padding, ceil_mode, count_include_pad (torch.nn.AvgPoolNd); the kernel's length picks 1D/2D/3D
OP(AvgPool) {
  NT_TRY
  auto& x = ARG_T(0);
  auto kernel = intList(info[1]), stride = intList(info[2]), padding = intList(info[3]);
  bool ceil = ARG_BOOL(4), includePad = ARG_BOOL(5);
  switch (kernel.size()) {
    case 1: return wrap(info.Env(), at::avg_pool1d(x, kernel, stride, padding, ceil, includePad));
    case 2: return wrap(info.Env(), at::avg_pool2d(x, kernel, stride, padding, ceil, includePad, c10::nullopt));
    case 3: return wrap(info.Env(), at::avg_pool3d(x, kernel, stride, padding, ceil, includePad, c10::nullopt));
    default: throw Napi::Error::New(info.Env(), "avg pool needs a kernel of 1, 2 or 3 sizes");
  }
  NT_CATCH
}
OP(Softmax) { RETURN_TENSOR(at::softmax(ARG_T(0), ARG_INT(1))) }
OP(LogSoftmax) { RETURN_TENSOR(at::log_softmax(ARG_T(0), ARG_INT(1))) }
OP(CrossEntropy) {
  // reduction: 0 none, 1 mean, 2 sum (at::Reduction)
  RETURN_TENSOR(at::cross_entropy_loss(ARG_T(0), ARG_T(1), unwrapOptional(info[2]), ARG_INT(3), ARG_INT(4), ARG_DOUBLE(5)))
}
OP(Interpolate) {
  NT_TRY
  auto opts = F::InterpolateFuncOptions();
  if (HAS(1)) opts = opts.size(intList(info[1]));
  if (HAS(2)) opts = opts.scale_factor(doubleList(info[2]));
  auto mode = info[3].As<Napi::String>().Utf8Value();
  if (mode == "nearest-exact") {
    // direct call: libtorch 1.13's F::interpolate warns about align_corners for nearest-exact on every call
    c10::optional<std::vector<int64_t>> size;
    c10::optional<std::vector<double>> scale;
    if (HAS(1)) size = intList(info[1]);
    if (HAS(2)) scale = doubleList(info[2]);
    auto& x = ARG_T(0);
    at::OptionalIntArrayRef sizeRef = size ? at::OptionalIntArrayRef(*size) : c10::nullopt;
    c10::optional<at::ArrayRef<double>> scaleRef = scale ? c10::optional<at::ArrayRef<double>>(*scale) : c10::nullopt;
    switch (x.dim()) {
      case 3: return wrap(info.Env(), at::_upsample_nearest_exact1d(x, sizeRef, scaleRef));
      case 4: return wrap(info.Env(), at::_upsample_nearest_exact2d(x, sizeRef, scaleRef));
      case 5: return wrap(info.Env(), at::_upsample_nearest_exact3d(x, sizeRef, scaleRef));
      default: throw Napi::Error::New(info.Env(), "nearest-exact interpolation needs a 3D, 4D or 5D input");
    }
  }
  if (mode == "nearest") opts = opts.mode(torch::kNearest);
  else if (mode == "linear") opts = opts.mode(torch::kLinear);
  else if (mode == "bilinear") opts = opts.mode(torch::kBilinear);
  else if (mode == "trilinear") opts = opts.mode(torch::kTrilinear);
  else if (mode == "bicubic") opts = opts.mode(torch::kBicubic);
  else if (mode == "area") opts = opts.mode(torch::kArea);
  else throw Napi::Error::New(info.Env(), "unknown interpolation mode " + mode);
  if (HAS(4)) opts = opts.align_corners(ARG_BOOL(4));
  return wrap(info.Env(), F::interpolate(ARG_T(0), opts));
  NT_CATCH
}
OP(AffineGrid) { RETURN_TENSOR(at::affine_grid_generator(ARG_T(0), intList(info[1]), ARG_BOOL(2))) }
// interpolation: 0 bilinear, 1 nearest, 2 bicubic; padding: 0 zeros, 1 border, 2 reflection
OP(GridSample) { RETURN_TENSOR(at::grid_sampler(ARG_T(0), ARG_T(1), ARG_INT(2), ARG_INT(3), ARG_BOOL(4))) }

// ---- creation and random ----
OP(Full) { RETURN_TENSOR(at::full(intList(info[0]), scalarArg(info[1]), optionsArg(info[2], info[3]))) }
OP(Empty) { RETURN_TENSOR(at::empty(intList(info[0]), optionsArg(info[1], info[2]))) }
OP(Arange) { RETURN_TENSOR(at::arange(scalarArg(info[0]), scalarArg(info[1]), scalarArg(info[2]), optionsArg(info[3], info[4]))) }
OP(Linspace) { RETURN_TENSOR(at::linspace(scalarArg(info[0]), scalarArg(info[1]), ARG_INT(2), optionsArg(info[3], info[4]))) }
OP(Rand) { RETURN_TENSOR(at::rand(intList(info[0]), generatorArg(info[1]), optionsArg(info[2], info[3]))) }
OP(Randn) { RETURN_TENSOR(at::randn(intList(info[0]), generatorArg(info[1]), optionsArg(info[2], info[3]))) }
OP(Randint) { RETURN_TENSOR(at::randint(ARG_INT(0), ARG_INT(1), intList(info[2]), generatorArg(info[3]), optionsArg(info[4], info[5]))) }
OP(Randperm) { RETURN_TENSOR(at::randperm(ARG_INT(0), generatorArg(info[1]), at::TensorOptions().dtype(at::kLong))) }
OP(NormalInplace) {
  NT_TRY ARG_T(0).normal_(ARG_DOUBLE(1), ARG_DOUBLE(2), generatorArg(info[3]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(UniformInplace) {
  NT_TRY ARG_T(0).uniform_(ARG_DOUBLE(1), ARG_DOUBLE(2), generatorArg(info[3]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(Multinomial) { RETURN_TENSOR(at::multinomial(ARG_T(0), ARG_INT(1), ARG_BOOL(2), generatorArg(info[3]))) }

// ---- autograd ----
OP(SetRequiresGrad) {
  NT_TRY ARG_T(0).requires_grad_(ARG_BOOL(1));
  return info.Env().Undefined();
  NT_CATCH
}
OP(Backward) {
  NT_TRY
  auto& t = ARG_T(0);
  if (HAS(1)) t.backward(ARG_T(1));
  else t.backward();
  return info.Env().Undefined();
  NT_CATCH
}
OP(Grad) {
  NT_TRY
  const auto& g = ARG_T(0).grad();
  if (!g.defined()) return info.Env().Null();
  return wrap(info.Env(), g);
  NT_CATCH
}
OP(SetGrad) {
  NT_TRY
  ARG_T(0).mutable_grad() = HAS(1) ? ARG_T(1) : at::Tensor();
  return info.Env().Undefined();
  NT_CATCH
}
OP(SetGradEnabled) {
  at::GradMode::set_enabled(ARG_BOOL(0));
  return info.Env().Undefined();
}
OP(IsGradEnabled) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// ---- runtime ----
OP(CudaIsAvailable) { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); }
OP(CudaDeviceCount) { return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count())); }
OP(SetNumThreads) {
  NT_TRY at::set_num_threads(static_cast<int>(ARG_INT(0)));
  return info.Env().Undefined();
  NT_CATCH
}
OP(GetNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }
// Hands the heap's free pages back to the system (glibc), so that buffers freed by one phase (an epoch, a case) do
// not stay resident; elsewhere a no-op.
OP(MallocTrim) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return info.Env().Undefined();
}
OP(ManualSeed) {
  NT_TRY torch::manual_seed(static_cast<uint64_t>(ARG_INT(0)));
  return info.Env().Undefined();
  NT_CATCH
}

// ---- mixed precision and cuDNN ----
// Autocast state is per thread and per device type. libtorch 2.4 made its calls generic over the device type and
// deprecated the per-device ones that 1.13 has: the one place where the binding follows the linked version.
static at::DeviceType autocastDevice(const Napi::Value& v) {
  auto name = v.As<Napi::String>().Utf8Value();
  if (name == "cpu") return at::kCPU;
  if (name == "cuda") return at::kCUDA;
  throw std::invalid_argument("autocast device type must be cpu or cuda, got " + name);
}
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static bool autocastEnabled(at::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
static at::ScalarType autocastDtype(at::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
static void setAutocast(at::DeviceType d, bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(d, dtype);
  at::autocast::set_autocast_enabled(d, enabled);
}
#else
static bool autocastEnabled(at::DeviceType d) { return d == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
static at::ScalarType autocastDtype(at::DeviceType d) {
  return d == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
static void setAutocast(at::DeviceType d, bool enabled, at::ScalarType dtype) {
  if (d == at::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif
// [enabled, dtype] of a device type's autocast on this thread
OP(AutocastState) {
  NT_TRY
  auto d = autocastDevice(info[0]);
  auto out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Boolean::New(info.Env(), autocastEnabled(d)));
  out.Set(1u, Napi::String::New(info.Env(), dtypeName(autocastDtype(d))));
  return out;
  NT_CATCH
}
OP(SetAutocast) {
  NT_TRY setAutocast(autocastDevice(info[0]), ARG_BOOL(1), dtypeArg(info[2]));
  return info.Env().Undefined();
  NT_CATCH
}
OP(AutocastIncrementNesting) { return Napi::Number::New(info.Env(), at::autocast::increment_nesting()); }
OP(AutocastDecrementNesting) { return Napi::Number::New(info.Env(), at::autocast::decrement_nesting()); }
OP(AutocastClearCache) {
  at::autocast::clear_cache();
  return info.Env().Undefined();
}
// [benchmark, deterministic]. TF32 is left at PyTorch's defaults; its getters changed shape in 2.x.
OP(CudnnFlags) {
  auto& ctx = at::globalContext();
  auto out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Boolean::New(info.Env(), ctx.benchmarkCuDNN()));
  out.Set(1u, Napi::Boolean::New(info.Env(), ctx.deterministicCuDNN()));
  return out;
}
OP(SetCudnnFlags) {
  at::globalContext().setBenchmarkCuDNN(ARG_BOOL(0));
  at::globalContext().setDeterministicCuDNN(ARG_BOOL(1));
  return info.Env().Undefined();
}

void registerOps(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Fn> table[] = {
      {"unary", Unary},           {"binary", Binary},           {"addScaled", AddScaled},       {"clamp", Clamp},
      {"where", Where},           {"lerp", Lerp},               {"add_", AddInplace},           {"mul_", MulInplace},
      {"div_", DivInplace},       {"copy_", CopyInplace},       {"fill_", FillInplace},         {"zero_", ZeroInplace},
      {"addcmul_", AddcmulInplace}, {"addcdiv_", AddcdivInplace}, {"lerp_", LerpInplace},       {"clamp_", ClampInplace},
      {"indexPut_", IndexPutInplace}, {"sum", Sum},             {"mean", Mean},                 {"amax", Amax},
      {"amin", Amin},             {"argmax", Argmax},           {"maxDim", MaxDim},             {"minDim", MinDim},
      {"var", Var},               {"norm", Norm},               {"any", Any},                   {"all", All},
      {"cumsum", Cumsum},         {"nonzero", Nonzero},         {"unique", Unique},             {"sort", Sort},
      {"reshape", Reshape},       {"permute", Permute},         {"transpose", Transpose},       {"movedim", Movedim},
      {"squeeze", Squeeze},       {"unsqueeze", Unsqueeze},     {"expand", Expand},             {"repeat", Repeat},
      {"flip", Flip},             {"slice", Slice},             {"select", Select},             {"indexSelect", IndexSelect},
      {"maskedSelect", MaskedSelect}, {"maskedFill", MaskedFill}, {"gather", Gather},           {"index", Index},
      {"cat", Cat},               {"stack", Stack},             {"chunk", Chunk},               {"constantPad", ConstantPad},
      {"asStrided", AsStrided},   {"toDtype", ToDtype},         {"toDevice", ToDevice},         {"oneHot", OneHot},
      {"convolution", Convolution}, {"instanceNorm", InstanceNorm}, {"leakyRelu", LeakyRelu}, {"leakyRelu_", LeakyReluInplace},   {"avgPool", AvgPool},       {"softmax", Softmax},
      {"logSoftmax", LogSoftmax}, {"crossEntropy", CrossEntropy}, {"interpolate", Interpolate}, {"affineGrid", AffineGrid},
      {"gridSample", GridSample}, {"full", Full},               {"empty", Empty},               {"arange", Arange},
      {"linspace", Linspace},     {"rand", Rand},               {"randn", Randn},               {"randint", Randint},
      {"randperm", Randperm},     {"normal_", NormalInplace},   {"uniform_", UniformInplace},   {"multinomial", Multinomial},
      {"setRequiresGrad", SetRequiresGrad}, {"backward", Backward}, {"grad", Grad},             {"setGrad", SetGrad},
      {"setGradEnabled", SetGradEnabled}, {"isGradEnabled", IsGradEnabled}, {"cudaIsAvailable", CudaIsAvailable},
      {"cudaDeviceCount", CudaDeviceCount}, {"setNumThreads", SetNumThreads}, {"getNumThreads", GetNumThreads},
      {"manualSeed", ManualSeed}, {"mallocTrim", MallocTrim}, {"autocastState", AutocastState}, {"setAutocast", SetAutocast},
      {"autocastIncrementNesting", AutocastIncrementNesting}, {"autocastDecrementNesting", AutocastDecrementNesting},
      {"autocastClearCache", AutocastClearCache}, {"cudnnFlags", CudnnFlags}, {"setCudnnFlags", SetCudnnFlags}};
  for (const auto& [name, fn] : table) exports.Set(name, Napi::Function::New(env, fn, name));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
}

}  // namespace nt
