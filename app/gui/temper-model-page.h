/* SPDX-License-Identifier: MIT */
/* temper-model-page.h — step 1: choose the model to teach. */
#pragma once

#include <adwaita.h>

#include "temper-loaded-model.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_MODEL_PAGE (temper_model_page_get_type ())
G_DECLARE_FINAL_TYPE (TemperModelPage, temper_model_page, TEMPER, MODEL_PAGE, AdwPreferencesPage)

/* Opens @path (a .gguf file or a model folder) on a worker thread; the
 * "model" property changes when it has loaded, and an error shows in the
 * page if it could not. */
void               temper_model_page_choose    (TemperModelPage *self,
                                                const char      *path);
/* The loaded model, or NULL while none is (or one is still loading). */
TemperLoadedModel *temper_model_page_get_model (TemperModelPage *self);
gboolean           temper_model_page_is_busy   (TemperModelPage *self);

G_END_DECLS
