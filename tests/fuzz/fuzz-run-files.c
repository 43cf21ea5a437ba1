/* SPDX-License-Identifier: MIT */
/* The files of a run folder that resume and the app read back: settings.json
 * (through temper_run_open) and a checkpoint's state.json and
 * adapter_config.json (through temper_run_load_checkpoint, beside the real
 * adapter weights of tests/fixtures/train/tiny-llama-adapter).  The first byte
 * picks the file; the rest is its text. */
#include "config.h"

#include <string.h>

#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "fuzz-util.h"

static char *run_dir;
static char *checkpoint_dir;
static temper_model_t *model;
static char *good_state;
static char *good_adapter_config;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *model_dir = fuzz_fixture ("train/tiny-llama");
  g_autofree char *adapter = fuzz_fixture ("train/tiny-llama-adapter");
  g_autofree char *adapter_config = g_build_filename (adapter, "adapter_config.json", NULL);
  g_autoptr(GError) error = NULL;

  fuzz_init (FALSE);
  model = temper_model_load (model_dir, NULL, &error);
  if (model == NULL)
    g_error ("%s: %s", model_dir, error->message);
  run_dir = g_build_filename (fuzz_scratch_dir (), "run", NULL);
  checkpoint_dir = g_build_filename (run_dir, "checkpoints", "step-1", NULL);
  fuzz_copy_dir (adapter, checkpoint_dir);
  if (!g_file_get_contents (adapter_config, &good_adapter_config, NULL, &error))
    g_error ("%s", error->message);
  good_state = g_strdup ("{\"step\": 1, \"epoch\": 0, \"position\": 2, "
                         "\"rng\": [\"1\", \"2\", \"3\", \"4\"]}");
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;

  if (size < 1 || fuzz_json_too_deep (data + 1, size - 1, FUZZ_JSON_DEPTH))
    return 0;
  switch (data[0] % 3)
    {
    case 0:
      {
        g_autoptr(temper_run_t) run = NULL;

        g_free (fuzz_write (run_dir, "settings.json", data + 1, size - 1));
        run = temper_run_open (run_dir, &error);
        if (run == NULL)
          g_assert (error != NULL && g_utf8_validate (error->message, -1, NULL));
        else
          g_assert (temper_run_get_settings (run) != NULL && temper_run_get_data_path (run) != NULL);
        break;
      }
    default:
      {
        gboolean state_fuzzed = data[0] % 3 == 1;
        temper_adapter_t *adapter = NULL;
        float *m = NULL, *v = NULL;
        TemperTrainState state;

        g_free (fuzz_write (checkpoint_dir, "state.json",
                            state_fuzzed ? (const char *) data + 1 : good_state,
                            state_fuzzed ? size - 1 : strlen (good_state)));
        g_free (fuzz_write (checkpoint_dir, "adapter_config.json",
                            state_fuzzed ? good_adapter_config : (const char *) data + 1,
                            state_fuzzed ? strlen (good_adapter_config) : size - 1));
        if (temper_run_load_checkpoint (checkpoint_dir, temper_model_get_config (model),
                                        &adapter, &m, &v, &state, &error))
          {
            temper_adapter_free (adapter);
            g_free (m);
            g_free (v);
          }
        else
          g_assert (error != NULL && g_utf8_validate (error->message, -1, NULL));
        break;
      }
    }
  return 0;
}
