// Softmax cross-entropy over logits[N,V] (N = rows, V = vocabulary), numerically stable (the row
// maximum is subtracted before exp). Rows with a negative target are ignored (loss 0, gradient 0).
#include <cmath>
#include <string>

#include "common.h"

namespace ulysses {

struct RowStats {
  float max;
  double sum;  // sum of exp(x - max), in double so long rows stay accurate
};

static RowStats row_stats(const float* x, int64_t V) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < V; i++) mx = x[i] > mx ? x[i] : mx;
  double sum = 0;
  for (int64_t i = 0; i < V; i++) sum += (double)std::exp(x[i] - mx);
  return {mx, sum};
}

static void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t V) {
  // losses[N], logits[N,V], targets[N]
  for (int64_t n = 0; n < N; n++) {
    int32_t t = targets[n];
    if (t < 0) {
      losses[n] = 0.0f;
      continue;
    }
    const float* x = logits + n * V;
    RowStats s = row_stats(x, V);
    losses[n] = (float)(std::log(s.sum) + (double)s.max - (double)x[t]);
  }
}

static void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, float dloss, int64_t N,
                                  int64_t V) {
  // dlogits[N,V] (overwritten, may alias logits), logits[N,V], targets[N]
  for (int64_t n = 0; n < N; n++) {
    int32_t t = targets[n];
    float* d = dlogits + n * V;
    if (t < 0) {
      for (int64_t i = 0; i < V; i++) d[i] = 0.0f;
      continue;
    }
    const float* x = logits + n * V;
    float mx = -INFINITY;
    for (int64_t i = 0; i < V; i++) mx = x[i] > mx ? x[i] : mx;
    // exp(x - max) is stored in d and rescaled, one exp per element; element i reads x[i] before
    // writing d[i], so dlogits may alias logits.
    double sum = 0;
    for (int64_t i = 0; i < V; i++) {
      d[i] = std::exp(x[i] - mx);
      sum += (double)d[i];
    }
    float scale = (float)((double)dloss / sum);
    for (int64_t i = 0; i < V; i++) d[i] *= scale;
    d[t] -= dloss;
  }
}

// Targets must be below V (negative means ignored), checked before any output is written.
static void check_targets(const Napi::CallbackInfo& info, const int32_t* targets, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; n++) {
    if (targets[n] >= V) {
      throw Napi::RangeError::New(info.Env(), "crossentropy: target " + std::to_string(targets[n]) + " of row " +
                                                  std::to_string(n) + " is not below V = " + std::to_string(V));
    }
  }
}

// crossentropy_forward(losses, logits, targets, N, V)
static void CrossentropyForward(const Napi::CallbackInfo& info) {
  int64_t N = int_arg(info, 3, "N"), V = int_arg(info, 4, "V");
  float* losses = f32_arg(info, 0, "losses", N);
  const float* logits = f32_arg(info, 1, "logits", (size_t)(N * V));
  const int32_t* targets = i32_opt(info, 2, "targets", N, false);
  check_targets(info, targets, N, V);
  crossentropy_forward(losses, logits, targets, N, V);
}

// crossentropy_backward(dlogits, logits, targets, dloss, N, V)
static void CrossentropyBackward(const Napi::CallbackInfo& info) {
  int64_t N = int_arg(info, 4, "N"), V = int_arg(info, 5, "V");
  float dloss = (float)num_arg(info, 3, "dloss");
  float* dlogits = f32_arg(info, 0, "dlogits", (size_t)(N * V));
  const float* logits = f32_arg(info, 1, "logits", (size_t)(N * V));
  const int32_t* targets = i32_opt(info, 2, "targets", N, false);
  check_targets(info, targets, N, V);
  crossentropy_backward(dlogits, logits, targets, dloss, N, V);
}

void register_crossentropy(Napi::Env env, Napi::Object exports) {
  exports.Set("crossentropy_forward", Napi::Function::New(env, CrossentropyForward));
  exports.Set("crossentropy_backward", Napi::Function::New(env, CrossentropyBackward));
}

}  // namespace ulysses
