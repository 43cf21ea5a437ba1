/* SPDX-License-Identifier: MIT */
/* temper-lora-scope.h — what LoRA trains in the chosen model, shown under
 * the layers to adapt where the model narrows it (a mixture of experts
 * trains its attention only; the experts stay as they are). */
#pragma once

#include <gtk/gtk.h>

#include "temper-loaded-model.h"

G_BEGIN_DECLS

/* Sets the subtitle of the row holding @targets_widget: the engine's
 * sentence for @model (may be NULL), or @default_subtitle. */
void temper_lora_scope_show (GtkWidget *targets_widget, TemperLoadedModel *model,
                             const char *default_subtitle);

G_END_DECLS
