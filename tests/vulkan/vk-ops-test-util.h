/* vk-ops-test-util.h — what the Vulkan op tests (test-vk-ops.c,
 * test-vk-ops-matmul.c) share: a CPU backend as the reference, the Vulkan
 * backend under test, tensor pairs holding the same data on both, and the
 * normalized-error check ‖vk − cpu‖ / ‖cpu‖. */
#pragma once

#include <glib.h>

#include "cpu/temper-cpu-backend.h"
#include "vulkan/temper-vk-backend.h"

extern TemperBackend *cpu;
extern TemperBackend *vk;
extern char *no_device_reason;
extern GRand *rng;

/* Tensors start this far into their buffers, so offsets are exercised. */
#define OFFSET 256

typedef struct {
  TemperBuffer *cpu_buf, *vk_buf;
  TemperBTensor c, v;
  size_t bytes;
} Pair;

Pair     pair_new      (int type, int64_t ne0, int64_t ne1, const void *data);
void     pair_free     (Pair *p);
float   *random_f32    (gsize n, double scale);
/* F32 values uniform in [-scale, scale]. */
Pair     pair_random   (int64_t ne0, int64_t ne1, double scale);
/* Random bytes with every fp16 scale field set to a sane value, so blocks
 * decode to finite numbers of order one. */
guint8  *random_weight (int type, int64_t ne0, int64_t ne1);
Pair     pair_weight   (int type, int64_t ne0, int64_t ne1);
void     flush_both    (void);
/* Downloads both sides of @p and checks ‖vk − cpu‖ / ‖cpu‖ <= tol. */
void     assert_close  (const char *what, Pair *p, double tol);
/* Begins a step on both backends; FALSE (test skipped, saying why) when
 * there is no device or either backend lacks @op for @type. */
gboolean need          (TemperOp op, int type);
/* Shapes along ne[0] for a weight type (i in 0..2): odd sizes where the
 * type allows. */
int64_t  weight_cols   (int type, int i);

/* Registers @func once per GGUF weight type, as /vulkan/ops/@op/<type>
 * (/vulkan/@op/<type> for "golden"). */
void     add_weight_tests (const char *op, GTestDataFunc func);

/* Calls g_test_init and opens both backends, the Vulkan one running
 * matvec-subgroup.comp for few-row products wherever the device has
 * subgroup arithmetic (software drivers included).  A last argument
 * --shared-memory-reductions is removed from @argv first and makes the
 * backend keep the shaders that need no subgroup arithmetic (reductions
 * through shared memory, matvec.comp), which devices without it run. */
void     vk_ops_test_init (int *argc, char ***argv);
/* TRUE when vk_ops_test_init saw --shared-memory-reductions. */
gboolean vk_ops_test_shared_memory_reductions (void);
void     vk_ops_test_finish (void);
