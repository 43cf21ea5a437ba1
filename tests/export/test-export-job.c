/* SPDX-License-Identifier: MIT */
/* test-export-job.c — temper_job_export() writes what the run says, and only
 * into a new or empty folder; temper_run_import() makes a run of a trainer's
 * output with its adapter, settings and loss curve. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/dataset.h"
#include "temper/error.h"
#include "temper/job.h"
#include "temper/run.h"
#include "temper/train.h"
#include "test-tree.h"

static const char *source_dir;

/* The tiny fixture model with a ChatML template (SmolLM2's, from the chat
 * fixtures), in @dir. */
static char *
make_model (const char *dir)
{
  static const char *const files[] = { "config.json", "model.safetensors", "tokenizer.json" };
  g_autofree char *src = g_build_filename (source_dir, "tests", "fixtures", "train", "tiny-llama", NULL);
  g_autofree char *render = g_build_filename (source_dir, "tests", "fixtures", "chat", "render.json", NULL);
  char *model = g_build_filename (dir, "model", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *config = g_build_filename (model, "tokenizer_config.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *templates;

  g_assert_cmpint (g_mkdir_with_parents (model, 0755), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (model, files[i], NULL);
      g_autoptr(GFile) f = g_file_new_for_path (from);
      g_autoptr(GFile) t = g_file_new_for_path (to);

      g_file_copy (f, t, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  json_parser_load_from_file (parser, render, &error);
  g_assert_no_error (error);
  templates = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                             "templates");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "chat_template");
  json_builder_add_string_value (b, json_object_get_string_member (
                                      json_object_get_object_member (templates, "smollm2"), "jinja"));
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  g_file_set_contents (config, text, -1, &error);
  g_assert_no_error (error);
  return model;
}

static char *
make_run (const char *dir, const char *model, TemperTrainSettings *s)
{
  g_autofree char *data = g_build_filename (source_dir, "data", "samples", "product-faq.jsonl", NULL);
  char *run_dir = g_build_filename (dir, "run", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;

  run = temper_run_create (run_dir, s, model, data, NULL, &error);
  g_assert_no_error (error);
  return run_dir;
}

static char *
read_text (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static guint
count_records (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_array_get_length (json_node_get_array (json_parser_get_root (parser)));
}

static void
assert_line (const char *yaml, const char *line)
{
  g_autofree char *with_newline = g_strconcat ("\n", line, "\n", NULL);

  if (strstr (yaml, with_newline) == NULL)
    g_error ("the YAML lacks the line “%s”:\n%s", line, yaml);
}

static void
test_llamafactory (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("test-export-job-XXXXXX", NULL);
  g_autofree char *model = make_model (tmp);
  g_autofree char *run_dir = NULL, *job = g_build_filename (tmp, "job", NULL);
  g_autofree char *yaml = NULL, *info = NULL, *train = NULL, *val = NULL, *script = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) t_idx = NULL, v_idx = NULL;
  g_autoptr(temper_dataset_t) data = NULL;
  TemperDatasetOptions dopts;
  TemperJobOptions o;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  s.lora.rank = 8;
  s.lora.alpha = 16;
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.use_rslora = TRUE;
  s.learning_rate = 3e-4;
  s.schedule = TEMPER_LR_LINEAR;
  s.warmup_steps = 7;
  s.max_steps = 123;
  s.micro_batch = 2;
  s.grad_accum = 8;
  s.max_length = 384;
  s.seed = 99;
  s.val_fraction = 0.2;
  s.recompute = TRUE;
  run_dir = make_run (tmp, model, &s);
  temper_job_options_init (&o);
  o.gpus_per_node = 4;
  g_assert_true (temper_job_export (run_dir, job, &o, &error));
  g_assert_no_error (error);

  yaml = read_text (job, "llamafactory.yaml");
  assert_line (yaml, "stage: sft");
  assert_line (yaml, "finetuning_type: lora");
  assert_line (yaml, "lora_rank: 8");
  assert_line (yaml, "lora_alpha: 16");
  assert_line (yaml, "lora_target: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj");
  assert_line (yaml, "use_rslora: true");
  assert_line (yaml, "template: \"chatml\"");
  assert_line (yaml, "default_system: \"You are a helpful AI assistant named SmolLM, trained by Hugging Face\"");
  assert_line (yaml, "cutoff_len: 384");
  assert_line (yaml, "train_on_prompt: false");
  assert_line (yaml, "learning_rate: 0.0003");
  assert_line (yaml, "lr_scheduler_type: linear");
  assert_line (yaml, "warmup_steps: 7");
  assert_line (yaml, "max_steps: 123");
  assert_line (yaml, "per_device_train_batch_size: 2");
  assert_line (yaml, "gradient_accumulation_steps: 8");
  assert_line (yaml, "seed: 99");
  assert_line (yaml, "disable_gradient_checkpointing: false");
  assert_line (yaml, "eval_dataset: temper_validation");
  g_assert_null (strstr (yaml, "quantization_bit"));
  {
    g_autofree char *quoted = g_strdup_printf ("model_name_or_path: \"%s\"", model);
    assert_line (yaml, quoted);
  }

  /* The split is Temper's own, with the run's seed. */
  temper_dataset_options_init (&dopts);
  {
    g_autoptr(temper_run_t) run = temper_run_open (run_dir, &error);

    g_assert_no_error (error);
    data = temper_dataset_load (temper_run_get_data_path (run), &dopts, &error);
  }
  g_assert_no_error (error);
  temper_dataset_split (data, 0.2, 99, &t_idx, &v_idx);
  train = g_build_filename (job, "data", "train.json", NULL);
  val = g_build_filename (job, "data", "validation.json", NULL);
  g_assert_cmpuint (count_records (train), ==, t_idx->len);
  g_assert_cmpuint (count_records (val), ==, v_idx->len);
  info = read_text (job, "data/dataset_info.json");
  g_assert_nonnull (strstr (info, "\"temper_train\""));
  g_assert_nonnull (strstr (info, "\"formatting\" : \"sharegpt\""));

  /* The step's 2 × 8 sequences, shared among 4 GPUs, stay 16. */
  script = read_text (job, "train-1node.sh");
  g_assert_nonnull (strstr (script, "GPUS=\"${GPUS:-4}\""));
  g_assert_nonnull (strstr (script, "\nMICRO=2\nACCUM=8\n"));
  g_assert_nonnull (strstr (script, "deepspeed=\"$DS\""));
  {
    g_autofree char *script_path = g_build_filename (job, "train-1node.sh", NULL);
    g_autofree char *shell = g_strdup_printf ("GPUS=4; NNODES=1; MICRO=2; ACCUM=8\n"
                                              "%s\necho \"$MICRO $ACCUM\"",
                                              strstr (script, "WORLD="));
    char *end = strstr (shell, "case \"$PARALLEL\"");
    g_autofree char *out = NULL;
    const char *argv[] = { "sh", "-c", NULL, NULL };
    int status = 0;

    g_assert_nonnull (end);
    memmove (end, "echo \"$MICRO $ACCUM\"", strlen ("echo \"$MICRO $ACCUM\"") + 1);
    argv[2] = shell;
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                  &status, &error);
    g_assert_no_error (error);
    /* 16 sequences on 4 GPUs: 2 per micro-batch, 2 accumulated. */
    g_assert_cmpstr (out, ==, "2 2\n");
    g_assert_true (g_file_test (script_path, G_FILE_TEST_IS_EXECUTABLE));
  }
  for (const char *const *f = (const char *const[]) { "ds_z2.json", "ds_z3.json", "fsdp.yaml",
                                                       "train-multinode.sh", "train.sbatch",
                                                       "README.md", "temper/settings.json",
                                                       "temper/product-faq.jsonl", NULL }; *f; f++)
    {
      g_autofree char *p = g_build_filename (job, *f, NULL);
      g_assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));
    }
  {
    g_autofree char *z3 = read_text (job, "ds_z3.json");
    g_autoptr(JsonParser) parser = json_parser_new ();

    json_parser_load_from_data (parser, z3, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (
                       json_node_get_object (json_parser_get_root (parser)), "zero_optimization"),
                       "stage"), ==, 3);
  }
  test_remove_tree (tmp);
}

static void
test_axolotl_and_qlora (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("test-export-job-XXXXXX", NULL);
  g_autofree char *model = make_model (tmp);
  g_autofree char *run_dir = NULL, *job = g_build_filename (tmp, "job", NULL);
  g_autofree char *yaml = NULL;
  g_autoptr(GError) error = NULL;
  TemperJobOptions o;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  s.base_weights = TEMPER_BASE_WEIGHTS_NF4;
  s.lora.alpha = 12.5f;
  s.epochs = 3;
  s.max_steps = 0;
  run_dir = make_run (tmp, model, &s);
  temper_job_options_init (&o);
  o.engine = TEMPER_JOB_AXOLOTL;
  o.model_id = "org/tiny";
  g_assert_true (temper_job_export (run_dir, job, &o, &error));
  g_assert_no_error (error);
  yaml = read_text (job, "axolotl.yaml");
  assert_line (yaml, "base_model: \"org/tiny\"");
  assert_line (yaml, "adapter: qlora");
  assert_line (yaml, "load_in_4bit: true");
  assert_line (yaml, "lora_alpha: 12.5");
  assert_line (yaml, "lora_dropout: 0.05");
  assert_line (yaml, "num_epochs: 3");
  assert_line (yaml, "chat_template: tokenizer_default");
  assert_line (yaml, "    roles_to_train: [assistant]");
  /* The fixture tokenizer's EOS is <|endoftext|>: the answers' <|im_end|>
   * is named so that axolotl trains it, as Temper does. */
  assert_line (yaml, "eot_tokens:\n  - \"<|im_end|>\"");
  assert_line (yaml, "    train_on_eot: turn");
  assert_line (yaml, "    train_on_eos: none");

  /* LLaMA-Factory cannot take alpha 12.5: refused, with nothing written. */
  {
    g_autofree char *job2 = g_build_filename (tmp, "job2", NULL);

    o.engine = TEMPER_JOB_LLAMAFACTORY;
    g_assert_false (temper_job_export (run_dir, job2, &o, &error));
    g_assert_nonnull (strstr (error->message, "whole number"));
    g_assert_false (g_file_test (job2, G_FILE_TEST_EXISTS));
    g_clear_error (&error);
  }
  test_remove_tree (tmp);
}

static void
test_never_overwrites (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("test-export-job-XXXXXX", NULL);
  g_autofree char *model = make_model (tmp);
  g_autofree char *run_dir = NULL, *job = g_build_filename (tmp, "job", NULL);
  g_autofree char *mine = g_build_filename (job, "notes.txt", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  TemperJobOptions o;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  run_dir = make_run (tmp, model, &s);
  g_mkdir_with_parents (job, 0755);
  g_file_set_contents (mine, "mine", -1, NULL);
  temper_job_options_init (&o);
  g_assert_false (temper_job_export (run_dir, job, &o, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_file_get_contents (mine, &text, NULL, NULL);
  g_assert_cmpstr (text, ==, "mine");
  {
    g_autoptr(GDir) d = g_dir_open (job, 0, NULL);
    g_assert_cmpstr (g_dir_read_name (d), ==, "notes.txt");
    g_assert_null (g_dir_read_name (d));
  }
  test_remove_tree (tmp);
}

/* A trainer's output: the fixture adapter and a trainer_state.json. */
static void
write_output (const char *job)
{
  static const char state[] =
    "{\"global_step\": 3, \"log_history\": ["
    "{\"epoch\": 0.5, \"grad_norm\": 1.5, \"learning_rate\": 0.0001, \"loss\": 2.5, \"step\": 1},"
    "{\"epoch\": 1.0, \"grad_norm\": 1.25, \"learning_rate\": 0.0002, \"loss\": 2.0, \"step\": 2},"
    "{\"epoch\": 1.0, \"eval_loss\": 2.25, \"eval_runtime\": 1.0, \"step\": 2},"
    "{\"epoch\": 1.5, \"grad_norm\": 1.0, \"learning_rate\": 0.0001, \"loss\": 1.75, \"step\": 3},"
    "{\"epoch\": 1.5, \"step\": 3, \"total_flos\": 1.0, \"train_loss\": 2.08, \"train_runtime\": 9.0}"
    "]}";
  g_autofree char *out = g_build_filename (job, "output", NULL);
  g_autofree char *src = g_build_filename (source_dir, "tests", "fixtures", "train",
                                           "tiny-llama-adapter", NULL);
  g_autofree char *state_path = g_build_filename (out, "trainer_state.json", NULL);
  g_autoptr(GError) error = NULL;

  g_mkdir_with_parents (out, 0755);
  for (const char *const *f = (const char *const[]) { "adapter_config.json",
                                                       "adapter_model.safetensors", NULL }; *f; f++)
    {
      g_autofree char *from = g_build_filename (src, *f, NULL);
      g_autofree char *to = g_build_filename (out, *f, NULL);
      g_autoptr(GFile) a = g_file_new_for_path (from);
      g_autoptr(GFile) b = g_file_new_for_path (to);

      g_file_copy (a, b, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  g_file_set_contents (state_path, state, -1, &error);
  g_assert_no_error (error);
}

static void
test_import (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("test-export-job-XXXXXX", NULL);
  g_autofree char *model = make_model (tmp);
  g_autofree char *run_dir = NULL, *job = g_build_filename (tmp, "job", NULL);
  g_autofree char *back = g_build_filename (tmp, "back", NULL);
  g_autofree char *adapter_dir = NULL, *fixture = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) loaded = NULL;
  g_autoptr(temper_adapter_t) ours = NULL, theirs = NULL;
  g_autoptr(GArray) metrics = NULL;
  g_autofree float *a = NULL, *b = NULL;
  TemperJobOptions o;
  TemperTrainSettings s;
  TemperLoraConfig lora;
  const TemperRunMetrics *m;
  guint64 n;

  temper_train_settings_init_default (&s);
  s.seed = 1234;
  s.learning_rate = 5e-5;
  run_dir = make_run (tmp, model, &s);
  temper_job_options_init (&o);
  g_assert_true (temper_job_export (run_dir, job, &o, &error));
  g_assert_no_error (error);

  /* Before training there is nothing to bring back. */
  g_assert_false (temper_run_import (job, back, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "adapter_config.json"));
  g_clear_error (&error);

  write_output (job);
  g_assert_true (temper_run_import (job, back, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  run = temper_run_open (back, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (temper_run_get_model_path (run), ==, model);
  /* The run's own settings, with the adapter's LoRA (r 4, alpha 8, all linear). */
  g_assert_cmpuint (temper_run_get_settings (run)->seed, ==, 1234);
  g_assert_cmpfloat (temper_run_get_settings (run)->learning_rate, ==, 5e-5);
  g_assert_cmpint (temper_run_get_settings (run)->lora.rank, ==, 4);
  g_assert_cmpfloat (temper_run_get_settings (run)->lora.alpha, ==, 8.0f);
  g_assert_cmpuint (temper_run_get_settings (run)->lora.targets, ==, TEMPER_LORA_TARGETS_ALL_LINEAR);

  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 3);
  m = &g_array_index (metrics, TemperRunMetrics, 1);
  g_assert_cmpint (m->step, ==, 2);
  g_assert_cmpfloat (m->loss, ==, 2.0);
  g_assert_cmpfloat (m->val_loss, ==, 2.25);
  g_assert_cmpfloat (m->lr, ==, 0.0002);
  g_assert_cmpfloat (m->grad_norm, ==, 1.25);
  g_assert_cmpfloat (m->epoch, ==, 1.0);
  g_assert_true (isnan (g_array_index (metrics, TemperRunMetrics, 0).val_loss));
  g_assert_cmpfloat (g_array_index (metrics, TemperRunMetrics, 2).loss, ==, 1.75);

  /* The run's adapter is the trainer's, weight for weight. */
  loaded = temper_model_load (model, NULL, &error);
  g_assert_no_error (error);
  fixture = g_build_filename (source_dir, "tests", "fixtures", "train", "tiny-llama-adapter", NULL);
  theirs = temper_lora_load_peft (fixture, temper_model_get_config (loaded), &lora, &error);
  g_assert_no_error (error);
  adapter_dir = temper_run_dup_adapter_dir (run);
  ours = temper_lora_load_peft (adapter_dir, temper_model_get_config (loaded), NULL, &error);
  g_assert_no_error (error);
  n = temper_lora_count_params (ours, temper_model_get_config (loaded));
  g_assert_cmpuint (n, ==, temper_lora_count_params (theirs, temper_model_get_config (loaded)));
  a = g_new (float, n);
  b = g_new (float, n);
  temper_lora_gather (ours, temper_model_get_config (loaded), a);
  temper_lora_gather (theirs, temper_model_get_config (loaded), b);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));

  /* A second import never lands on the first. */
  g_assert_false (temper_run_import (job, back, NULL, NULL, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  source_dir = g_getenv ("TEMPER_SOURCE_DIR");
  if (source_dir == NULL)
    source_dir = ".";
  g_test_add_func ("/job/llamafactory", test_llamafactory);
  g_test_add_func ("/job/axolotl-qlora", test_axolotl_and_qlora);
  g_test_add_func ("/job/never-overwrites", test_never_overwrites);
  g_test_add_func ("/job/import", test_import);
  return g_test_run ();
}
