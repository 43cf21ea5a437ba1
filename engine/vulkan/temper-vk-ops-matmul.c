/* SPDX-License-Identifier: MIT */
/* temper-vk-ops-matmul.c — products by a weight (matmul,
 * matmul_backward_input, gemm) and the choice of shader for them:
 * matmul-coopmat.comp (temper-vk-ops-coopmat.c decides), matmul.comp (64×64
 * register-blocked tiles), and for a few rows of activations matvec.comp or
 * matvec-subgroup.comp. */
#include "config.h"

#include "temper/error.h"
#include "temper-vk-backend-private.h"
#include "temper-vk-ops-matmul.h"

/* Push constants of matmul.comp, matvec*.comp and matmul-coopmat.comp. */
typedef struct {
  guint32 M, N, K;
  guint32 a_offset, a_stride_m, a_stride_k;
  guint32 b_offset, b_row_bytes, b_trans;
  guint32 c_offset, c_stride_m;
  guint32 bias_offset, has_bias;
  float alpha, beta;
} MatmulPush;

/* The side of the square tile of C one workgroup of matmul.comp computes. */
#define MATMUL_TILE 64u
/* Up to this many rows of A, a matvec shader (each output column computed
 * by one invocation or one subgroup) beats 64×64 tiles that would be mostly
 * empty.  Matches both matvec shaders. */
#define MATVEC_MAX_M 16u
/* matvec.comp: invocations per workgroup, one output column each. */
#define MATVEC_LOCAL 64u
/* matvec-subgroup.comp: output columns per workgroup of four subgroups. */
#define MATVEC_SUBGROUP_COLUMNS 4u

#define WEIGHT_SHADER(prefix, type)                                            \
  switch (type)                                                                \
    {                                                                          \
    case TEMPER_TYPE_F32: return prefix##_F32;                                 \
    case TEMPER_TYPE_F16: return prefix##_F16;                                 \
    case TEMPER_TYPE_BF16: return prefix##_BF16;                               \
    case TEMPER_TYPE_Q4_0: return prefix##_Q4_0;                               \
    case TEMPER_TYPE_Q4_1: return prefix##_Q4_1;                               \
    case TEMPER_TYPE_Q5_0: return prefix##_Q5_0;                               \
    case TEMPER_TYPE_Q5_1: return prefix##_Q5_1;                               \
    case TEMPER_TYPE_Q8_0: return prefix##_Q8_0;                               \
    case TEMPER_TYPE_Q4_K: return prefix##_Q4_K;                               \
    case TEMPER_TYPE_Q5_K: return prefix##_Q5_K;                               \
    case TEMPER_TYPE_Q6_K: return prefix##_Q6_K;                               \
    case TEMPER_TYPE_NF4: return prefix##_NF4;                                 \
    case TEMPER_TYPE_Q2_K: return prefix##_Q2_K;                               \
    case TEMPER_TYPE_Q3_K: return prefix##_Q3_K;                               \
    case TEMPER_TYPE_IQ4_NL: return prefix##_IQ4_NL;                           \
    case TEMPER_TYPE_IQ4_XS: return prefix##_IQ4_XS;                           \
    case TEMPER_TYPE_TQ2_0: return prefix##_TQ2_0;                             \
    default: g_return_val_if_reached (prefix##_F32);                           \
    }

static TemperVkShaderId
matvec_shader (int type)
{
  WEIGHT_SHADER (TEMPER_VK_SHADER_MATVEC, type)
}

static TemperVkShaderId
matvec_subgroup_shader (int type)
{
  WEIGHT_SHADER (TEMPER_VK_SHADER_MATVEC_SUBGROUP, type)
}

static TemperVkShaderId
matmul_shader (int type)
{
  WEIGHT_SHADER (TEMPER_VK_SHADER_MATMUL, type)
}

/* TEMPER_VK_MATVEC=subgroup runs matvec-subgroup.comp wherever it can run,
 * =columns never; unset (or anything else), the host decides.  Read once
 * per process: the tests set it before opening a backend. */
#define MATVEC_ENV "TEMPER_VK_MATVEC"

typedef enum {
  MATVEC_AUTO,
  MATVEC_SUBGROUP,
  MATVEC_COLUMNS,
} MatvecChoice;

static MatvecChoice
matvec_choice_from_env (void)
{
  static gsize once;
  static MatvecChoice choice;

  if (g_once_init_enter (&once))
    {
      const char *value = g_getenv (MATVEC_ENV);

      choice = g_strcmp0 (value, "subgroup") == 0 ? MATVEC_SUBGROUP
               : g_strcmp0 (value, "columns") == 0 ? MATVEC_COLUMNS
               : MATVEC_AUTO;
      g_once_init_leave (&once, 1);
    }
  return choice;
}

/* matvec-subgroup.comp needs subgroup arithmetic (and runs only where the
 * backend uses it for reductions too, so TEMPER_VK_SUBGROUP_REDUCE=0 keeps
 * matvec.comp as well), a workgroup of four subgroups, and a weight whose
 * rows run along K: lanes split a row of B.  Transposed, the rows run along
 * N, and matvec.comp's neighbouring invocations already read neighbouring
 * words.  On its own the host picks it for GPUs only: on a software driver
 * (lavapipe) a subgroup is a CPU's SIMD register, and there matvec.comp,
 * one column per lane, measured faster. */
static gboolean
use_matvec_subgroup (TemperVkBackend *vk, const MatmulPush *push)
{
  const TemperVkDeviceCaps *caps = &vk->device->caps;
  guint32 local = 4 * caps->subgroup_size;

  if (!vk->subgroup_reduce || push->b_trans != 0 || caps->subgroup_size == 0
      || local > caps->limits.maxComputeWorkGroupInvocations
      || local > caps->limits.maxComputeWorkGroupSize[0])
    return FALSE;
  switch (matvec_choice_from_env ())
    {
    case MATVEC_SUBGROUP: return TRUE;
    case MATVEC_COLUMNS: return FALSE;
    case MATVEC_AUTO: default: return caps->type != TEMPER_DEVICE_SOFTWARE;
    }
}

/* @coopmat: the cooperative-matrix shader to use, or TEMPER_VK_SHADER_COUNT
 * for the others. */
static TemperVkShaderId
choose_shader (TemperVkBackend *vk, const MatmulPush *push, int b_type,
               TemperVkShaderId coopmat)
{
  if (coopmat != TEMPER_VK_SHADER_COUNT)
    return coopmat;
  if (push->M <= MATVEC_MAX_M)
    return use_matvec_subgroup (vk, push) ? matvec_subgroup_shader (b_type)
                                          : matvec_shader (b_type);
  return matmul_shader (b_type);
}

static void
record_matmul (TemperVkBackend *vk, const MatmulPush *push, int b_type,
               TemperVkShaderId coopmat,
               temper_vk_buffer_t *a, temper_vk_buffer_t *bmat,
               temper_vk_buffer_t *c, temper_vk_buffer_t *bias)
{
  temper_vk_buffer_t *buffers[] = { a, bmat, c, bias != NULL ? bias : c };
  TemperVkShaderId shader = choose_shader (vk, push, b_type, coopmat);
  guint32 gx, gy;

  /* The weight is read as 32-bit words from its first byte: GGUF aligns
   * tensor data to 32 bytes, and every block has an even size. */
  g_return_if_fail (push->b_offset % 4 == 0);
  if (shader == coopmat)
    temper_vk_coopmat_grid (vk, push->M, push->N, &gx, &gy);
  else if (shader == matvec_shader (b_type))
    temper_vk_grid_2d (vk->device, (push->N + MATVEC_LOCAL - 1) / MATVEC_LOCAL, &gx, &gy);
  else if (shader == matvec_subgroup_shader (b_type))
    temper_vk_grid_2d (vk->device,
                       (push->N + MATVEC_SUBGROUP_COLUMNS - 1) / MATVEC_SUBGROUP_COLUMNS,
                       &gx, &gy);
  else
    {
      gx = (push->N + MATMUL_TILE - 1) / MATMUL_TILE;
      gy = (push->M + MATMUL_TILE - 1) / MATMUL_TILE;
    }
  temper_vk_backend_dispatch (vk, shader, buffers, 4, push, sizeof *push, gx, gy);
}

static TemperVkShaderId
frozen_weight_coopmat (TemperVkBackend *vk, const MatmulPush *push, int type)
{
  TemperVkShaderId shader;

  if (temper_vk_use_coopmat (vk, type, push->M, push->N, push->K, &shader))
    return shader;
  return TEMPER_VK_SHADER_COUNT;
}

const char *
temper_vk_backend_matmul_shader_name (TemperBackend *backend, int weight_type,
                                      guint32 M, guint32 N, guint32 K, gboolean transposed)
{
  TemperVkBackend *vk = (TemperVkBackend *) backend;
  MatmulPush push = { .M = M, .N = N, .K = K, .b_trans = transposed != FALSE };
  TemperVkShaderId shader;

  g_return_val_if_fail (backend != NULL && backend->kind == TEMPER_BACKEND_VULKAN, NULL);
  shader = choose_shader (vk, &push, weight_type,
                          frozen_weight_coopmat (vk, &push, weight_type));
  return temper_vk_shader_modules[shader].name;
}

void
temper_vk_op_matmul (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                     const TemperBTensor *w, const TemperBTensor *bias,
                     gboolean accumulate)
{
  MatmulPush push = {
    .M = (guint32) x->ne[1], .N = (guint32) w->ne[1], .K = (guint32) x->ne[0],
    .a_offset = temper_vk_tensor_index (x), .a_stride_m = (guint32) x->ne[0], .a_stride_k = 1,
    .b_offset = (guint32) w->offset,
    .b_row_bytes = (guint32) temper_type_row_bytes (w->type, w->ne[0]),
    .b_trans = 0,
    .c_offset = temper_vk_tensor_index (y), .c_stride_m = (guint32) y->ne[0],
    .bias_offset = bias != NULL ? temper_vk_tensor_index (bias) : 0,
    .has_bias = bias != NULL,
    .alpha = 1.0f, .beta = accumulate ? 1.0f : 0.0f,
  };

  g_return_if_fail (x->ne[0] == w->ne[0] && y->ne[0] == w->ne[1] && y->ne[1] == x->ne[1]);
  record_matmul ((TemperVkBackend *) b, &push, w->type,
                 frozen_weight_coopmat ((TemperVkBackend *) b, &push, w->type),
                 temper_vk_tensor_buffer (x),
                 temper_vk_tensor_buffer (w), temper_vk_tensor_buffer (y),
                 bias != NULL ? temper_vk_tensor_buffer (bias) : NULL);
}

void
temper_vk_op_matmul_backward_input (TemperBackend *b, const TemperBTensor *dx,
                                    const TemperBTensor *dy, const TemperBTensor *w)
{
  /* dx[t, i] += Σ_o dy[t, o] · W[o, i]: W read transposed. */
  MatmulPush push = {
    .M = (guint32) dy->ne[1], .N = (guint32) w->ne[0], .K = (guint32) w->ne[1],
    .a_offset = temper_vk_tensor_index (dy), .a_stride_m = (guint32) dy->ne[0], .a_stride_k = 1,
    .b_offset = (guint32) w->offset,
    .b_row_bytes = (guint32) temper_type_row_bytes (w->type, w->ne[0]),
    .b_trans = 1,
    .c_offset = temper_vk_tensor_index (dx), .c_stride_m = (guint32) dx->ne[0],
    .alpha = 1.0f, .beta = 1.0f,
  };

  g_return_if_fail (dy->ne[0] == w->ne[1] && dx->ne[0] == w->ne[0] && dx->ne[1] == dy->ne[1]);
  record_matmul ((TemperVkBackend *) b, &push, w->type,
                 frozen_weight_coopmat ((TemperVkBackend *) b, &push, w->type),
                 temper_vk_tensor_buffer (dy),
                 temper_vk_tensor_buffer (w), temper_vk_tensor_buffer (dx), NULL);
}

void
temper_vk_op_matmul_fp32 (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                          const TemperBTensor *w)
{
  MatmulPush push = {
    .M = (guint32) x->ne[1], .N = (guint32) w->ne[1], .K = (guint32) x->ne[0],
    .a_offset = temper_vk_tensor_index (x), .a_stride_m = (guint32) x->ne[0], .a_stride_k = 1,
    .b_offset = (guint32) w->offset,
    .b_row_bytes = (guint32) temper_type_row_bytes (w->type, w->ne[0]),
    .c_offset = temper_vk_tensor_index (y), .c_stride_m = (guint32) y->ne[0],
    .alpha = 1.0f,
  };

  g_return_if_fail (x->ne[0] == w->ne[0] && y->ne[0] == w->ne[1] && y->ne[1] == x->ne[1]);
  record_matmul ((TemperVkBackend *) b, &push, w->type, TEMPER_VK_SHADER_COUNT,
                 temper_vk_tensor_buffer (x), temper_vk_tensor_buffer (w),
                 temper_vk_tensor_buffer (y), NULL);
}

void
temper_vk_op_matmul_backward_input_fp32 (TemperBackend *b, const TemperBTensor *dx,
                                         const TemperBTensor *dy, const TemperBTensor *w)
{
  MatmulPush push = {
    .M = (guint32) dy->ne[1], .N = (guint32) w->ne[0], .K = (guint32) w->ne[1],
    .a_offset = temper_vk_tensor_index (dy), .a_stride_m = (guint32) dy->ne[0], .a_stride_k = 1,
    .b_offset = (guint32) w->offset,
    .b_row_bytes = (guint32) temper_type_row_bytes (w->type, w->ne[0]),
    .b_trans = 1,
    .c_offset = temper_vk_tensor_index (dx), .c_stride_m = (guint32) dx->ne[0],
    .alpha = 1.0f, .beta = 1.0f,
  };

  g_return_if_fail (dy->ne[0] == w->ne[1] && dx->ne[0] == w->ne[0] && dx->ne[1] == dy->ne[1]);
  record_matmul ((TemperVkBackend *) b, &push, w->type, TEMPER_VK_SHADER_COUNT,
                 temper_vk_tensor_buffer (dy), temper_vk_tensor_buffer (w),
                 temper_vk_tensor_buffer (dx), NULL);
}

void
temper_vk_op_gemm (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
                   gboolean transpose_a, const TemperBTensor *bmat, gboolean transpose_b,
                   float alpha, float beta)
{
  guint32 M = (guint32) c->ne[1], N = (guint32) c->ne[0];
  guint32 K = (guint32) (transpose_a ? a->ne[1] : a->ne[0]);
  MatmulPush push = {
    .M = M, .N = N, .K = K,
    .a_offset = temper_vk_tensor_index (a),
    .a_stride_m = transpose_a ? 1 : (guint32) a->ne[0],
    .a_stride_k = transpose_a ? (guint32) a->ne[0] : 1,
    /* The shader reads B[n, k]: op(B)ᵀ.  Stored K×N (no transpose) that is
     * row k, column n. */
    .b_offset = (guint32) bmat->offset,
    .b_row_bytes = (guint32) (bmat->ne[0] * sizeof (float)),
    .b_trans = !transpose_b,
    .c_offset = temper_vk_tensor_index (c), .c_stride_m = N,
    .alpha = alpha, .beta = beta,
  };

  g_return_if_fail (a->type == TEMPER_TYPE_F32 && bmat->type == TEMPER_TYPE_F32);
  g_return_if_fail ((transpose_a ? a->ne[0] : a->ne[1]) == M);
  g_return_if_fail ((transpose_b ? bmat->ne[1] : bmat->ne[0]) == N);
  g_return_if_fail ((transpose_b ? bmat->ne[0] : bmat->ne[1]) == K);
  /* LoRA products stay on the fp32 tiled shader: their operands are the
   * trained values and their gradients, which float16 inputs would blur. */
  record_matmul ((TemperVkBackend *) b, &push, TEMPER_TYPE_F32, TEMPER_VK_SHADER_COUNT,
                 temper_vk_tensor_buffer (a),
                 temper_vk_tensor_buffer (bmat), temper_vk_tensor_buffer (c), NULL);
}
