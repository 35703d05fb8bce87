// Element-wise activations: GELU (tanh approximation, GPT-2's "gelu_new") and the SwiGLU gate
// silu(gate) * up. n = number of elements; backward adds into dinp, dgate, dup.
// Both are written through sigmoid(z) = 1 / (1 + exp(-z)) with an inlined polynomial exp, because
// libm's expf/tanhf calls keep the loops scalar (glibc offers vector versions only under -ffast-math).
#include <cmath>
#include <cstring>

#include "common.h"

namespace ulysses {

// exp(x) for float, within about 2 ulp: 2^k * p(r) with r = x - k ln2 and a degree-6 polynomial.
static inline float exp_approx(float x) {
  // Clamp keeps 2^k a normal float; ternaries rather than fminf/fmaxf, which block vectorisation.
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer (floorf would not vectorise).
  float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - k * 0.693359375f + k * 2.12194440e-4f;  // ln2 split in two for an exact k*ln2_hi
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t bits = (uint32_t)((int32_t)k + 127) << 23;  // biased exponent field of 2^k
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

static inline float sigmoid(float z) { return 1.0f / (1.0f + exp_approx(-z)); }

static const float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)
static const float kGeluCube = 0.044715f;

// 0.5 x (1 + tanh(u)) = x sigmoid(2u), with u = sqrt(2/pi) (x + 0.044715 x^3).
static void gelu_forward(float* out, const float* inp, int64_t n) {
  // out[n], inp[n]
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i];
    out[i] = x * sigmoid(2.0f * kGeluScale * (x + kGeluCube * x * x * x));
  }
}

// d/dx = 0.5 (1 + tanh u) + 0.5 x sech^2(u) u' = s + 2 x s (1 - s) u', with s = sigmoid(2u).
static void gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  // dinp[n], dout[n], inp[n]
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i];
    float s = sigmoid(2.0f * kGeluScale * (x + kGeluCube * x * x * x));
    float du = kGeluScale * (1.0f + 3.0f * kGeluCube * x * x);
    dinp[i] += (s + 2.0f * x * s * (1.0f - s) * du) * dout[i];
  }
}

static void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
  // out[n], gate[n], up[n]
  for (int64_t i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

// d silu(g)/dg = s (1 + g (1 - s)) with s = sigmoid(g).
static void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                            int64_t n) {
  // dgate[n], dup[n], dout[n], gate[n], up[n]
  for (int64_t i = 0; i < n; i++) {
    float g = gate[i], s = sigmoid(g);
    dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
    dup[i] += dout[i] * g * s;
  }
}

// gelu_forward(out, inp, n)
static void GeluForward(const Napi::CallbackInfo& info) {
  int64_t n = int_arg(info, 2, "n");
  gelu_forward(f32_arg(info, 0, "out", n), f32_arg(info, 1, "inp", n), n);
}

// gelu_backward(dinp, dout, inp, n)
static void GeluBackward(const Napi::CallbackInfo& info) {
  int64_t n = int_arg(info, 3, "n");
  gelu_backward(f32_arg(info, 0, "dinp", n), f32_arg(info, 1, "dout", n), f32_arg(info, 2, "inp", n), n);
}

// swiglu_forward(out, gate, up, n)
static void SwigluForward(const Napi::CallbackInfo& info) {
  int64_t n = int_arg(info, 3, "n");
  swiglu_forward(f32_arg(info, 0, "out", n), f32_arg(info, 1, "gate", n), f32_arg(info, 2, "up", n), n);
}

// swiglu_backward(dgate, dup, dout, gate, up, n)
static void SwigluBackward(const Napi::CallbackInfo& info) {
  int64_t n = int_arg(info, 5, "n");
  swiglu_backward(f32_arg(info, 0, "dgate", n), f32_arg(info, 1, "dup", n), f32_arg(info, 2, "dout", n),
                  f32_arg(info, 3, "gate", n), f32_arg(info, 4, "up", n), n);
}

void register_activations(Napi::Env env, Napi::Object exports) {
  exports.Set("gelu_forward", Napi::Function::New(env, GeluForward));
  exports.Set("gelu_backward", Napi::Function::New(env, GeluBackward));
  exports.Set("swiglu_forward", Napi::Function::New(env, SwigluForward));
  exports.Set("swiglu_backward", Napi::Function::New(env, SwigluBackward));
}

}  // namespace ulysses
