// Fused CPU kernels of the decoder's elementwise pieces (ptlab.models.fused builds and loads
// this file; float32, contiguous). Each op is one pass forward and one pass backward, with a
// C++ autograd node, where PyTorch's eager ops take 4-12 kernels and as many autograd nodes.
//   rms_norm(x, w, eps)          y = x * rsqrt(mean(x^2) + eps) * w over the last dim
//   swiglu(gu)                   gu = [gate | up] on the last dim: silu(gate) * up
//   rope(x, cos, sin, back, n)   x [outer, T, inner, r]: inner rows < n rotated (RoPE,
//                                rotate-half layout, sin = [-sin | sin]), the others copied;
//                                the backward rotates by `back` (= -sin: the inverse rotation)
//   cross_entropy(z, t)          z [N, V] logits, t [N] classes: logsumexp(z) - z[t] per row
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

using at::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

constexpr int64_t kRowChunk = 64;  // rows per task (and per partial sum: deterministic)

// expf by Cephes' method, written so that the compiler vectorises it; |error| <= 2 ulp on
// [-87, 88], the input is clamped there (sigmoid saturates long before), NaN passes through.
inline float exp_vec(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  x = x - fx * 0.693359375f - fx * -2.12194440e-4f;
  float z = x * x;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  int32_t bits = (static_cast<int32_t>(fx) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));  // compiles to a register move
  return y * scale;
}

inline float sigmoid(float g) { return 1.0f / (1.0f + exp_vec(-g)); }

// Flush subnormals to zero while a kernel with exp runs (the thread's mode is restored after).
// The vectorised sigmoid also evaluates its saturated branch, g / (1 + e^87), on every lane and
// then discards it; that value is subnormal for |g| < 0.7, and each subnormal costs a microcode
// assist: 10x slower without this (measured); so do the e^(z - max) of the cross-entropy far
// below the maximum. The results differ only below 1.2e-38.
struct FlushSubnormals {
#if defined(__SSE__)
  unsigned int saved = _mm_getcsr();
  FlushSubnormals() { _mm_setcsr(saved | 0x8040); }  // flush-to-zero, denormals-are-zero
  ~FlushSubnormals() { _mm_setcsr(saved); }
#endif
};

void check(const Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat,
              "ptlab fused op: ", name, " must be a float32 CPU tensor");
}

// --- RMSNorm ---------------------------------------------------------------------------------

struct RMSNorm : public torch::autograd::Function<RMSNorm> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x_in, const Tensor& w_in,
                        double eps) {
    check(x_in, "x");
    check(w_in, "w");
    Tensor x = x_in.contiguous(), w = w_in.contiguous();
    const int64_t d = x.size(-1), rows = d ? x.numel() / d : 0;
    Tensor y = at::empty_like(x), r = at::empty({rows}, x.options());
    const float* xp = x.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* rp = r.data_ptr<float>();
    const float e = static_cast<float>(eps);
    at::parallel_for(0, rows, kRowChunk, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const float* xi = xp + i * d;
        float* yi = yp + i * d;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (int64_t j = 0; j < d; ++j) ss += xi[j] * xi[j];
        const float ri = 1.0f / std::sqrt(ss / static_cast<float>(d) + e);
        rp[i] = ri;
#pragma omp simd
        for (int64_t j = 0; j < d; ++j) yi[j] = (xi[j] * ri) * wp[j];
      }
    });
    ctx->save_for_backward({x, w, r});
    return y;
  }

  // dx = r (g w - x r^2 mean(g w x)),  dw = sum over rows of g x r
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w = saved[1], &r = saved[2];
    Tensor g = grads[0].contiguous();
    const int64_t d = x.size(-1), rows = d ? x.numel() / d : 0;
    const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
    Tensor dx = at::empty_like(x), partial = at::zeros({chunks, d}, x.options());
    const float* xp = x.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    const float* rp = r.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* dxp = dx.data_ptr<float>();
    float* pp = partial.data_ptr<float>();
    at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        float* dw = pp + c * d;
        const int64_t end = std::min(rows, (c + 1) * kRowChunk);
        for (int64_t i = c * kRowChunk; i < end; ++i) {
          const float* xi = xp + i * d;
          const float* gi = gp + i * d;
          float* dxi = dxp + i * d;
          const float ri = rp[i];
          float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
          for (int64_t j = 0; j < d; ++j) dot += gi[j] * wp[j] * xi[j];
          const float k = dot * ri * ri * ri / static_cast<float>(d);
#pragma omp simd
          for (int64_t j = 0; j < d; ++j) {
            dxi[j] = gi[j] * wp[j] * ri - xi[j] * k;
            dw[j] += gi[j] * (xi[j] * ri);
          }
        }
      }
    });
    Tensor dw = chunks ? partial.sum(0) : at::zeros_like(w);
    return {dx, dw.view(w.sizes()), Tensor()};
  }
};

// --- SwiGLU ----------------------------------------------------------------------------------

struct SwiGLU : public torch::autograd::Function<SwiGLU> {
  static Tensor forward(AutogradContext* ctx, const Tensor& gu_in) {
    check(gu_in, "gate_up");
    Tensor gu = gu_in.contiguous();
    const int64_t m2 = gu.size(-1), m = m2 / 2, rows = m2 ? gu.numel() / m2 : 0;
    TORCH_CHECK(m2 % 2 == 0, "ptlab fused swiglu: the last dim must be even");
    auto sizes = gu.sizes().vec();
    sizes.back() = m;
    Tensor h = at::empty(sizes, gu.options());
    const float* p = gu.data_ptr<float>();
    float* hp = h.data_ptr<float>();
    at::parallel_for(0, rows, kRowChunk, [&](int64_t begin, int64_t end) {
      FlushSubnormals ftz;
      for (int64_t i = begin; i < end; ++i) {
        const float* g = p + i * m2;
        const float* u = g + m;
        float* hi = hp + i * m;
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) hi[j] = g[j] * sigmoid(g[j]) * u[j];
      }
    });
    ctx->save_for_backward({gu});
    return h;
  }

  // d gate = dh u s (1 + g (1 - s)),  d up = dh g s,  with s = sigmoid(gate)
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    Tensor gu = ctx->get_saved_variables()[0];
    Tensor dh = grads[0].contiguous();
    const int64_t m2 = gu.size(-1), m = m2 / 2, rows = m2 ? gu.numel() / m2 : 0;
    Tensor dgu = at::empty_like(gu);
    const float* p = gu.data_ptr<float>();
    const float* dhp = dh.data_ptr<float>();
    float* dp = dgu.data_ptr<float>();
    at::parallel_for(0, rows, kRowChunk, [&](int64_t begin, int64_t end) {
      FlushSubnormals ftz;
      for (int64_t i = begin; i < end; ++i) {
        const float* g = p + i * m2;
        const float* u = g + m;
        const float* dhi = dhp + i * m;
        float* dg = dp + i * m2;
        float* du = dg + m;
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) {
          const float s = sigmoid(g[j]);
          const float silu = g[j] * s;
          dg[j] = dhi[j] * u[j] * (s + silu * (1.0f - s));
          du[j] = dhi[j] * silu;
        }
      }
    });
    return {dgu};
  }
};

// --- RoPE ------------------------------------------------------------------------------------

// out[o, t, i, :] = x * cos[t] + roll(x, r/2) * sin[t] for i < n_rot, else x
void rotate(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t n_rot, Tensor& out) {
  const int64_t outer = x.size(0), T = x.size(1), inner = x.size(2), r = x.size(3), h = r / 2;
  const float* xp = x.data_ptr<float>();
  const float* cp = cos.data_ptr<float>();
  const float* sp = sin.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, outer * T, 16, [&](int64_t begin, int64_t end) {
    for (int64_t ot = begin; ot < end; ++ot) {
      const int64_t t = ot % T;
      const float* c = cp + t * r;
      const float* s = sp + t * r;
      for (int64_t i = 0; i < inner; ++i) {
        const float* xi = xp + (ot * inner + i) * r;
        float* oi = op + (ot * inner + i) * r;
        if (i >= n_rot) {
          std::memcpy(oi, xi, sizeof(float) * r);
          continue;
        }
#pragma omp simd
        for (int64_t j = 0; j < h; ++j) {
          oi[j] = xi[j] * c[j] + xi[j + h] * s[j];
          oi[j + h] = xi[j + h] * c[j + h] + xi[j] * s[j + h];
        }
      }
    }
  });
}

struct Rope : public torch::autograd::Function<Rope> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x_in, const Tensor& cos,
                        const Tensor& sin, const Tensor& back, int64_t n_rot) {
    check(x_in, "x");
    TORCH_CHECK(x_in.dim() == 4 && x_in.size(3) % 2 == 0, "ptlab fused rope: x is [o, T, i, r]");
    Tensor x = x_in.contiguous(), out = at::empty_like(x);
    rotate(x, cos.contiguous(), sin.contiguous(), n_rot, out);
    ctx->save_for_backward({cos, back});
    ctx->saved_data["n_rot"] = n_rot;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    Tensor g = grads[0].contiguous(), dx = at::empty_like(g);
    rotate(g, saved[0].contiguous(), saved[1].contiguous(), ctx->saved_data["n_rot"].toInt(), dx);
    return {dx, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// --- cross-entropy ---------------------------------------------------------------------------

struct CrossEntropy : public torch::autograd::Function<CrossEntropy> {
  static Tensor forward(AutogradContext* ctx, const Tensor& z_in, const Tensor& t_in) {
    check(z_in, "logits");
    TORCH_CHECK(z_in.dim() == 2 && t_in.dim() == 1 && t_in.size(0) == z_in.size(0),
                "ptlab fused cross_entropy: logits [N, V] and targets [N]");
    Tensor z = z_in.contiguous(), t = t_in.to(at::kLong).contiguous();
    const int64_t N = z.size(0), V = z.size(1);
    Tensor loss = at::empty({N}, z.options()), lse = at::empty({N}, z.options());
    const float* zp = z.data_ptr<float>();
    const int64_t* tp = t.data_ptr<int64_t>();
    float* lp = loss.data_ptr<float>();
    float* sp = lse.data_ptr<float>();
    at::parallel_for(0, N, kRowChunk, [&](int64_t begin, int64_t end) {
      FlushSubnormals ftz;
      for (int64_t i = begin; i < end; ++i) {
        const float* zi = zp + i * V;
        TORCH_CHECK(tp[i] >= 0 && tp[i] < V, "ptlab fused cross_entropy: target out of range");
        float m = zi[0];
#pragma omp simd reduction(max : m)
        for (int64_t j = 1; j < V; ++j) m = zi[j] > m ? zi[j] : m;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < V; ++j) sum += exp_vec(zi[j] - m);
        sp[i] = m + std::log(sum);
        lp[i] = sp[i] - zi[tp[i]];
      }
    });
    ctx->save_for_backward({z, t, lse});
    return loss;
  }

  // dz = g (softmax(z) - onehot(t)) per row
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &z = saved[0], &t = saved[1], &lse = saved[2];
    Tensor g = grads[0].contiguous();
    const int64_t N = z.size(0), V = z.size(1);
    Tensor dz = at::empty_like(z);
    const float* zp = z.data_ptr<float>();
    const int64_t* tp = t.data_ptr<int64_t>();
    const float* sp = lse.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* dp = dz.data_ptr<float>();
    at::parallel_for(0, N, kRowChunk, [&](int64_t begin, int64_t end) {
      FlushSubnormals ftz;
      for (int64_t i = begin; i < end; ++i) {
        const float* zi = zp + i * V;
        float* di = dp + i * V;
        const float gi = gp[i], li = sp[i];
#pragma omp simd
        for (int64_t j = 0; j < V; ++j) di[j] = gi * exp_vec(zi[j] - li);
        di[tp[i]] -= gi;
      }
    });
    return {dz, Tensor()};
  }
};

Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) { return RMSNorm::apply(x, w, eps); }
Tensor cross_entropy(const Tensor& z, const Tensor& t) { return CrossEntropy::apply(z, t); }
Tensor swiglu(const Tensor& gu) { return SwiGLU::apply(gu); }
Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& back,
            int64_t n_rot) {
  return Rope::apply(x, cos, sin, back, n_rot);
}

}  // namespace

TORCH_LIBRARY(ptlab_fused, m) {
  m.def("rms_norm(Tensor x, Tensor w, float eps) -> Tensor", &rms_norm);
  m.def("swiglu(Tensor gate_up) -> Tensor", &swiglu);
  m.def("rope(Tensor x, Tensor cos, Tensor sin, Tensor back, int n_rot) -> Tensor", &rope);
  m.def("cross_entropy(Tensor logits, Tensor targets) -> Tensor", &cross_entropy);
}
