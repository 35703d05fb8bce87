// Open MPI binding: init/finalize/abort, communicators and the nonblocking request table; the
// collectives are in mpi_collectives.cc. MPI is initialised lazily by mpiInit(), never at load, so
// the addon still loads in worker threads and in processes that mpirun did not start.
#include <cstdio>
#include <cstdlib>

#include "mpi_internal.h"

namespace ulysses {
namespace mpi {

std::mutex g_mu;
bool g_inited = false, g_finalized = false;
std::vector<MPI_Comm> g_comms;
MPI_Op g_bf16_sum = MPI_OP_NULL, g_bf16_max = MPI_OP_NULL;
// Leaked on purpose: destroying it at exit would delete references of environments already gone.
std::map<int64_t, std::unique_ptr<Pending>>* g_pending = new std::map<int64_t, std::unique_ptr<Pending>>();
int64_t g_next_id = 1;

namespace {

int g_level = MPI_THREAD_SINGLE;

float bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Rounds to nearest even; NaN stays a quiet NaN instead of rounding up into Inf.
uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return (uint16_t)(bits >> 16);
}

void bf16_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; i++) b[i] = f32_to_bf16(bf16_to_f32(a[i]) + bf16_to_f32(b[i]));
}

void bf16_max(void* in, void* inout, int* len, MPI_Datatype*) {
  auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; i++) {
    float x = bf16_to_f32(a[i]), y = bf16_to_f32(b[i]);
    if (x > y || x != x) b[i] = a[i];
  }
}

const char* level_name(int level) {
  switch (level) {
    case MPI_THREAD_MULTIPLE: return "multiple";
    case MPI_THREAD_SERIALIZED: return "serialized";
    case MPI_THREAD_FUNNELED: return "funneled";
    default: return "single";
  }
}

// mpiInit() -> {rank, size, threadLevel}: idempotent; asks for MPI_THREAD_MULTIPLE.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Call c(info, "mpiInit");
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_finalized) c.state("MPI was finalized and cannot be initialised again");
    if (!g_inited) {
      c.check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &g_level));
      // Errors come back as JS exceptions naming the call instead of aborting the process.
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Op_create(bf16_sum, 1, &g_bf16_sum);
      MPI_Op_create(bf16_max, 1, &g_bf16_max);
      g_comms.assign(1, MPI_COMM_WORLD);
      g_inited = true;
    }
  }
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  auto out = Napi::Object::New(c.env);
  out.Set("rank", rank);
  out.Set("size", size);
  out.Set("threadLevel", level_name(g_level));
  return out;
}

Napi::Value Initialized(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_mu);
  return Napi::Boolean::New(info.Env(), g_inited && !g_finalized);
}

void Finalize(const Napi::CallbackInfo& info) {
  Call c(info, "mpiFinalize");
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_inited || g_finalized) return;
  if (!g_pending->empty()) {
    c.state(std::to_string(g_pending->size()) + " nonblocking requests are still pending; mpiWait them first");
  }
  for (size_t h = 1; h < g_comms.size(); h++) {
    if (g_comms[h] != MPI_COMM_NULL) MPI_Comm_free(&g_comms[h]);
  }
  MPI_Op_free(&g_bf16_sum);
  MPI_Op_free(&g_bf16_max);
  g_finalized = true;
  c.check(MPI_Finalize());
}

// mpiAbort(code): ends every rank of the job (or just this process when MPI is not running).
void Abort(const Napi::CallbackInfo& info) {
  Call c(info, "mpiAbort");
  int code = c.absent(0) ? 1 : (int)c.integer(0, "code", 0, 255);
  bool live;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    live = g_inited && !g_finalized;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  if (live) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

// mpiCommSplit(color, key, parent = 0) -> handle, or -1 when color is negative (MPI_UNDEFINED).
Napi::Value CommSplit(const Napi::CallbackInfo& info) {
  Call c(info, "mpiCommSplit");
  int color = (int)c.integer(0, "color", -1, INT_MAX), key = (int)c.integer(1, "key", INT_MIN, INT_MAX);
  MPI_Comm parent = c.comm(2), out = MPI_COMM_NULL;
  c.check(MPI_Comm_split(parent, color < 0 ? MPI_UNDEFINED : color, key, &out));
  if (out == MPI_COMM_NULL) return Napi::Number::New(c.env, -1);
  std::lock_guard<std::mutex> lock(g_mu);
  g_comms.push_back(out);
  return Napi::Number::New(c.env, (double)(g_comms.size() - 1));
}

// mpiCommFree(handle): frees a communicator made by mpiCommSplit; the handle is not reused.
void CommFree(const Napi::CallbackInfo& info) {
  Call c(info, "mpiCommFree");
  MPI_Comm comm = c.comm(0);
  if (comm == MPI_COMM_WORLD) c.fail("the world communicator (0) cannot be freed");
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_comms[(size_t)c.integer(0, "comm", 1, INT_MAX)] = MPI_COMM_NULL;
  }
  c.check(MPI_Comm_free(&comm));
}

Napi::Value CommInfo(const Napi::CallbackInfo& info) {
  Call c(info, "mpiCommInfo");
  int rank = 0, size = 0;
  c.comm(0, &rank, &size);
  auto out = Napi::Object::New(c.env);
  out.Set("rank", rank);
  out.Set("size", size);
  return out;
}

Pending* find_pending(const Call& c, int64_t id) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_pending->find(id);
  if (it == g_pending->end()) c.fail("no pending request " + std::to_string(id) + " (already completed?)");
  if (it->second->env != c.env) c.state("request " + std::to_string(id) + " belongs to another thread");
  return it->second.get();
}

// Drops a finished request; its references are deleted here, on the thread that owns them.
void release(int64_t id) {
  std::unique_ptr<Pending> done;
  std::lock_guard<std::mutex> lock(g_mu);
  done = std::move((*g_pending)[id]);
  g_pending->erase(id);
}

void Wait(const Napi::CallbackInfo& info) {
  Call c(info, "mpiWait");
  int64_t id = c.integer(0, "id", 1, INT64_C(1) << 53);
  Pending* p = find_pending(c, id);
  int rc = MPI_Waitall((int)p->reqs.size(), p->reqs.data(), MPI_STATUSES_IGNORE);
  release(id);
  c.check(rc);
}

Napi::Value Test(const Napi::CallbackInfo& info) {
  Call c(info, "mpiTest");
  int64_t id = c.integer(0, "id", 1, INT64_C(1) << 53);
  Pending* p = find_pending(c, id);
  int flag = 0;
  int rc = MPI_Testall((int)p->reqs.size(), p->reqs.data(), &flag, MPI_STATUSES_IGNORE);
  if (rc != MPI_SUCCESS || flag) release(id);
  c.check(rc);
  return Napi::Boolean::New(c.env, flag != 0);
}

}  // namespace
}  // namespace mpi

void register_mpi(Napi::Env env, Napi::Object exports) {
  using namespace mpi;
  exports.Set("mpiAvailable", Napi::Boolean::New(env, true));
  exports.Set("mpiInit", Napi::Function::New(env, Init));
  exports.Set("mpiInitialized", Napi::Function::New(env, Initialized));
  exports.Set("mpiFinalize", Napi::Function::New(env, Finalize));
  exports.Set("mpiAbort", Napi::Function::New(env, Abort));
  exports.Set("mpiCommSplit", Napi::Function::New(env, CommSplit));
  exports.Set("mpiCommFree", Napi::Function::New(env, CommFree));
  exports.Set("mpiCommInfo", Napi::Function::New(env, CommInfo));
  register_collectives(env, exports);
  exports.Set("mpiWait", Napi::Function::New(env, Wait));
  exports.Set("mpiTest", Napi::Function::New(env, Test));
}

}  // namespace ulysses
