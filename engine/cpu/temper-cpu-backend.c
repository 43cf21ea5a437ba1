/* SPDX-License-Identifier: MIT */
/* The CPU backend: buffers are plain host memory, ops run as they are called. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-cpu-backend.h"
#include "temper-cpu-private.h"

static void
cpu_destroy (TemperBackend *b)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);

  temper_cpu_pool_free (cpu->pool);
  g_free (cpu->scratch);
  g_free (cpu->q8_scratch);
  g_free (cpu->row_loss);
  g_free (cpu->moe_work);
  g_free (cpu->moe_slots);
  g_free (cpu);
}

/* The reference runs every op, and reads every weight type Temper loads
 * (Q2_K, Q3_K, IQ4_NL, IQ4_XS and TQ2_0 through the reference decoders in
 * engine/model/temper-types.c). */
static const int cpu_weight_types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1,
  TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K,
  TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K, TEMPER_TYPE_Q6_K, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS,
  TEMPER_TYPE_TQ2_0, TEMPER_TYPE_NF4, -1,
};

const TemperOpSupport temper_cpu_op_support = {
  .ops = (G_GUINT64_CONSTANT (1) << TEMPER_OP_COUNT) - 1,
  .weight_types = cpu_weight_types,
};

static gboolean
cpu_supports_op (TemperBackend *b, TemperOp op, int weight_type)
{
  return temper_op_support_lookup (&temper_cpu_op_support, op, weight_type);
}

static TemperBuffer *
cpu_buffer_alloc (TemperBackend *b, size_t size, TemperBufferUsage usage, GError **error)
{
  TemperBuffer *buffer;
  guint8 *host = g_try_malloc0 (MAX (size, 1));

  if (host == NULL)
    {
      g_autofree char *human = g_format_size (size);

      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Could not set aside %s of memory. Close other programs or choose a smaller model or batch."),
                   human);
      return NULL;
    }
  buffer = g_new0 (TemperBuffer, 1);
  buffer->backend = b;
  buffer->size = size;
  buffer->usage = usage;
  buffer->host = host;
  buffer->priv = host;   /* owned: freed with the buffer */
  return buffer;
}

static TemperBuffer *
cpu_buffer_from_host (TemperBackend *b, const void *data, size_t size, GError **error)
{
  TemperBuffer *buffer = g_new0 (TemperBuffer, 1);

  /* Weights are only ever read, so the mapped file is used in place. */
  buffer->backend = b;
  buffer->size = size;
  buffer->usage = TEMPER_BUFFER_WEIGHTS;
  buffer->host = (guint8 *) data;
  buffer->priv = NULL;
  return buffer;
}

static void
cpu_buffer_free (TemperBackend *b, TemperBuffer *buffer)
{
  g_free (buffer->priv);
  g_free (buffer);
}

static gboolean
cpu_buffer_upload (TemperBackend *b, TemperBuffer *buffer, size_t offset,
                   const void *data, size_t size, GError **error)
{
  g_return_val_if_fail (offset + size <= buffer->size, FALSE);
  g_return_val_if_fail (buffer->priv != NULL, FALSE);
  memcpy (buffer->host + offset, data, size);
  return TRUE;
}

static gboolean
cpu_buffer_download (TemperBackend *b, TemperBuffer *buffer, size_t offset,
                     void *data, size_t size, GError **error)
{
  g_return_val_if_fail (offset + size <= buffer->size, FALSE);
  memcpy (data, buffer->host + offset, size);
  return TRUE;
}

static void
cpu_begin (TemperBackend *b)
{
}

static gboolean
cpu_flush (TemperBackend *b, GError **error)
{
  return TRUE;
}

const TemperBackendOps temper_cpu_plain_ops = {
  .name = "cpu",
  .destroy = cpu_destroy,
  .supports_op = cpu_supports_op,
  .buffer_alloc = cpu_buffer_alloc,
  .buffer_from_host = cpu_buffer_from_host,
  .buffer_free = cpu_buffer_free,
  .buffer_upload = cpu_buffer_upload,
  .buffer_download = cpu_buffer_download,
  .begin = cpu_begin,
  .flush = cpu_flush,
  .embedding = temper_cpu_embedding,
  .rmsnorm = temper_cpu_rmsnorm,
  .rmsnorm_backward = temper_cpu_rmsnorm_backward,
  .matmul = temper_cpu_matmul,
  .matmul_shared_input = temper_cpu_matmul_shared_input,
  .matmul_backward_input = temper_cpu_matmul_backward_input,
  .gemm = temper_cpu_gemm,
  .rope = temper_cpu_rope,
  .rope_backward = temper_cpu_rope_backward,
  .attention = temper_cpu_attention,
  .attention_backward = temper_cpu_attention_backward,
  .swiglu = temper_cpu_swiglu,
  .swiglu_backward = temper_cpu_swiglu_backward,
  .add = temper_cpu_add,
  .lm_head_cross_entropy = temper_cpu_lm_head_cross_entropy,
  .adamw = temper_cpu_adamw,
  .sum_squares = temper_cpu_sum_squares,
  .scale = temper_cpu_scale,
  .dequantize = temper_cpu_dequantize,
  .zero = temper_cpu_zero,
  .dropout = temper_cpu_dropout,
  .rope_table = temper_cpu_rope_table,
  .rope_table_backward = temper_cpu_rope_table_backward,
  .geglu = temper_cpu_geglu,
  .geglu_backward = temper_cpu_geglu_backward,
  .softcap = temper_cpu_softcap,
  .lm_head_cross_entropy_softcap = temper_cpu_lm_head_cross_entropy_softcap,
  .moe = temper_cpu_moe,
  .moe_backward = temper_cpu_moe_backward,
  .matmul_lora = temper_cpu_matmul_lora,
  .lora_b_backward = temper_cpu_lora_b_backward,
  .matmul_backward_input_lora = temper_cpu_matmul_backward_input_lora,
};

TemperBackend *
temper_cpu_backend_new (int n_threads, TemperCpuKernelChoice kernels)
{
  TemperCpuBackend *cpu = g_new0 (TemperCpuBackend, 1);

  if (n_threads <= 0)
    n_threads = (int) g_get_num_processors ();
  n_threads = CLAMP (n_threads, 1, 256);
  cpu->parent.ops = &temper_cpu_plain_ops;
  cpu->parent.kind = TEMPER_BACKEND_CPU;
  cpu->n_threads = n_threads;
  cpu->pool = temper_cpu_pool_new (n_threads);
  temper_cpu_kernels_init (&cpu->k, kernels != TEMPER_CPU_KERNELS_SCALAR,
                           kernels != TEMPER_CPU_KERNELS_AVX2,
                           kernels == TEMPER_CPU_KERNELS_FAST_DECODE);
  cpu->plain_attention = kernels == TEMPER_CPU_KERNELS_SCALAR;
  cpu->k.bf16_frozen = TEMPER_BF16_GEMM_NONE;
  cpu->k.bf16_forward = FALSE;
  cpu->k.bf16_forward_split = TEMPER_BF16_SPLIT_NONE;
  if (kernels == TEMPER_CPU_KERNELS_FAST_TRAIN || kernels == TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16)
    {
      TemperBf16GemmKind kind = temper_cpu_bf16_gemm_best ();

      if (kind == TEMPER_BF16_GEMM_AMX && kernels == TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16)
        kind = TEMPER_BF16_GEMM_AVX512_BF16;
      cpu->k.bf16_frozen = kind;
      /* The layers' forward through three bfloat16 terms (split operands):
       * fp32's accuracy at the tiles' speed.  On AMX only: vdpbf16ps runs
       * plain bfloat16 at about fp32's speed (temper-cpu-bf16-gemm.h), so
       * three terms of it would be slower than fp32. */
      cpu->k.bf16_forward = kind == TEMPER_BF16_GEMM_AMX;
      cpu->k.bf16_forward_split = TEMPER_BF16_SPLIT_BOTH;
      if (kind != TEMPER_BF16_GEMM_NONE)
        {
          g_autofree char *name = g_strdup_printf ("%s, %s frozen products", cpu->k.name,
                                                   temper_cpu_bf16_gemm_kind_name (kind));

          cpu->k.name = g_intern_string (name);
        }
    }
  /* Generation's prompts: the weights the 8-bit prefill does not take
   * (F16, BF16, F32, TQ2_0, NF4) through the same bfloat16 kernel, x
   * rounded to bfloat16 as decoding's BF16 rows already round it. */
  if (kernels == TEMPER_CPU_KERNELS_FAST_DECODE && cpu->k.prefill_q8)
    {
      cpu->k.bf16_frozen = temper_cpu_bf16_gemm_best ();
      cpu->k.bf16_forward = TRUE;
    }
  temper_cpu_reserve_scratch (cpu, 4096);
  return &cpu->parent;
}

const char *
temper_cpu_backend_get_kernels_name (TemperBackend *backend)
{
  return TEMPER_CPU (backend)->k.name;
}

int
temper_cpu_backend_get_n_threads (TemperBackend *backend)
{
  return TEMPER_CPU (backend)->n_threads;
}

void
temper_cpu_reserve_scratch (TemperCpuBackend *cpu, size_t floats)
{
  if (floats <= cpu->scratch_floats)
    return;
  /* Rounded up so that nearby sizes share one allocation. */
  floats = (floats + 4095) & ~(size_t) 4095;
  g_free (cpu->scratch);
  cpu->scratch = g_new (float, floats * (size_t) cpu->n_threads);
  cpu->scratch_floats = floats;
}
