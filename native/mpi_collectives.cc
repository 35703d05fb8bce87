// MPI collectives on typed arrays, each in a blocking form and a nonblocking form (A = true)
// that returns a request id for mpiWait/mpiTest. Communicator handle last, absent means world.
#include <algorithm>

#include "mpi_internal.h"

namespace ulysses {
namespace mpi {
namespace {

// Blocking form returns undefined; the nonblocking form (A = true) returns a request id.
template <bool A>
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Call c(info, A ? "mpiIbarrier" : "mpiBarrier");
  MPI_Comm comm = c.comm(0);
  if (!A) return c.check(MPI_Barrier(comm)), c.env.Undefined();
  auto p = c.pending({});
  p->reqs.resize(1);
  c.check(MPI_Ibarrier(comm, p->reqs.data()));
  return c.submit(std::move(p));
}

// (buf, root, comm)
template <bool A>
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Call c(info, A ? "mpiIbroadcast" : "mpiBroadcast");
  int size = 0;
  MPI_Comm comm = c.comm(2, nullptr, &size);
  Buf b = c.buf(0, "buf");
  int root = (int)c.integer(1, "root", 0, size - 1);
  if (!A) return c.check(MPI_Bcast(b.data, b.count(), b.type, root, comm)), c.env.Undefined();
  auto p = c.pending({0});
  p->reqs.resize(1);
  c.check(MPI_Ibcast(b.data, b.count(), b.type, root, comm, p->reqs.data()));
  return c.submit(std::move(p));
}

// (send, recv, op, comm); passing the same array as send and recv reduces in place.
template <bool A>
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Call c(info, A ? "mpiIallReduce" : "mpiAllReduce");
  MPI_Comm comm = c.comm(3);
  Buf s = c.buf(0, "send"), r = c.buf(1, "recv");
  c.same_type(s, r);
  MPI_Op op = c.op(2, r);
  if (s.length != r.length) {
    c.fail("send has " + std::to_string(s.length) + " elements but recv has " + std::to_string(r.length));
  }
  bool inplace = s.data == r.data;
  if (!inplace && overlap(s, r)) c.fail("send and recv overlap; pass the same array twice to reduce in place");
  const void* sp = inplace ? MPI_IN_PLACE : s.data;
  if (!A) return c.check(MPI_Allreduce(sp, r.data, r.count(), r.type, op, comm)), c.env.Undefined();
  auto p = c.pending({0, 1});
  p->reqs.resize(1);
  c.check(MPI_Iallreduce(sp, r.data, r.count(), r.type, op, comm, p->reqs.data()));
  return c.submit(std::move(p));
}

// (send, recv, counts, displs | null, comm); send may be recv's own block (in place).
template <bool A>
Napi::Value AllGatherv(const Napi::CallbackInfo& info) {
  Call c(info, A ? "mpiIallGatherv" : "mpiAllGatherv");
  int rank = 0, size = 0;
  MPI_Comm comm = c.comm(4, &rank, &size);
  Buf s = c.buf(0, "send"), r = c.buf(1, "recv");
  c.same_type(s, r);
  std::vector<int> cnt = c.counts(2, "counts", size), dsp = c.displs(3, "displs", cnt);
  c.layout(cnt, dsp, r, "recv");
  bool inplace = s.data == r.at(dsp[rank]) && s.length == (size_t)cnt[rank];
  if (s.length != (size_t)cnt[rank]) {
    c.fail("send has " + std::to_string(s.length) + " elements but counts[" + std::to_string(rank) + "] is " +
           std::to_string(cnt[rank]));
  }
  if (!inplace && overlap(s, r)) c.fail("send overlaps recv outside this rank's own block");
  const void* sp = inplace ? MPI_IN_PLACE : s.data;
  if (!A) {
    c.check(MPI_Allgatherv(sp, s.count(), s.type, r.data, cnt.data(), dsp.data(), r.type, comm));
    return c.env.Undefined();
  }
  auto p = c.pending({0, 1}, 2 * (size_t)size);
  std::copy(cnt.begin(), cnt.end(), p->ints.begin());
  std::copy(dsp.begin(), dsp.end(), p->ints.begin() + size);
  p->reqs.resize(1);
  int* pi = p->ints.data();
  c.check(MPI_Iallgatherv(sp, s.count(), s.type, r.data, pi, pi + size, r.type, comm, p->reqs.data()));
  return c.submit(std::move(p));
}

// (send, sendCounts, sendDispls | null, recv, recvCounts, recvDispls | null, comm)
template <bool A>
Napi::Value AllToAllv(const Napi::CallbackInfo& info) {
  Call c(info, A ? "mpiIallToAllv" : "mpiAllToAllv");
  int size = 0;
  MPI_Comm comm = c.comm(6, nullptr, &size);
  Buf s = c.buf(0, "send"), r = c.buf(3, "recv");
  c.same_type(s, r);
  std::vector<int> sc = c.counts(1, "sendCounts", size), sd = c.displs(2, "sendDispls", sc);
  std::vector<int> rc = c.counts(4, "recvCounts", size), rd = c.displs(5, "recvDispls", rc);
  c.layout(sc, sd, s, "send");
  c.layout(rc, rd, r, "recv");
  if (overlap(s, r)) c.fail("send and recv overlap");
  if (!A) {
    c.check(MPI_Alltoallv(s.data, sc.data(), sd.data(), s.type, r.data, rc.data(), rd.data(), r.type, comm));
    return c.env.Undefined();
  }
  auto p = c.pending({0, 3}, 4 * (size_t)size);
  int* pi = p->ints.data();
  for (int j = 0; j < size; j++) pi[j] = sc[j], pi[size + j] = sd[j], pi[2 * size + j] = rc[j], pi[3 * size + j] = rd[j];
  p->reqs.resize(1);
  c.check(MPI_Ialltoallv(s.data, pi, pi + size, s.type, r.data, pi + 2 * size, pi + 3 * size, r.type, comm,
                         p->reqs.data()));
  return c.submit(std::move(p));
}

// (send, recv, op, counts | null, comm): null counts means equal blocks of recv.length.
template <bool A>
Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
  Call c(info, A ? "mpiIreduceScatter" : "mpiReduceScatter");
  int rank = 0, size = 0;
  MPI_Comm comm = c.comm(4, &rank, &size);
  Buf s = c.buf(0, "send"), r = c.buf(1, "recv");
  c.same_type(s, r);
  MPI_Op op = c.op(2, r);
  if (overlap(s, r)) c.fail("send and recv overlap");
  bool block = c.absent(3);
  std::vector<int> cnt = block ? std::vector<int>() : c.counts(3, "counts", size);
  int64_t total = 0;
  for (int x : cnt) total += x;
  if (block && s.length != (size_t)size * r.length) {
    c.fail("send has " + std::to_string(s.length) + " elements, expected ranks x recv.length = " +
           std::to_string((size_t)size * r.length));
  }
  if (!block && (total != (int64_t)s.length || (size_t)cnt[rank] != r.length)) {
    c.fail("counts sum to " + std::to_string(total) + " and counts[" + std::to_string(rank) + "] is " +
           std::to_string(cnt[rank]) + ", but send has " + std::to_string(s.length) + " and recv " +
           std::to_string(r.length) + " elements");
  }
  if (!A) {
    c.check(block ? MPI_Reduce_scatter_block(s.data, r.data, r.count(), r.type, op, comm)
                  : MPI_Reduce_scatter(s.data, r.data, cnt.data(), r.type, op, comm));
    return c.env.Undefined();
  }
  auto p = c.pending({0, 1}, cnt.size());
  std::copy(cnt.begin(), cnt.end(), p->ints.begin());
  p->reqs.resize(1);
  c.check(block ? MPI_Ireduce_scatter_block(s.data, r.data, r.count(), r.type, op, comm, p->reqs.data())
                : MPI_Ireduce_scatter(s.data, r.data, p->ints.data(), r.type, op, comm, p->reqs.data()));
  return c.submit(std::move(p));
}

// (send | null, dest | null, recv | null, source | null, tag, comm); a null pair skips that side.
// The blocking form returns the number of elements received.
template <bool A>
Napi::Value SendRecv(const Napi::CallbackInfo& info) {
  Call c(info, A ? "mpiIsendRecv" : "mpiSendRecv");
  int size = 0;
  MPI_Comm comm = c.comm(5, nullptr, &size);
  if (c.absent(0) != c.absent(1) || c.absent(2) != c.absent(3)) {
    c.fail("send and dest (and recv and source) must both be given or both be null", false);
  }
  Buf s = c.absent(0) ? Buf() : c.buf(0, "send"), r = c.absent(2) ? Buf() : c.buf(2, "recv");
  int dest = c.absent(1) ? MPI_PROC_NULL : (int)c.integer(1, "dest", 0, size - 1);
  int source = c.absent(3) ? MPI_PROC_NULL : (int)c.integer(3, "source", 0, size - 1);
  int tag = (int)c.integer(4, "tag", 0, 32767);
  if (!c.absent(0) && !c.absent(2)) c.same_type(s, r);
  if (overlap(s, r)) c.fail("send and recv overlap");
  if (!A) {
    MPI_Status st;
    c.check(MPI_Sendrecv(s.data, s.count(), s.type, dest, tag, r.data, r.count(), r.type, source, tag, comm, &st));
    int got = 0;
    if (source != MPI_PROC_NULL) MPI_Get_count(&st, r.type, &got);
    return Napi::Number::New(c.env, got);
  }
  auto p = c.pending({0, 2});
  p->reqs.resize(2);
  c.check(MPI_Irecv(r.data, r.count(), r.type, source, tag, comm, &p->reqs[0]));
  c.check(MPI_Isend(s.data, s.count(), s.type, dest, tag, comm, &p->reqs[1]));
  return c.submit(std::move(p));
}

}  // namespace

void register_collectives(Napi::Env env, Napi::Object exports) {
  exports.Set("mpiBarrier", Napi::Function::New(env, Barrier<false>));
  exports.Set("mpiIbarrier", Napi::Function::New(env, Barrier<true>));
  exports.Set("mpiBroadcast", Napi::Function::New(env, Broadcast<false>));
  exports.Set("mpiIbroadcast", Napi::Function::New(env, Broadcast<true>));
  exports.Set("mpiAllReduce", Napi::Function::New(env, AllReduce<false>));
  exports.Set("mpiIallReduce", Napi::Function::New(env, AllReduce<true>));
  exports.Set("mpiAllGatherv", Napi::Function::New(env, AllGatherv<false>));
  exports.Set("mpiIallGatherv", Napi::Function::New(env, AllGatherv<true>));
  exports.Set("mpiAllToAllv", Napi::Function::New(env, AllToAllv<false>));
  exports.Set("mpiIallToAllv", Napi::Function::New(env, AllToAllv<true>));
  exports.Set("mpiReduceScatter", Napi::Function::New(env, ReduceScatter<false>));
  exports.Set("mpiIreduceScatter", Napi::Function::New(env, ReduceScatter<true>));
  exports.Set("mpiSendRecv", Napi::Function::New(env, SendRecv<false>));
  exports.Set("mpiIsendRecv", Napi::Function::New(env, SendRecv<true>));
}

}  // namespace mpi
}  // namespace ulysses
