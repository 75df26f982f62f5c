// c10d, PyTorch's distributed runtime, for data-parallel training: a TCPStore rendezvous and a process group (gloo on
// CPU, NCCL on CUDA builds) with in-place all-reduce, broadcast and barrier. Only API that libtorch 1.13 and 2.x share
// is bound (TCPStore(host, TCPStoreOptions), the ProcessGroupX(store, rank, size, options) constructors, Work::wait),
// so the same file builds against Debian's libtorch-dev and a PyTorch 2.x install. Every call blocks until done or
// until its timeout: the training loop is synchronous between its event-loop turns, and a collective that fails (a
// peer died, a timeout) must surface as a JS Error where it happened.
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <chrono>
#include <cstdlib>
#include <functional>

#include "common.h"

namespace nt {

namespace {

using Millis = std::chrono::milliseconds;

// The collectives a data-parallel step needs, over whichever backend was built. In 1.13 the backends derive from
// ProcessGroup, in 2.x from Backend: holding the concrete type and calling it through these closures avoids both
// base classes.
struct Group {
  std::function<c10::intrusive_ptr<c10d::Work>(std::vector<at::Tensor>&, Millis)> allreduce;
  std::function<c10::intrusive_ptr<c10d::Work>(std::vector<at::Tensor>&, int64_t, Millis)> broadcast;
  std::function<c10::intrusive_ptr<c10d::Work>(Millis)> barrier;
};

struct Session {
  c10::intrusive_ptr<c10d::TCPStore> store;
  std::unique_ptr<Group> group;
  Millis timeout{0};
};

Session& session(const Napi::Value& v) {
  auto* s = v.IsExternal() ? v.As<Napi::External<Session>>().Data() : nullptr;
  if (!s) throw Napi::TypeError::New(v.Env(), "not a distributed session");
  return *s;
}

Group& group(const Napi::Value& v) {
  auto& s = session(v);
  if (!s.group) throw Napi::Error::New(v.Env(), "the process group is not initialized (or was destroyed)");
  return *s.group;
}

Millis millisArg(const Napi::Value& v) { return Millis(static_cast<int64_t>(v.As<Napi::Number>().DoubleValue())); }

void waitFor(const c10::intrusive_ptr<c10d::Work>& work, Millis timeout) {
  // Work::wait throws the backend's error (peer closed the connection, timed out) as a c10::Error
  work->wait(timeout);
}

// connectStore(host, port, isServer, worldSize, timeoutMs) → session. The server (rank 0) listens on port; a client
// retries until timeoutMs. Ranks are counted by the caller through add(), so the server does not wait for workers.
Napi::Value ConnectStore(const Napi::CallbackInfo& info) {
  NT_TRY
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  opts.isServer = info[2].As<Napi::Boolean>().Value();
  opts.numWorkers = static_cast<std::size_t>(info[3].As<Napi::Number>().Uint32Value());
  opts.waitWorkers = false;
  opts.timeout = millisArg(info[4]);
  auto s = std::make_unique<Session>();
  s->store = c10::make_intrusive<c10d::TCPStore>(info[0].As<Napi::String>().Utf8Value(), opts);
  s->timeout = opts.timeout;
  return Napi::External<Session>::New(info.Env(), s.release(), [](Napi::Env, Session* p) { delete p; });
  NT_CATCH
}

// storeSet(session, key, value: string)
Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  NT_TRY
  auto value = info[2].As<Napi::String>().Utf8Value();
  session(info[0]).store->set(info[1].As<Napi::String>().Utf8Value(), std::vector<uint8_t>(value.begin(), value.end()));
  return info.Env().Undefined();
  NT_CATCH
}

// storeGet(session, key, timeoutMs) → string: waits for the key up to timeoutMs.
Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  NT_TRY
  auto& s = session(info[0]);
  auto key = info[1].As<Napi::String>().Utf8Value();
  s.store->wait({key}, millisArg(info[2]));
  auto bytes = s.store->get(key);
  return Napi::String::New(info.Env(), std::string(bytes.begin(), bytes.end()));
  NT_CATCH
}

// storeAdd(session, key, delta) → the counter after adding
Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  NT_TRY
  auto v = session(info[0]).store->add(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int64Value());
  return Napi::Number::New(info.Env(), static_cast<double>(v));
  NT_CATCH
}

// storeCheck(session, key) → whether the key exists (no waiting)
Napi::Value StoreCheck(const Napi::CallbackInfo& info) {
  NT_TRY
  return Napi::Boolean::New(info.Env(), session(info[0]).store->check({info[1].As<Napi::String>().Utf8Value()}));
  NT_CATCH
}

template <typename PG>
std::unique_ptr<Group> groupOf(c10::intrusive_ptr<PG> pg) {
  auto g = std::make_unique<Group>();
  g->allreduce = [pg](std::vector<at::Tensor>& ts, Millis t) {
    c10d::AllreduceOptions o;
    o.timeout = t;
    return pg->allreduce(ts, o);
  };
  g->broadcast = [pg](std::vector<at::Tensor>& ts, int64_t root, Millis t) {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = t;
    return pg->broadcast(ts, o);
  };
  g->barrier = [pg](Millis t) {
    c10d::BarrierOptions o;
    o.timeout = t;
    return pg->barrier(o);
  };
  return g;
}

// initGroup(session, backend 'gloo'|'nccl', rank, worldSize, timeoutMs, glooHost: string|null): the process group
// over the session's store. glooHost is the address this rank's gloo device binds to (null: the machine's hostname,
// falling back to loopback, as torch's default; $GLOO_SOCKET_IFNAME names an interface instead, as torch).
Napi::Value InitGroup(const Napi::CallbackInfo& info) {
  NT_TRY
  auto env = info.Env();
  auto& s = session(info[0]);
  auto backend = info[1].As<Napi::String>().Utf8Value();
  int rank = info[2].As<Napi::Number>().Int32Value();
  int size = info[3].As<Napi::Number>().Int32Value();
  Millis timeout = millisArg(info[4]);
  c10::intrusive_ptr<c10d::Store> store = s.store;
  if (backend == "gloo") {
#ifdef USE_C10D_GLOO
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
    if (iface && *iface) {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
    } else if (info[5].IsString()) {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(info[5].As<Napi::String>().Utf8Value()));
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    // one gloo thread: collectives run one at a time, and the cores belong to the training step
    opts->threads = 1;
    s.group = groupOf(c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts));
#else
    throw Napi::Error::New(env, "this build of the addon has no gloo (the gloo headers were not found at build time)");
#endif
  } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    s.group = groupOf(c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts));
#else
    throw Napi::Error::New(env, "this build of the addon has no NCCL (it needs a CUDA libtorch with NCCL and nccl.h at build time)");
#endif
  } else {
    throw Napi::TypeError::New(env, "unknown backend " + backend);
  }
  return env.Undefined();
  NT_CATCH
}

// allreduceSum(session, tensors[], timeoutMs): every tensor summed over ranks, in place
Napi::Value AllreduceSum(const Napi::CallbackInfo& info) {
  NT_TRY
  auto& g = group(info[0]);
  auto ts = unwrapList(info[1]);
  Millis t = millisArg(info[2]);
  for (auto& x : ts) {
    std::vector<at::Tensor> one{x};
    waitFor(g.allreduce(one, t), t);
  }
  return info.Env().Undefined();
  NT_CATCH
}

// broadcast(session, tensors[], root, timeoutMs): root's values into every rank's tensors, in place
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  NT_TRY
  auto& g = group(info[0]);
  auto ts = unwrapList(info[1]);
  int64_t root = info[2].As<Napi::Number>().Int64Value();
  Millis t = millisArg(info[3]);
  for (auto& x : ts) {
    std::vector<at::Tensor> one{x};
    waitFor(g.broadcast(one, root, t), t);
  }
  return info.Env().Undefined();
  NT_CATCH
}

// barrier(session, timeoutMs)
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  NT_TRY
  Millis t = millisArg(info[1]);
  waitFor(group(info[0]).barrier(t), t);
  return info.Env().Undefined();
  NT_CATCH
}

// destroy(session): drops the group, then the store (rank 0's store is the server: it goes last, after a barrier
// the caller runs).
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  NT_TRY
  auto& s = session(info[0]);
  s.group.reset();
  s.store.reset();
  return info.Env().Undefined();
  NT_CATCH
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  auto d = Napi::Object::New(env);
  d.Set("connectStore", Napi::Function::New(env, ConnectStore));
  d.Set("storeSet", Napi::Function::New(env, StoreSet));
  d.Set("storeGet", Napi::Function::New(env, StoreGet));
  d.Set("storeAdd", Napi::Function::New(env, StoreAdd));
  d.Set("storeCheck", Napi::Function::New(env, StoreCheck));
  d.Set("initGroup", Napi::Function::New(env, InitGroup));
  d.Set("allreduceSum", Napi::Function::New(env, AllreduceSum));
  d.Set("broadcast", Napi::Function::New(env, Broadcast));
  d.Set("barrier", Napi::Function::New(env, Barrier));
  d.Set("destroy", Napi::Function::New(env, Destroy));
#ifdef USE_C10D_GLOO
  d.Set("hasGloo", Napi::Boolean::New(env, true));
#else
  d.Set("hasGloo", Napi::Boolean::New(env, false));
#endif
#ifdef USE_C10D_NCCL
  d.Set("hasNccl", Napi::Boolean::New(env, true));
#else
  d.Set("hasNccl", Napi::Boolean::New(env, false));
#endif
  exports.Set("distributed", d);
}

}  // namespace nt
