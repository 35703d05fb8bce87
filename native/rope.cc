// Rotary position embedding on x[N, H, D] in place, Hugging Face "rotate_half" layout: channel i
// pairs with i + D/2 (i < D/2) and turns by angle pos[n] * theta^(-2i/D).
// N = tokens, H = heads, D = head size (even). Angles and cos/sin are computed in double once per
// token and shared by its H heads, so positions in the hundreds of thousands stay accurate.
#include <cmath>
#include <vector>

#include "common.h"

namespace ulysses {

// Rotates every head of every token by +angle (sign 1, forward) or -angle (sign -1, backward).
static void rope_rotate(float* x, const int32_t* pos, int64_t N, int64_t H, int64_t D, double theta, float sign) {
  // x[N,H,D], pos[N]
  int64_t half = D / 2;
  std::vector<double> inv_freq(half);  // [D/2]
  std::vector<float> cs(half), sn(half);  // [D/2] each
  for (int64_t i = 0; i < half; i++) inv_freq[i] = std::pow(theta, -2.0 * (double)i / (double)D);
  for (int64_t n = 0; n < N; n++) {
    for (int64_t i = 0; i < half; i++) {
      double angle = (double)pos[n] * inv_freq[i];
      cs[i] = (float)std::cos(angle);
      sn[i] = sign * (float)std::sin(angle);
    }
    for (int64_t h = 0; h < H; h++) {
      float* a = x + (n * H + h) * D;  // first half [D/2]
      float* b = a + half;             // second half [D/2]
      for (int64_t i = 0; i < half; i++) {
        float ai = a[i], bi = b[i];
        a[i] = ai * cs[i] - bi * sn[i];
        b[i] = bi * cs[i] + ai * sn[i];
      }
    }
  }
}

// Shared argument handling of rope_forward(x, pos, N, H, D, theta) and rope_backward(dx, ...).
static void rope_call(const Napi::CallbackInfo& info, const char* xname, float sign) {
  int64_t N = int_arg(info, 2, "N"), H = int_arg(info, 3, "H"), D = int_arg(info, 4, "D");
  double theta = num_arg(info, 5, "theta");
  if (D % 2 != 0) throw Napi::RangeError::New(info.Env(), "rope: head size D must be even");
  float* x = f32_arg(info, 0, xname, (size_t)(N * H * D));
  const int32_t* pos = i32_opt(info, 1, "pos", N, false);
  rope_rotate(x, pos, N, H, D, theta, sign);
}

static void RopeForward(const Napi::CallbackInfo& info) { rope_call(info, "x", 1.0f); }
static void RopeBackward(const Napi::CallbackInfo& info) { rope_call(info, "dx", -1.0f); }

void register_rope(Napi::Env env, Napi::Object exports) {
  exports.Set("rope_forward", Napi::Function::New(env, RopeForward));
  exports.Set("rope_backward", Napi::Function::New(env, RopeBackward));
}

}  // namespace ulysses
