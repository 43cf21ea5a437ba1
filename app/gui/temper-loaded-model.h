/* SPDX-License-Identifier: MIT */
/* temper-loaded-model.h — a model opened by the engine, shared by the pages.
 *
 * The engine's temper_model_t has a single owner; wrapping it in a GObject
 * lets the Model page, the Dataset page and worker threads hold references
 * without agreeing on who frees it. */
#pragma once

#include <glib-object.h>
#include "temper/model.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_LOADED_MODEL (temper_loaded_model_get_type ())
G_DECLARE_FINAL_TYPE (TemperLoadedModel, temper_loaded_model, TEMPER, LOADED_MODEL, GObject)

/* Takes ownership of @model. */
TemperLoadedModel *temper_loaded_model_new (temper_model_t *model);
/* Opens @path on the calling thread (call it from a worker). */
TemperLoadedModel *temper_loaded_model_load (const char    *path,
                                             GCancellable  *cancellable,
                                             GError       **error);

/* Read-only access: the engine model is immutable once loaded, so it may be
 * read from any thread while a reference is held. */
const temper_model_t *temper_loaded_model_get_model (TemperLoadedModel *self);

G_END_DECLS
