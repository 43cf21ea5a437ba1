/* SPDX-License-Identifier: MIT */
/* The Export page offers a merge only where the engine can make it: for a
 * Qwen3-MoE whose layers mix dense and expert ones (tests/fixtures/families
 * /qwen3moe-mixed) the merged GGUF row is greyed out and says the engine's
 * reason (temper_export_merge_supported, the check the export makes), and
 * cannot be chosen; the merged folder stays open.  A dense Qwen3 keeps
 * every row open with its own subtitle. */
#include "config.h"

#include <string.h>

#include "gui-test-util.h"
#include "temper/error.h"
#include "temper/export.h"
#include "temper-export-page.h"
#include "temper-loaded-model.h"

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

static AdwActionRow *
choice_row (GtkWidget *page, const char *name)
{
  GtkWidget *row = gui_test_find_named (page, name);

  g_assert_nonnull (row);
  return ADW_ACTION_ROW (row);
}

static void
test_refused_merge (void)
{
  GtkWidget *page = g_object_ref_sink (g_object_new (TEMPER_TYPE_EXPORT_PAGE, NULL));
  g_autoptr(TemperLoadedModel) mixed = load_family ("qwen3moe-mixed");
  g_autoptr(TemperLoadedModel) dense = load_family ("qwen3");
  g_autoptr(GError) error = NULL;
  g_autofree char *gguf_subtitle = NULL;
  AdwActionRow *gguf_row = choice_row (page, "choice-merged-gguf");
  AdwActionRow *hf_row = choice_row (page, "choice-merged-hf");

  gguf_subtitle = g_strdup (adw_action_row_get_subtitle (gguf_row));
  g_assert_false (temper_export_merge_supported (temper_loaded_model_get_model (mixed),
                                                 TEMPER_EXPORT_MERGED_GGUF, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);

  temper_export_page_set_source (TEMPER_EXPORT_PAGE (page), mixed, NULL);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (gguf_row)));
  g_assert_cmpstr (adw_action_row_get_subtitle (gguf_row), ==, error->message);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (gguf_row), "Qwen3-MoE"));
  g_assert_false (temper_export_page_choice_available (TEMPER_EXPORT_PAGE (page), TEMPER_EXPORT_CHOICE_MERGED_GGUF));
  g_assert_false (temper_export_page_set_choice (TEMPER_EXPORT_PAGE (page), TEMPER_EXPORT_CHOICE_MERGED_GGUF));
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (hf_row)));
  g_assert_true (temper_export_page_set_choice (TEMPER_EXPORT_PAGE (page), TEMPER_EXPORT_CHOICE_MERGED_HF));

  temper_export_page_set_source (TEMPER_EXPORT_PAGE (page), dense, NULL);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (gguf_row)));
  g_assert_cmpstr (adw_action_row_get_subtitle (gguf_row), ==, gguf_subtitle);
  g_assert_true (temper_export_page_set_choice (TEMPER_EXPORT_PAGE (page), TEMPER_EXPORT_CHOICE_MERGED_GGUF));
  g_object_unref (page);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/export-choices/refused-merge", test_refused_merge);
  return g_test_run ();
}
