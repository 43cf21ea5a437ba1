/* SPDX-License-Identifier: MIT */
/* test-device-note.c — under a device that cannot train the chosen model,
 * the settings page says why (temper_device_model_note), from the same op
 * tables the backends answer supports_op() from. */
#include "config.h"

#include <string.h>

#include "temper-device-list.h"
#include "../model/tiny-model.h"

static temper_model_t *
fixture_model (const char *family)
{
  g_autofree char *file = g_strdup_printf ("%s.gguf", family);
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "families", file, NULL);
  g_autoptr(GError) error = NULL;
  temper_model_t *model = temper_model_load (path, NULL, &error);

  g_assert_no_error (error);
  return model;
}

/* A tiny Llama whose matrices are Q6_K, a type CUDA has no decoder for. */
static temper_model_t *
q6_k_model (const char *dir)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autofree char *path = g_build_filename (dir, "tiny-q6_k.gguf", NULL);
  g_autoptr(GError) error = NULL;
  temper_model_t *model;

  spec.n_embd = 256;
  spec.n_ff = 256;
  spec.matrix_type = TEMPER_TYPE_Q6_K;
  tiny_write_gguf (path, &spec);
  model = temper_model_load (path, NULL, &error);
  g_assert_no_error (error);
  g_remove (path);
  return model;
}

static void
test_model_note (void)
{
  /* Every backend runs the mixture of experts; CUDA lacks Q6_K. */
  g_autofree char *dir = g_dir_make_tmp ("temper-device-note-XXXXXX", NULL);
  g_autoptr(temper_model_t) moe = fixture_model ("qwen3moe");
  g_autoptr(temper_model_t) qwen3 = fixture_model ("qwen3");
  g_autoptr(temper_model_t) q6_k = q6_k_model (dir);
  TemperDeviceInfo cpu = { .backend = TEMPER_BACKEND_CPU, .name = (char *) "CPU" };
  TemperDeviceInfo vulkan = { .backend = TEMPER_BACKEND_VULKAN, .name = (char *) "GPU" };
  TemperDeviceInfo gpu = { .backend = TEMPER_BACKEND_CUDA, .name = (char *) "GPU" };
  g_autofree char *cpu_note = temper_device_model_note (&cpu, q6_k);
  g_autofree char *gpu_note = temper_device_model_note (&gpu, q6_k);
  g_autofree char *moe_vulkan_note = temper_device_model_note (&vulkan, moe);
  g_autofree char *moe_gpu_note = temper_device_model_note (&gpu, moe);
  g_autofree char *plain_note = temper_device_model_note (&gpu, qwen3);
  g_autofree char *no_model = temper_device_model_note (&gpu, NULL);

  g_rmdir (dir);
  g_assert_null (cpu_note);
  g_assert_nonnull (gpu_note);
  g_test_message ("%s", gpu_note);
  g_assert_nonnull (strstr (gpu_note, "Q6_K"));
  g_assert_nonnull (strstr (gpu_note, "cuda"));
  g_assert_null (moe_vulkan_note);
  g_assert_null (moe_gpu_note);
  g_assert_null (plain_note);
  g_assert_null (no_model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/device-note/model", test_model_note);
  return g_test_run ();
}
