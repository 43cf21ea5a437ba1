/* SPDX-License-Identifier: MIT */
/* temper-export-job.c — a training run as a job for LLaMA-Factory or axolotl.
 *
 * Exactness comes from handing over what Temper decided rather than asking
 * the trainer to decide again: the records Temper kept (bad ones left out),
 * the training/validation split Temper made with the run's seed, and the
 * system message Temper's template inserts.  The chat layout is the model's
 * own (axolotl: the tokenizer's template; LLaMA-Factory: its template of the
 * same family, with the system message set explicitly). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/dataset.h"
#include "temper/error.h"
#include "temper/gguf.h"
#include "temper/run.h"
#include "temper/tokenizer.h"
#include "temper-export-job-private.h"

const char *
temper_job_engine_name (TemperJobEngine engine)
{
  return engine == TEMPER_JOB_AXOLOTL ? "axolotl" : "llamafactory";
}

gboolean
temper_job_engine_parse (const char *text, TemperJobEngine *engine, GError **error)
{
  if (g_ascii_strcasecmp (text, "llamafactory") == 0 || g_ascii_strcasecmp (text, "llama-factory") == 0)
    *engine = TEMPER_JOB_LLAMAFACTORY;
  else if (g_ascii_strcasecmp (text, "axolotl") == 0)
    *engine = TEMPER_JOB_AXOLOTL;
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("Unknown trainer “%s”: use llamafactory or axolotl"), text);
      return FALSE;
    }
  return TRUE;
}

void
temper_job_options_init (TemperJobOptions *options)
{
  memset (options, 0, sizeof *options);
  options->engine = TEMPER_JOB_LLAMAFACTORY;
}

char *
temper_job_yaml_string (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return json_to_string (node, FALSE);
}

char *
temper_job_peft_targets (guint targets)
{
  static const char *const names[TEMPER_LORA_N_TARGETS] = {
    "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
  };
  GString *s = g_string_new (NULL);

  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    if (targets & TEMPER_LORA_TARGET_BIT (t))
      {
        if (s->len > 0)
          g_string_append_c (s, ',');
        g_string_append (s, names[t]);
      }
  return g_string_free (s, FALSE);
}

/* The destination must be new or empty: a job never lands on top of
 * someone's files. */
static gboolean
prepare_out_dir (const char *dir, GError **error)
{
  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GDir) d = NULL;

      if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                       _("%s is a file; choose a new or empty folder for the job"), dir);
          return FALSE;
        }
      d = g_dir_open (dir, 0, error);
      if (d == NULL)
        return FALSE;
      if (g_dir_read_name (d) != NULL)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                       _("%s is not empty; choose a new or empty folder so that nothing in it is "
                         "overwritten"), dir);
          return FALSE;
        }
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create the job folder “%s”"), dir);
      return FALSE;
    }
  return TRUE;
}

/* A Hugging Face id from a GGUF's metadata ("general.source.huggingface.repository"
 * or a huggingface.co URL of the model or its base), or NULL. */
static char *
hf_id_from_gguf (const char *path)
{
  static const char *const keys[] = {
    "general.source.huggingface.repository",
    "general.base_model.0.repo_url",
    "general.source.url",
    "general.source.repo_url",
  };
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, NULL);

  if (gguf == NULL)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *value = temper_gguf_dup_string (gguf, keys[i]);
      const char *p;

      if (value == NULL)
        continue;
      p = strstr (value, "huggingface.co/");
      if (p != NULL)
        return g_strdup (p + strlen ("huggingface.co/"));
      if (i == 0)
        return g_steal_pointer (&value);
    }
  return NULL;
}

/* LLaMA-Factory's template of the same layout.  The system message is set
 * explicitly in the YAML, so the template's own default never applies. */
static const char *
llamafactory_template (TemperChatFamily family, TemperArch arch, const char *model_name)
{
  switch (family)
    {
    case TEMPER_CHAT_FAMILY_CHATML:
      if (arch == TEMPER_ARCH_QWEN2)
        return "qwen";
      if (model_name != NULL && strstr (model_name, "mollm") != NULL)
        return "smollm2";
      return "chatml";
    case TEMPER_CHAT_FAMILY_LLAMA3:
      return "llama3";
    case TEMPER_CHAT_FAMILY_LLAMA2:
      return "llama2";
    case TEMPER_CHAT_FAMILY_MISTRAL:
      return "mistral";
    case TEMPER_CHAT_FAMILY_PLAIN:
    default:
      return NULL;
    }
}

static const char *
role_name (TemperChatRole role)
{
  switch (role)
    {
    case TEMPER_CHAT_ROLE_SYSTEM: return "system";
    case TEMPER_CHAT_ROLE_USER: return "user";
    case TEMPER_CHAT_ROLE_ASSISTANT:
    default: return "assistant";
    }
}

/* The records @indices of @dataset as a JSON array of {"messages": [{role,
 * content}, …]}: the layout both trainers read (LLaMA-Factory's sharegpt
 * with OpenAI tags, axolotl's chat_template). */
static gboolean
write_records (const temper_dataset_t *dataset, const GArray *indices, const char *path,
               GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; i < (indices != NULL ? indices->len : temper_dataset_get_n_records (dataset)); i++)
    {
      gsize r = indices != NULL ? g_array_index (indices, guint, i) : i;
      const TemperDatasetRecord *rec = temper_dataset_get_record (dataset, r);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "messages");
      json_builder_begin_array (b);
      for (gsize m = 0; m < rec->n_messages; m++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "role");
          json_builder_add_string_value (b, role_name (rec->messages[m].role));
          json_builder_set_member_name (b, "content");
          json_builder_add_string_value (b, rec->messages[m].content);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  if (!json_generator_to_file (gen, path, error))
    {
      g_prefix_error (error, _("Could not write %s: "), path);
      return FALSE;
    }
  return TRUE;
}

static void
add_dataset_entry (JsonBuilder *b, const char *name, const char *file)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file_name");
  json_builder_add_string_value (b, file);
  json_builder_set_member_name (b, "formatting");
  json_builder_add_string_value (b, "sharegpt");
  json_builder_set_member_name (b, "columns");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "messages");
  json_builder_add_string_value (b, "messages");
  json_builder_end_object (b);
  json_builder_set_member_name (b, "tags");
  json_builder_begin_object (b);
  {
    static const char *const tags[][2] = {
      { "role_tag", "role" }, { "content_tag", "content" }, { "user_tag", "user" },
      { "assistant_tag", "assistant" }, { "system_tag", "system" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
      {
        json_builder_set_member_name (b, tags[i][0]);
        json_builder_add_string_value (b, tags[i][1]);
      }
  }
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static gboolean
write_dataset_info (const char *data_dir, gboolean has_validation, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = g_build_filename (data_dir, "dataset_info.json", NULL);

  json_builder_begin_object (b);
  add_dataset_entry (b, "temper_train", "train.json");
  if (has_validation)
    add_dataset_entry (b, "temper_validation", "validation.json");
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  if (!json_generator_to_file (gen, path, error))
    {
      g_prefix_error (error, _("Could not write %s: "), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
copy_into (const char *src, const char *dir, GError **error)
{
  g_autofree char *base = g_path_get_basename (src);
  g_autofree char *dst = g_build_filename (dir, base, NULL);
  g_autoptr(GFile) from = g_file_new_for_path (src);
  g_autoptr(GFile) to = g_file_new_for_path (dst);

  if (!g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, error))
    {
      g_prefix_error (error, _("Could not copy %s into the job: "), src);
      return FALSE;
    }
  return TRUE;
}

/* The run's own files, for temper_run_import(). */
static gboolean
write_temper_copy (const temper_run_t *run, const char *out_dir, GError **error)
{
  g_autofree char *dir = g_build_filename (out_dir, "temper", NULL);
  g_autofree char *settings = g_build_filename (temper_run_get_dir (run), "settings.json", NULL);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create the folder “%s”"), dir);
      return FALSE;
    }
  return copy_into (settings, dir, error)
         && copy_into (temper_run_get_data_path (run), dir, error)
         && (temper_run_get_val_path (run) == NULL
             || copy_into (temper_run_get_val_path (run), dir, error));
}

/* What the job's files say about the run: @job's fields from the run's
 * settings, its model and @options, refusing what a cluster trainer would
 * not train the same way.  The texts point into @model and @tmpl. */
static gboolean
describe_job (TemperJob *job, const temper_run_t *run, const temper_model_t *model,
              const temper_chat_template_t *tmpl, const TemperJobOptions *options, GError **error)
{
  const TemperTrainSettings *settings = temper_run_get_settings (run);

  job->engine = options->engine;
  job->settings = settings;
  job->family = temper_chat_template_get_family (tmpl);
  job->arch = temper_model_get_config (model)->arch;
  job->default_system = temper_chat_template_get_default_system (tmpl);
  {
    const temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
    g_autoptr(temper_chat_template_t) with_tokens =
      temper_chat_template_new (temper_model_get_chat_template (model), tok);
    int eot = tok != NULL ? temper_chat_template_get_end_of_turn (with_tokens) : -1;

    if (eot >= 0 && temper_tokenizer_get_piece (tok, eot) != NULL)
      job->end_of_turn = temper_tokenizer_get_piece (tok, eot);
    job->eos_ends_turn = eot >= 0 && eot == temper_tokenizer_get_eos (tok);
  }
  job->template_name = llamafactory_template (job->family, job->arch, temper_model_get_name (model));
  job->gpus_per_node = options->gpus_per_node > 0 ? options->gpus_per_node : 8;
  job->nodes = options->nodes > 0 ? options->nodes : 2;
  if (job->template_name == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The model has no chat template that LLaMA-Factory or axolotl would lay out "
                     "the same way, so the job would not train what this run trains"));
      return FALSE;
    }
  /* LLaMA-Factory reads lora_alpha as an integer. */
  if (job->engine == TEMPER_JOB_LLAMAFACTORY && settings->lora.alpha != rintf (settings->lora.alpha))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("LLaMA-Factory takes a whole number for LoRA alpha, and this run uses %g: "
                     "export it for axolotl instead"), settings->lora.alpha);
      return FALSE;
    }
  if (options->model_id != NULL && *options->model_id != '\0')
    job->model_id = g_strdup (options->model_id);
  else if (temper_model_get_format (model) == TEMPER_MODEL_FORMAT_HF_FOLDER)
    job->model_id = g_strdup (temper_model_get_path (model));
  else
    job->model_id = hf_id_from_gguf (temper_model_get_path (model));
  if (job->model_id == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The run’s model is a GGUF file, and distributed trainers load Hugging Face "
                     "weights: give the model’s Hugging Face id (such as "
                     "HuggingFaceTB/SmolLM2-135M-Instruct) or its folder on the cluster"));
      return FALSE;
    }
  return TRUE;
}

/* The run's training data, and its validation records: its own file, or
 * (@train_idx, @val_idx) the split training uses. */
static gboolean
load_job_data (const temper_run_t *run, temper_dataset_t **dataset, temper_dataset_t **validation,
               GArray **train_idx, GArray **val_idx, GError **error)
{
  const TemperTrainSettings *settings = temper_run_get_settings (run);
  TemperDatasetOptions dopts;

  temper_dataset_options_init (&dopts);
  *dataset = temper_dataset_load (temper_run_get_data_path (run), &dopts, error);
  if (*dataset == NULL)
    return FALSE;
  if (temper_dataset_get_report (*dataset)->format == TEMPER_DATASET_FORMAT_TEXT)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The run trains on plain text; a cluster job can be made only for "
                     "conversations and instructions"));
      return FALSE;
    }
  if (temper_run_get_val_path (run) != NULL)
    {
      *validation = temper_dataset_load (temper_run_get_val_path (run), &dopts, error);
      if (*validation == NULL)
        return FALSE;
    }
  else
    {
      double fraction = settings->val_fraction >= 0.0
                        ? settings->val_fraction
                        : temper_dataset_default_validation_fraction (
                            temper_dataset_get_n_records (*dataset));
      temper_dataset_split (*dataset, fraction, settings->seed, train_idx, val_idx);
    }
  return TRUE;
}

gboolean
temper_job_export (const char *run_dir, const char *out_dir, const TemperJobOptions *options,
                   GError **error)
{
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_dataset_t) dataset = NULL;
  g_autoptr(temper_dataset_t) validation = NULL;
  g_autoptr(GArray) train_idx = NULL;
  g_autoptr(GArray) val_idx = NULL;
  g_autofree char *data_dir = g_build_filename (out_dir, "data", NULL);
  g_autofree char *train_path = g_build_filename (data_dir, "train.json", NULL);
  g_autofree char *val_path = g_build_filename (data_dir, "validation.json", NULL);
  g_autofree char *run_name = g_path_get_basename (run_dir);
  TemperJob job = { 0 };
  gboolean ok;

  g_return_val_if_fail (run_dir != NULL && out_dir != NULL && options != NULL, FALSE);

  run = temper_run_open (run_dir, error);
  if (run == NULL)
    return FALSE;
  model = temper_model_load (temper_run_get_model_path (run), NULL, error);
  if (model == NULL)
    return FALSE;
  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), NULL);
  job.run_name = run_name;
  if (!describe_job (&job, run, model, tmpl, options, error))
    return FALSE;

  if (!load_job_data (run, &dataset, &validation, &train_idx, &val_idx, error))
    goto fail;
  if (!prepare_out_dir (out_dir, error))
    goto fail;
  if (g_mkdir_with_parents (data_dir, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create the folder “%s”"), data_dir);
      goto fail;
    }
  job.n_train = train_idx != NULL ? train_idx->len : temper_dataset_get_n_records (dataset);
  job.n_validation = validation != NULL ? temper_dataset_get_n_records (validation)
                     : val_idx != NULL ? val_idx->len : 0;
  job.has_validation = job.n_validation > 0;

  ok = write_records (dataset, train_idx, train_path, error)
       && (!job.has_validation
           || (validation != NULL ? write_records (validation, NULL, val_path, error)
                                  : write_records (dataset, val_idx, val_path, error)))
       && write_dataset_info (data_dir, job.has_validation, error)
       && write_temper_copy (run, out_dir, error)
       && (job.engine == TEMPER_JOB_AXOLOTL
           ? temper_job_write_axolotl_yaml (&job, out_dir, error)
           : temper_job_write_llamafactory_yaml (&job, out_dir, error))
       && temper_job_write_parallel_configs (&job, out_dir, error)
       && temper_job_write_launch_scripts (&job, out_dir, error)
       && temper_job_write_readme (&job, out_dir, error);
  g_free (job.model_id);
  return ok;

fail:
  g_free (job.model_id);
  return FALSE;
}
