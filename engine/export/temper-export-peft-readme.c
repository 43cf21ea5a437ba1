/* SPDX-License-Identifier: MIT */
/* temper-export-peft-readme.c — the README next to an exported PEFT adapter,
 * and the sentence that says which base model it needs. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper-export-private.h"
#include "temper-model-base-id.h"

/* One sentence saying which base an adapter for @model needs (@base_id from
 * temper_model_base_model_id()). */
static char *
describe_base (const temper_model_t *model, const char *base_id)
{
  g_autofree char *file = g_path_get_basename (temper_model_get_path (model));

  if (base_id != NULL)
    /* Translators: %s is a Hugging Face model id such as "Qwen/Qwen2.5-0.5B-Instruct" or a folder */
    return g_strdup_printf (_("It needs the base model %s."), base_id);
  /* Translators: the first %s is a model name, the second its file name */
  return g_strdup_printf (_("It needs the Hugging Face model that %s (%s) was converted from; the file does "
                            "not say which, so set base_model_name_or_path in adapter_config.json to it."),
                          temper_model_get_name (model), file);
}

gboolean
temper_export_write_peft_readme (const temper_model_t *model, const char *base_id,
                                 const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "README.md", NULL);
  g_autofree char *needs = describe_base (model, base_id);
  g_autofree char *file = g_path_get_basename (temper_model_get_path (model));
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_append_printf (text, "# %s\n\n", _("LoRA adapter made with Temper"));
  /* Translators: the first %s is a model name, the second its file name */
  g_string_append_printf (text, _("Trained on %s (%s)."), temper_model_get_name (model), file);
  g_string_append_printf (text, " %s\n\n", needs);
  g_string_append_printf (text, "%s\n\n", _("With Hugging Face PEFT:"));
  g_string_append (text, "```python\nfrom peft import AutoPeftModelForCausalLM\n\n"
                         "model = AutoPeftModelForCausalLM.from_pretrained(\"PATH/TO/THIS/FOLDER\")\n```\n\n");
  g_string_append_printf (text, "%s\n", _("For llama.cpp or Ollama, export the adapter as a GGUF LoRA file instead."));
  return g_file_set_contents (path, text->str, (gssize) text->len, error);
}

char *
temper_export_describe_peft_base (const temper_model_t *model)
{
  g_autofree char *base_id = temper_model_base_model_id (model);

  return describe_base (model, base_id);
}
