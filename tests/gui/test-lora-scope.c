/* SPDX-License-Identifier: MIT */
/* What LoRA trains, under the layers to adapt: a mixture-of-experts model
 * (the tiny Qwen3-MoE and Mixtral of tests/fixtures/families) says its
 * attention only is trained and its experts stay as they are; a dense
 * model, or none, keeps the field's own subtitle. */
#include "config.h"

#include <string.h>

#include "gui-test-util.h"
#include "temper-lora-scope.h"

static TemperLoadedModel *
load_family (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *path = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures",
                                            "families", name, NULL);
  g_autoptr(GError) error = NULL;
  temper_model_t *model = temper_model_load (path, NULL, &error);

  g_assert_no_error (error);
  return temper_loaded_model_new (model);
}

static void
test_scope (void)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *entry = gtk_entry_new ();
  g_autoptr(TemperLoadedModel) moe = load_family ("qwen3moe");
  g_autoptr(TemperLoadedModel) mixtral = load_family ("mixtral.gguf");
  g_autoptr(TemperLoadedModel) dense = load_family ("qwen3");
  const char *subtitle;

  g_object_ref_sink (row);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), entry);

  temper_lora_scope_show (entry, NULL, "default");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, "default");

  temper_lora_scope_show (entry, moe, "default");
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
  g_assert_true (g_str_has_prefix (subtitle, "Qwen3-MoE is a mixture-of-experts model"));
  g_assert_nonnull (strstr (subtitle, "attention layers only"));
  g_assert_nonnull (strstr (subtitle, "the experts stay as they are"));

  temper_lora_scope_show (entry, mixtral, "default");
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "Mixtral is a mixture-of-experts model"));

  temper_lora_scope_show (entry, dense, "default");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, "default");
  g_object_unref (row);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/lora-scope/subtitle", test_scope);
  return g_test_run ();
}
