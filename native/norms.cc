// LayerNorm and RMSNorm, forward and backward; backward adds into dinp, dweight, dbias.
// N = rows (B*T), C = channels. Row statistics are summed in double, in 8 independent lanes so
// the loops vectorise without -ffast-math (which would be needed to reorder a single sum).
#include <cmath>

#include "common.h"

namespace ulysses {

// Sum of term(i) for i < n in double, lane j taking i = j mod 8.
template <class F>
static inline double lane_sum(int64_t n, F term) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += term(i + j);
  double s = 0;
  for (; i < n; i++) s += term(i);
  for (int j = 0; j < 8; j++) s += acc[j];
  return s;
}

static void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                              const float* bias, int64_t N, int64_t C, double eps) {
  // out[N,C], mean[N], rstd[N], inp[N,C], weight[C], bias[C]
  for (int64_t n = 0; n < N; n++) {
    const float* x = inp + n * C;
    float* o = out + n * C;
    double m = lane_sum(C, [&](int64_t i) { return (double)x[i]; }) / (double)C;
    // Two-pass variance avoids the cancellation of E[x^2] - E[x]^2.
    double var = lane_sum(C, [&](int64_t i) { double d = (double)x[i] - m; return d * d; }) / (double)C;
    float mf = (float)m, s = (float)(1.0 / std::sqrt(var + eps));
    for (int64_t i = 0; i < C; i++) o[i] = (x[i] - mf) * s * weight[i] + bias[i];
    mean[n] = mf;
    rstd[n] = s;
  }
}

// __restrict: without it the three gradient outputs need more alias checks than GCC will version for.
static void layernorm_backward(float* __restrict dinp, float* __restrict dweight, float* __restrict dbias,
                               const float* dout, const float* inp, const float* weight, const float* mean,
                               const float* rstd, int64_t N, int64_t C) {
  // dinp[N,C], dweight[C], dbias[C], dout[N,C], inp[N,C], weight[C], mean[N], rstd[N]
  for (int64_t n = 0; n < N; n++) {
    const float* x = inp + n * C;
    const float* g = dout + n * C;
    float* dx = dinp + n * C;
    float m = mean[n], s = rstd[n];
    // dinp = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) with dnorm = weight * dout.
    float dmean = (float)(lane_sum(C, [&](int64_t i) { return (double)(weight[i] * g[i]); }) / (double)C);
    auto dnorm_norm = [&](int64_t i) { return (double)(weight[i] * g[i]) * (double)((x[i] - m) * s); };
    float dnmean = (float)(lane_sum(C, dnorm_norm) / (double)C);
    for (int64_t i = 0; i < C; i++) {
      float norm = (x[i] - m) * s;
      dbias[i] += g[i];
      dweight[i] += norm * g[i];
      dx[i] += (weight[i] * g[i] - dmean - norm * dnmean) * s;
    }
  }
}

static void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                            double eps) {
  // out[N,C], rstd[N], inp[N,C], weight[C]
  for (int64_t n = 0; n < N; n++) {
    const float* x = inp + n * C;
    float* o = out + n * C;
    double ms = lane_sum(C, [&](int64_t i) { return (double)x[i] * (double)x[i]; }) / (double)C;
    float s = (float)(1.0 / std::sqrt(ms + eps));
    for (int64_t i = 0; i < C; i++) o[i] = x[i] * s * weight[i];
    rstd[n] = s;
  }
}

static void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                             const float* rstd, int64_t N, int64_t C) {
  // dinp[N,C], dweight[C], dout[N,C], inp[N,C], weight[C], rstd[N]
  for (int64_t n = 0; n < N; n++) {
    const float* x = inp + n * C;
    const float* g = dout + n * C;
    float* dx = dinp + n * C;
    float s = rstd[n];
    // dinp = rstd * (dnorm - norm * mean(dnorm * norm)) with norm = inp * rstd.
    float dnmean = (float)(lane_sum(C, [&](int64_t i) { return (double)(weight[i] * g[i]) * (double)(x[i] * s); }) /
                           (double)C);
    for (int64_t i = 0; i < C; i++) {
      float norm = x[i] * s;
      dweight[i] += norm * g[i];
      dx[i] += (weight[i] * g[i] - norm * dnmean) * s;
    }
  }
}

// layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps)
static void LayernormForward(const Napi::CallbackInfo& info) {
  int64_t N = int_arg(info, 6, "N"), C = int_arg(info, 7, "C");
  double eps = num_arg(info, 8, "eps");
  size_t NC = (size_t)(N * C);
  layernorm_forward(f32_arg(info, 0, "out", NC), f32_arg(info, 1, "mean", N), f32_arg(info, 2, "rstd", N),
                    f32_arg(info, 3, "inp", NC), f32_arg(info, 4, "weight", C), f32_arg(info, 5, "bias", C), N, C, eps);
}

// layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C)
static void LayernormBackward(const Napi::CallbackInfo& info) {
  int64_t N = int_arg(info, 8, "N"), C = int_arg(info, 9, "C");
  size_t NC = (size_t)(N * C);
  layernorm_backward(f32_arg(info, 0, "dinp", NC), f32_arg(info, 1, "dweight", C), f32_arg(info, 2, "dbias", C),
                     f32_arg(info, 3, "dout", NC), f32_arg(info, 4, "inp", NC), f32_arg(info, 5, "weight", C),
                     f32_arg(info, 6, "mean", N), f32_arg(info, 7, "rstd", N), N, C);
}

// rmsnorm_forward(out, rstd, inp, weight, N, C, eps)
static void RmsnormForward(const Napi::CallbackInfo& info) {
  int64_t N = int_arg(info, 4, "N"), C = int_arg(info, 5, "C");
  double eps = num_arg(info, 6, "eps");
  size_t NC = (size_t)(N * C);
  rmsnorm_forward(f32_arg(info, 0, "out", NC), f32_arg(info, 1, "rstd", N), f32_arg(info, 2, "inp", NC),
                  f32_arg(info, 3, "weight", C), N, C, eps);
}

// rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C)
static void RmsnormBackward(const Napi::CallbackInfo& info) {
  int64_t N = int_arg(info, 6, "N"), C = int_arg(info, 7, "C");
  size_t NC = (size_t)(N * C);
  rmsnorm_backward(f32_arg(info, 0, "dinp", NC), f32_arg(info, 1, "dweight", C), f32_arg(info, 2, "dout", NC),
                   f32_arg(info, 3, "inp", NC), f32_arg(info, 4, "weight", C), f32_arg(info, 5, "rstd", N), N, C);
}

void register_norms(Napi::Env env, Napi::Object exports) {
  exports.Set("layernorm_forward", Napi::Function::New(env, LayernormForward));
  exports.Set("layernorm_backward", Napi::Function::New(env, LayernormBackward));
  exports.Set("rmsnorm_forward", Napi::Function::New(env, RmsnormForward));
  exports.Set("rmsnorm_backward", Napi::Function::New(env, RmsnormBackward));
}

}  // namespace ulysses
