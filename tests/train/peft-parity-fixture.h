/* SPDX-License-Identifier: MIT */
/* peft-parity-fixture.h — the tiny Llama, its PEFT-format adapter and the
 * token batch of tests/fixtures/train/peft-parity.json, as the CPU and GPU
 * training tests load them (the same inputs PEFT was run on). */
#pragma once

#include <json-glib/json-glib.h>

#include "temper/model.h"
#include "temper/train.h"

typedef struct {
  temper_model_t   *model;
  temper_adapter_t *adapter;
  JsonParser       *parser;
  JsonObject       *fixture;
  int               n_rows, seq, micro_batch;
  gint32           *ids;      /* n_rows × seq */
  gint32           *targets;  /* n_rows × seq, −1 where no loss */
} Fixture;

static char *
fixture_path (const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train", name, NULL);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autofree char *adapter_dir = fixture_path ("tiny-llama-adapter");
  g_autofree char *json = fixture_path ("peft-parity.json");
  g_autoptr(GError) error = NULL;
  JsonArray *ids, *mask;

  f->model = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
  f->adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (f->model), NULL, &error);
  g_assert_no_error (error);

  f->parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (f->parser, json, NULL));
  f->fixture = json_node_get_object (json_parser_get_root (f->parser));
  ids = json_object_get_array_member (f->fixture, "ids");
  mask = json_object_get_array_member (f->fixture, "mask");
  f->n_rows = (int) json_array_get_length (ids);
  f->seq = (int) json_array_get_length (json_array_get_array_element (ids, 0));
  f->micro_batch = (int) json_object_get_int_member (json_object_get_object_member (f->fixture, "settings"),
                                                     "micro_batch");
  f->ids = g_new (gint32, f->n_rows * f->seq);
  f->targets = g_new (gint32, f->n_rows * f->seq);
  /* mask[t] = 1 makes token t a target, predicted from row t − 1 (HF shifts labels). */
  for (int r = 0; r < f->n_rows; r++)
    {
      JsonArray *ri = json_array_get_array_element (ids, r);
      JsonArray *rm = json_array_get_array_element (mask, r);

      for (int t = 0; t < f->seq; t++)
        {
          f->ids[r * f->seq + t] = (gint32) json_array_get_int_element (ri, t);
          f->targets[r * f->seq + t] =
            t + 1 < f->seq && json_array_get_int_element (rm, t + 1)
            ? (gint32) json_array_get_int_element (ri, t + 1) : -1;
        }
    }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  temper_adapter_free (f->adapter);
  temper_model_free (f->model);
  g_object_unref (f->parser);
  g_free (f->ids);
  g_free (f->targets);
}
