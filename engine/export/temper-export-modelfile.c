/* temper-export-modelfile.c — an Ollama Modelfile for a merged GGUF. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/error.h"
#include "temper/tokenizer.h"
#include "export/temper-export-private.h"

/* Ollama's Go templates.  Ollama puts the SYSTEM default in front of the
 * messages when a request brings no system message, so the templates only
 * walk the messages. */
static const char chatml_template[] =
  "{{- range .Messages }}<|im_start|>{{ .Role }}\n"
  "{{ .Content }}<|im_end|>\n"
  "{{ end }}<|im_start|>assistant\n";

static const char llama3_template[] =
  "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
  "{{ .Content }}<|eot_id|>\n"
  "{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n";

static void
append_quoted (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* Lowercase letters, digits, '-', '_' and '.': what `ollama create` accepts. */
static char *
model_name_from_path (const char *gguf_path)
{
  g_autofree char *base = g_path_get_basename (gguf_path);
  GString *name = g_string_new (NULL);

  if (g_str_has_suffix (base, ".gguf"))
    base[strlen (base) - 5] = '\0';
  for (const char *p = base; *p != '\0'; p++)
    g_string_append_c (name, g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.'
                             ? g_ascii_tolower (*p) : '-');
  if (name->len == 0)
    g_string_append (name, "temper-model");
  return g_string_free (name, FALSE);
}

gboolean
temper_export_modelfile (temper_model_t *model, const char *gguf_path,
                         const char *modelfile_path, const char *name, char **command,
                         GError **error)
{
  const TemperModelConfig *config = temper_model_get_config (model);
  temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) local = NULL;
  g_autofree char *gguf_dir = g_path_get_dirname (gguf_path);
  g_autofree char *file_dir = g_path_get_dirname (modelfile_path);
  g_autofree char *gguf_base = g_path_get_basename (gguf_path);
  g_autofree char *model_name = NULL;
  const char *system;
  const int *stops;

  g_return_val_if_fail (model != NULL && gguf_path != NULL && modelfile_path != NULL, FALSE);
  if (!temper_export_check_dest (modelfile_path, error))
    return FALSE;

  g_string_append (text, "# Made by Temper. Import with: ollama create NAME -f Modelfile\n");
  /* Ollama resolves FROM against the Modelfile's folder. */
  if (g_strcmp0 (gguf_dir, file_dir) == 0)
    g_string_append_printf (text, "FROM ./%s\n", gguf_base);
  else if (g_path_is_absolute (gguf_path))
    g_string_append_printf (text, "FROM %s\n", gguf_path);
  else
    {
      g_autofree char *cwd = g_get_current_dir ();
      g_autofree char *abs = g_build_filename (cwd, gguf_path, NULL);
      g_string_append_printf (text, "FROM %s\n", abs);
    }

  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), tok);
  switch (temper_chat_template_get_family (tmpl))
    {
    case TEMPER_CHAT_FAMILY_CHATML:
      g_string_append_printf (text, "TEMPLATE \"\"\"%s\"\"\"\n", chatml_template);
      break;
    case TEMPER_CHAT_FAMILY_LLAMA3:
      g_string_append_printf (text, "TEMPLATE \"\"\"%s\"\"\"\n", llama3_template);
      break;
    case TEMPER_CHAT_FAMILY_PLAIN:
    case TEMPER_CHAT_FAMILY_LLAMA2:
    case TEMPER_CHAT_FAMILY_MISTRAL:
    case TEMPER_CHAT_FAMILY_GEMMA:
    case TEMPER_CHAT_FAMILY_PHI3:
    case TEMPER_CHAT_FAMILY_GLM4:
    default:
      g_string_append (text, "# No TEMPLATE: Ollama reads the chat template stored in the GGUF.\n");
      break;
    }
  system = temper_chat_template_get_default_system (tmpl);
  if (system != NULL && *system != '\0' && strstr (system, "\"\"\"") == NULL)
    g_string_append_printf (text, "SYSTEM \"\"\"%s\"\"\"\n", system);

  stops = temper_model_get_stop_tokens (model);
  for (int i = 0; stops != NULL && stops[i] >= 0; i++)
    {
      const char *piece = temper_tokenizer_get_piece (tok, stops[i]);

      if (piece == NULL || *piece == '\0' || !temper_tokenizer_is_special (tok, stops[i]))
        continue;
      g_string_append (text, "PARAMETER stop ");
      append_quoted (text, piece);
      g_string_append_c (text, '\n');
    }
  /* Temper's own sampling defaults (temper_sampling_params_init), so the
   * model answers in Ollama as it did in Temper's Compare page. */
  g_string_append (text,
                   "PARAMETER temperature 0.7\n"
                   "PARAMETER top_k 40\n"
                   "PARAMETER top_p 0.95\n"
                   "PARAMETER repeat_penalty 1.1\n"
                   "PARAMETER repeat_last_n 64\n");
  g_string_append_printf (text, "PARAMETER num_ctx %d\n",
                          config->n_ctx_train > 0 ? MIN (4096, config->n_ctx_train) : 4096);

  if (!g_file_set_contents (modelfile_path, text->str, (gssize) text->len, &local))
    {
      temper_set_error_from_errno (error,
                                   local->code == G_FILE_ERROR_NOSPC ? ENOSPC : EIO,
                                   modelfile_path, _("write"));
      return FALSE;
    }
  if (command != NULL)
    {
      g_autofree char *quoted = g_shell_quote (modelfile_path);

      model_name = name != NULL ? g_strdup (name) : model_name_from_path (gguf_path);
      *command = g_strdup_printf ("ollama create %s -f %s", model_name, quoted);
    }
  return TRUE;
}
