// One AdamW step over n parameters (decoupled weight decay, bias correction 1 - beta^step):
// g = grads * gradScale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// params -= lr * (mhat / (sqrt(vhat) + eps) + weightDecay * params).
#include <cmath>

#include "common.h"

namespace ulysses {

static void adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, double step, float grad_scale) {
  // params[n], grads[n], m[n], v[n]
  // Reciprocal bias corrections, computed once in double: 1 - beta^step loses digits in float for small steps.
  float ibc1 = (float)(1.0 / (1.0 - std::pow((double)beta1, step)));
  float ibc2 = (float)(1.0 / (1.0 - std::pow((double)beta2, step)));
  for (int64_t i = 0; i < n; i++) {
    float g = grads[i] * grad_scale;
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= lr * (mi * ibc1 / (std::sqrt(vi * ibc2) + eps) + weight_decay * params[i]);
  }
}

// adamw_update(params, grads, m, v, n, lr, beta1, beta2, eps, weightDecay, step, gradScale)
static void AdamwUpdate(const Napi::CallbackInfo& info) {
  int64_t n = int_arg(info, 4, "n");
  double step = num_arg(info, 10, "step");
  if (!(step >= 1)) throw Napi::RangeError::New(info.Env(), "adamw_update: step must be >= 1");
  adamw_update(f32_arg(info, 0, "params", n), f32_arg(info, 1, "grads", n), f32_arg(info, 2, "m", n),
               f32_arg(info, 3, "v", n), n, (float)num_arg(info, 5, "lr"), (float)num_arg(info, 6, "beta1"),
               (float)num_arg(info, 7, "beta2"), (float)num_arg(info, 8, "eps"), (float)num_arg(info, 9, "weightDecay"),
               step, (float)num_arg(info, 11, "gradScale"));
}

void register_adamw(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw_update", Napi::Function::New(env, AdamwUpdate));
}

}  // namespace ulysses
