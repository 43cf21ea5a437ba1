/* SPDX-License-Identifier: MIT */
/* temper-loaded-model.c — reference-counted holder of an engine model. */
#include "config.h"

#include "temper-loaded-model.h"

struct _TemperLoadedModel
{
  GObject         parent_instance;
  temper_model_t *model;
};

G_DEFINE_FINAL_TYPE (TemperLoadedModel, temper_loaded_model, G_TYPE_OBJECT)

static void
temper_loaded_model_finalize (GObject *object)
{
  TemperLoadedModel *self = TEMPER_LOADED_MODEL (object);

  g_clear_pointer (&self->model, temper_model_free);

  G_OBJECT_CLASS (temper_loaded_model_parent_class)->finalize (object);
}

static void
temper_loaded_model_class_init (TemperLoadedModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = temper_loaded_model_finalize;
}

static void
temper_loaded_model_init (TemperLoadedModel *self)
{
}

TemperLoadedModel *
temper_loaded_model_new (temper_model_t *model)
{
  TemperLoadedModel *self;

  g_return_val_if_fail (model != NULL, NULL);

  self = g_object_new (TEMPER_TYPE_LOADED_MODEL, NULL);
  self->model = model;
  return self;
}

TemperLoadedModel *
temper_loaded_model_load (const char    *path,
                          GCancellable  *cancellable,
                          GError       **error)
{
  temper_model_t *model;

  g_return_val_if_fail (path != NULL, NULL);

  model = temper_model_load (path, cancellable, error);
  if (model == NULL)
    return NULL;
  return temper_loaded_model_new (model);
}

const temper_model_t *
temper_loaded_model_get_model (TemperLoadedModel *self)
{
  g_return_val_if_fail (TEMPER_IS_LOADED_MODEL (self), NULL);
  return self->model;
}

