/* SPDX-License-Identifier: MIT */
/* backend-ops.h — one op test for every backend.
 *
 * Every case runs the same ops on two backends: the reference (the CPU
 * backend, portable C, one thread) and the backend under test (the CPU with
 * its SIMD kernels and several threads, Vulkan, or CUDA, as named on the
 * command line), and compares the results by normalized error
 * ‖test − reference‖ / ‖reference‖.  Tensors start at non-zero offsets in
 * their buffers, and the bytes before and after every tensor are sentinels
 * that must survive each case.  An op or weight type that the backend's
 * table (supports_op) declines is reported as "not supported", never passed.
 *
 * The cases are listed in backend-ops-cases.c (activations, norms,
 * attention, optimizer, family ops) and backend-ops-matmul.c (the ops that
 * read a weight, over every weight type); Vulkan's own checks (which shader
 * runs, one submit per step, the cooperative-matrix path) are in
 * backend-ops-vulkan.c. */
#pragma once

#include <glib.h>

#include "cpu/temper-cpu-backend.h"

G_BEGIN_DECLS

enum { REF, DUT, N_SIDES };

/* sides[REF] is the CPU reference, sides[DUT] the backend under test. */
extern TemperBackend *sides[N_SIDES];
/* The random stream of the running case (seeded from its name). */
extern GRand *rng;

#define FOR_SIDES(s) for (int s = 0; s < N_SIDES; s++)
#define OPS(s) (sides[s]->ops)

/* One tensor holding the same bytes on both sides, at a non-zero offset in
 * its buffers, with sentinel bytes around it.  Freed (and its sentinels
 * checked) when the case ends. */
typedef struct {
  TemperBuffer  *buffer[N_SIDES];
  TemperBTensor  t[N_SIDES];
  size_t         offset, bytes, size;
} Pair;

Pair    *pair_new      (int type, int64_t ne0, int64_t ne1, const void *data);
/* F32 values uniform in [-scale, scale]. */
Pair    *pair_random   (int64_t ne0, int64_t ne1, double scale);
float   *random_f32    (gsize n, double scale);
/* A weight of @type: random bytes with every scale field set to a sane value
 * (so blocks decode to finite numbers of order one), or, when @quantized and
 * Temper has a quantizer for the type, random floats quantized by it. */
Pair    *pair_weight   (int type, int64_t ne0, int64_t ne1, gboolean quantized);
/* Uploads @data to both sides of @p. */
void     pair_set      (Pair *p, const void *data);
/* Copies the reference side of @p to the tested side (the backward of a
 * case then starts from the same forward results). */
void     pair_sync     (Pair *p);

/* Around a case: seeds rng from @path; then checks the sentinels of every
 * Pair made since and frees them. */
void     case_start    (const char *path);
void     case_end      (void);

/* Begin or flush a step on both sides. */
void     begin_both    (void);
void     flush_both    (void);
/* Checks ‖dut − ref‖ / ‖ref‖ <= @tol (absolute error when ref is zero). */
void     check_close   (const char *what, Pair *p, double tol);
/* Checks both sides are equal bit for bit. */
void     check_identical (const char *what, Pair *p);

/* Column counts for a weight type (i in 0..2): odd where the type allows,
 * else one, three and five blocks (256-element blocks: 1, 2, 1; NF4: 1, 3, 8). */
int64_t  weight_cols   (int type, int i);

/* Tolerance of the products by a weight (matmul, matmul_backward_input):
 * 1e-5, unless a backend path that rounds inputs (Vulkan's cooperative
 * matrices) is under test. */
extern double matmul_tolerance;
extern double lm_head_tolerance;

typedef void (*OpCaseFunc) (int weight_type);

typedef struct {
  const char *name;
  TemperOp    ops[4];       /* what the case needs; n_ops of them */
  int         n_ops;
  gboolean    per_weight_type;
  int         matmul_paths; /* Vulkan: 1 runs it on the tiled shaders, 2 also on cooperative matrices */
  OpCaseFunc  func;
} OpCase;

extern const OpCase backend_ops_cases[];
extern const guint backend_ops_n_cases;
extern const OpCase backend_ops_matmul_cases[];
extern const guint backend_ops_n_matmul_cases;
/* Run on the CPU only, against its FAST_DECODE kernels (rounded activations). */
extern const OpCase backend_ops_matmul_fast_case;

/* Every weight type Temper knows, -1 ended. */
extern const int backend_ops_weight_types[];

/* The backend choice by kind (backend-ops-models.c). */
void     backend_ops_add_model_tests (void);

/* Golden values from gguf-py, on the tested side alone. */
void     backend_ops_golden (int weight_type);

#if TEMPER_HAVE_VULKAN
/* Environment for the Vulkan backend before it opens; removes
 * --shared-memory-reductions from @argv. */
void     backend_ops_vulkan_setup (int *argc, char **argv);
/* Selects the matmul path for a case (@coopmat or the tiled shaders); FALSE
 * (the case skipped, saying why) when the device has no cooperative
 * matrices. */
gboolean backend_ops_vulkan_use_path (gboolean coopmat);
void     backend_ops_vulkan_reset_path (void);
void     backend_ops_vulkan_add_tests (const char *prefix);
#endif

/* Shapes shared by the product cases and Vulkan's check of which shader
 * runs them: generation's row counts 1..16, training's tile edges. */
#define MATVEC_MAX_ROWS 16
static inline int64_t matvec_cols (int type, int64_t m) { return 3 * weight_cols (type, (int) m % 3); }
static inline int64_t matvec_outs (int64_t m) { return 67 - 2 * (m % 5); }
extern const int64_t tile_shapes[4][2];   /* M, N; K = weight_cols (type, s % 3) */

G_END_DECLS
