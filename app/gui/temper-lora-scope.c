/* SPDX-License-Identifier: MIT */
/* temper-lora-scope.c — see temper-lora-scope.h. */
#include "config.h"

#include <adwaita.h>

#include "temper/model.h"
#include "temper-lora-scope.h"

void
temper_lora_scope_show (GtkWidget *targets_widget, TemperLoadedModel *model, const char *default_subtitle)
{
  GtkWidget *row = gtk_widget_get_ancestor (targets_widget, ADW_TYPE_ACTION_ROW);
  g_autofree char *scope = NULL;

  if (row == NULL)
    return;
  if (model != NULL)
    scope = temper_model_describe_lora_scope (temper_loaded_model_get_model (model));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), scope != NULL ? scope : default_subtitle);
}
