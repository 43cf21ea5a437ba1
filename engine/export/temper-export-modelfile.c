/* SPDX-License-Identifier: MIT */
/* temper-export-modelfile.c — an Ollama Modelfile for a merged GGUF. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/error.h"
#include "temper/fs.h"
#include "temper/tokenizer.h"
#include "temper-export-private.h"

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

/* Appends @text as one Modelfile value, or returns FALSE when no quoting
 * holds it.  Ollama's parser knows no escapes: it reads a value up to a
 * space or line end after which the value so far is "…" or """…""", and
 * it drops characters Go does not count as printable.  So text with a
 * quote goes in triple quotes, any other in single ones (both keep spaces
 * and line breaks), and text holding """ or an invisible character
 * (a control character, a non-ASCII space) cannot be written. */
static gboolean
append_modelfile_value (GString *out, const char *text)
{
  const char *quotes = strchr (text, '"') != NULL ? "\"\"\"" : "\"";

  if (!g_utf8_validate (text, -1, NULL) || strstr (text, "\"\"\"") != NULL)
    return FALSE;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        continue;
      if (c < 0x80 ? !g_ascii_isgraph ((char) c) : !g_unichar_isgraph (c))
        return FALSE;
    }
  g_string_append_printf (out, "%s%s%s", quotes, text, quotes);
  return TRUE;
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

/* What `ollama create` takes as a name: [namespace/]model[:tag], each part
 * letters, digits, '_', '-' and (but in the namespace) '.', never "..", at
 * most 80 bytes.  Ollama allows a little more (a registry host, longer
 * parts); this is the part people use. */
gboolean
temper_export_check_ollama_name (const char *name, GError **error)
{
  const char *slash = strchr (name, '/');
  const char *colon = strrchr (name, ':');
  const char *model = slash != NULL ? slash + 1 : name;
  gsize model_len = colon != NULL && colon > model ? (gsize) (colon - model) : strlen (model);
  gboolean ok = *name != '\0' && model_len > 0 && model_len <= 80 && strstr (name, "..") == NULL
                && (slash == NULL || (slash > name && slash - name <= 80 && strchr (model, '/') == NULL))
                && (colon == NULL || (colon > model && colon[1] != '\0' && strlen (colon + 1) <= 80));

  for (const char *p = name; ok && *p != '\0'; p++)
    ok = g_ascii_isalnum (*p) || *p == '_' || *p == '-' || p == slash || p == colon
         || (*p == '.' && (slash == NULL || p > slash));
  if (!ok)
    g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                 _("“%s” cannot be an Ollama model name: use letters, digits, “-”, “_” and “.”, "
                   "optionally a namespace (“me/”) and a tag (“:v1”), each part at most 80 characters."),
                 name);
  return ok;
}

gboolean
temper_export_modelfile (const temper_model_t *model, const char *gguf_path,
                         const char *modelfile_path, const char *name, char **command,
                         GError **error)
{
  const TemperModelConfig *config = temper_model_get_config (model);
  temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *gguf_dir = g_path_get_dirname (gguf_path);
  g_autofree char *file_dir = g_path_get_dirname (modelfile_path);
  g_autofree char *gguf_base = g_path_get_basename (gguf_path);
  g_autofree char *model_name = NULL, *dest = NULL;
  const char *system;
  const int *stops;

  g_return_val_if_fail (model != NULL && gguf_path != NULL && modelfile_path != NULL, FALSE);
  if (name != NULL && !temper_export_check_ollama_name (name, error))
    return FALSE;
  dest = temper_export_prepare_dest (modelfile_path, TEMPER_EXPORT_KIND_MODELFILE, error);
  if (dest == NULL)
    return FALSE;

  /* Its first words mark the file as Temper's, for the next export
   * (MODELFILE_MARKER in temper-export-util.c). */
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
  if (system != NULL && *system != '\0')
    {
      gsize before = text->len;

      g_string_append (text, "SYSTEM ");
      if (append_modelfile_value (text, system))
        g_string_append_c (text, '\n');
      else
        g_string_truncate (text, before);
    }

  stops = temper_model_get_stop_tokens (model);
  for (int i = 0; stops != NULL && stops[i] >= 0; i++)
    {
      const char *piece = temper_tokenizer_get_piece (tok, stops[i]);

      if (piece == NULL || *piece == '\0' || !temper_tokenizer_is_special (tok, stops[i]))
        continue;
      gsize before = text->len;

      g_string_append (text, "PARAMETER stop ");
      if (append_modelfile_value (text, piece))
        g_string_append_c (text, '\n');
      else
        {
          /* Better no stop line than one Ollama reads as other text. */
          g_string_truncate (text, before);
          g_string_append_printf (text, "# Stop token %d is left out: a Modelfile cannot hold its text.\n",
                                  stops[i]);
        }
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

  if (!temper_fs_write_file (dest, text->str, (gssize) text->len, error))
    return FALSE;
  if (command != NULL)
    {
      g_autofree char *quoted = g_shell_quote (modelfile_path);
      g_autofree char *quoted_name = NULL;

      /* Quoted although checked: the line is pasted into a shell. */
      model_name = name != NULL ? g_strdup (name) : model_name_from_path (gguf_path);
      quoted_name = g_shell_quote (model_name);
      *command = g_strdup_printf ("ollama create %s -f %s", quoted_name, quoted);
    }
  return TRUE;
}
