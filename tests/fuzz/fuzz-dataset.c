/* SPDX-License-Identifier: MIT */
/* Dataset files in every format Temper reads (JSONL and JSON arrays of
 * alpaca, instruction/output, prompt/response, messages, ShareGPT and text
 * records).  The first byte picks the file's extension, the format (or
 * auto-detection), and whether records are rendered to tokens with a ChatML
 * template and a length limit; the rest is the file.  A dataset that loads
 * must answer for every record, its report and a split. */
#include "config.h"

#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/gguf.h"
#include "temper/tokenizer.h"
#include "fuzz-util.h"

static temper_tokenizer_t *tokenizer;
static temper_chat_template_t *chatml;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *path = fuzz_fixture ("tokenizer/qwen2.gguf");
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;

  fuzz_init (FALSE);
  gguf = temper_gguf_open (path, &error);
  tokenizer = gguf != NULL ? temper_tokenizer_new_from_gguf (gguf, &error) : NULL;
  if (tokenizer == NULL)
    g_error ("%s: %s", path, error->message);
  chatml = temper_chat_template_new (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    tokenizer);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  TemperDatasetOptions options;
  g_autofree char *path = NULL;
  g_autoptr(temper_dataset_t) dataset = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *report = NULL;
  g_autoptr(GArray) train = NULL;
  g_autoptr(GArray) validation = NULL;
  guint8 pick;

  if (size < 1 || fuzz_json_too_deep (data + 1, size - 1, FUZZ_JSON_DEPTH))
    return 0;
  pick = data[0];
  temper_dataset_options_init (&options);
  options.format = (TemperDatasetFormat) ((pick >> 1) % (TEMPER_DATASET_FORMAT_TEXT + 1));
  if (pick & 0x10)
    {
      options.chat_template = chatml;
      options.max_length = (pick & 0x20) ? 8 : 0;
      options.train_on_prompt = (pick & 0x40) != 0;
    }
  options.max_listed = 4;
  path = fuzz_write (NULL, (pick & 1) ? "data.json" : "data.jsonl", data + 1, size - 1);
  dataset = temper_dataset_load (path, &options, &error);
  if (dataset == NULL)
    {
      g_assert (error != NULL && g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  for (gsize i = 0; i < temper_dataset_get_n_records (dataset); i++)
    {
      const TemperDatasetRecord *r = temper_dataset_get_record (dataset, i);
      const gint32 *ids;
      const guint8 *mask;
      gsize n;

      for (gsize m = 0; m < r->n_messages; m++)
        g_assert (g_utf8_validate (r->messages[m].content, -1, NULL));
      if (temper_dataset_get_tokens (dataset, i, &ids, &mask, &n))
        {
          if (options.max_length > 0)
            g_assert (n <= (gsize) options.max_length);
          for (gsize t = 0; t < n; t++)
            g_assert (ids[t] >= 0 && ids[t] < temper_tokenizer_get_n_vocab (tokenizer));
        }
    }
  report = temper_dataset_report_to_json (dataset);
  g_assert (report != NULL && g_utf8_validate (report, -1, NULL));
  temper_dataset_split (dataset, 0.25, 7, &train, &validation);
  g_assert (train->len + validation->len == temper_dataset_get_n_records (dataset));
  return 0;
}
