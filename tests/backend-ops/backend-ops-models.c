/* SPDX-License-Identifier: MIT */
/* backend-ops-models.c — the backend choice asks the same tables: a model
 * whose weight type or family feature a backend's table lacks is refused
 * by kind, before any device opens, with the operation and type named
 * (what the GUI's device list shows under a device). */
#include "config.h"

#include "backend-ops.h"
#include "temper/op-support.h"
#include "temper/error.h"
#include "../model/tiny-model.h"

static temper_model_t *
tiny_model (int matrix_type, const char *dir)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autofree char *path = g_build_filename (dir, "tiny.gguf", NULL);
  g_autoptr (GError) error = NULL;
  temper_model_t *model;

  /* 256-element rows, so that every K-quant can hold them. */
  spec.n_embd = 256;
  spec.n_ff = 256;
  spec.matrix_type = matrix_type;
  tiny_write_gguf (path, &spec);
  model = temper_model_load (path, NULL, &error);
  g_assert_no_error (error);
  return model;
}

static void
test_model_weight_types (void)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-backend-ops-XXXXXX", NULL);
  g_autoptr (temper_model_t) q6_k = tiny_model (TEMPER_TYPE_Q6_K, dir);
  g_autoptr (temper_model_t) q4_0 = tiny_model (TEMPER_TYPE_Q4_0, dir);
  g_autoptr (GError) error = NULL;

  g_assert_true (temper_backend_kind_check_model (TEMPER_BACKEND_CPU, q6_k, TRUE, &error));
  g_assert_no_error (error);
  if (temper_backend_kind_is_built (TEMPER_BACKEND_VULKAN))
    {
      g_assert_true (temper_backend_kind_check_model (TEMPER_BACKEND_VULKAN, q6_k, TRUE, &error));
      g_assert_no_error (error);
    }
  /* CUDA has no Q6_K decoder: refused, naming the tensor, type and op. */
  g_assert_false (temper_backend_kind_check_model (TEMPER_BACKEND_CUDA, q6_k, FALSE, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "Q6_K"));
  g_assert_nonnull (strstr (error->message, "matmul"));
  g_assert_nonnull (strstr (error->message, "blk.0."));
  g_clear_error (&error);
  g_assert_true (temper_backend_kind_check_model (TEMPER_BACKEND_CUDA, q4_0, TRUE, &error));
  g_assert_no_error (error);
  {
    g_autofree char *path = g_build_filename (dir, "tiny.gguf", NULL);

    g_remove (path);
    g_rmdir (dir);
  }
}

/* The mixture of experts, a family op, is in every backend's table now:
 * the backend choice takes Qwen3-MoE on each, for chat and for training
 * (Vulkan and CUDA refused it by name before). */
static void
test_model_family_ops (void)
{
  const char *root = g_getenv ("TEMPER_SOURCE_DIR") ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *path = g_build_filename (root, "tests", "fixtures", "families", "qwen3moe.gguf", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (temper_model_t) model = temper_model_load (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (temper_backend_kind_check_model (TEMPER_BACKEND_CPU, model, TRUE, &error));
  g_assert_no_error (error);
  if (temper_backend_kind_is_built (TEMPER_BACKEND_VULKAN))
    {
      g_assert_true (temper_backend_kind_check_model (TEMPER_BACKEND_VULKAN, model, TRUE, &error));
      g_assert_no_error (error);
    }
  g_assert_true (temper_backend_kind_check_model (TEMPER_BACKEND_CUDA, model, TRUE, &error));
  g_assert_no_error (error);
}

void
backend_ops_add_model_tests (void)
{
  g_test_add_func ("/support/model-weight-types", test_model_weight_types);
  g_test_add_func ("/support/model-family-ops", test_model_family_ops);
}
