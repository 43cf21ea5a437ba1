/* SPDX-License-Identifier: MIT */
/* temper-export-util.c — temporary names, commits, progress and merging. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/fs.h"
#include "temper-export-private.h"

void
temper_export_options_init (TemperExportOptions *options)
{
  memset (options, 0, sizeof *options);
}

char *
temper_export_temp_path (const char *final_path)
{
  g_autofree char *dir = g_path_get_dirname (final_path);
  g_autofree char *base = g_path_get_basename (final_path);
  g_autofree char *name = g_strdup_printf (".%s.tmp-%06x", base,
                                           g_random_int_range (0, 0xffffff));

  return g_build_filename (dir, name, NULL);
}

/* What Temper writes into every export folder it makes: "temper-export
 * KIND" and then the name of each file it wrote there, one a line.  A folder
 * holding it and nothing else is Temper's to replace. */
#define FOLDER_MARKER ".temper-export"
#define FOLDER_MARKER_HEADER "temper-export "
/* The first line of every Modelfile Temper writes. */
#define MODELFILE_MARKER "# Made by Temper."

static gboolean
kind_is_folder (TemperExportKind kind)
{
  return kind == TEMPER_EXPORT_KIND_PEFT || kind == TEMPER_EXPORT_KIND_HF;
}

const char *
temper_export_kind_name (TemperExportKind kind)
{
  switch (kind)
    {
    case TEMPER_EXPORT_KIND_PEFT: return "peft";
    case TEMPER_EXPORT_KIND_GGUF_ADAPTER: return "gguf-adapter";
    case TEMPER_EXPORT_KIND_HF: return "hf";
    case TEMPER_EXPORT_KIND_GGUF: return "gguf";
    case TEMPER_EXPORT_KIND_MODELFILE: return "modelfile";
    default: g_assert_not_reached ();
    }
}

/* The names listed in @dir's marker for @kind, or NULL when it has none
 * or one for another kind of export. */
static GHashTable *
read_folder_marker (const char *dir, TemperExportKind kind)
{
  g_autofree char *path = g_build_filename (dir, FOLDER_MARKER, NULL);
  g_autofree char *text = NULL;
  g_autofree char *header = g_strconcat (FOLDER_MARKER_HEADER, temper_export_kind_name (kind), NULL);
  g_auto(GStrv) lines = NULL;
  GHashTable *names;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || !g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  if (lines[0] == NULL || strcmp (lines[0], header) != 0)
    return NULL;
  names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 1; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      g_hash_table_add (names, g_strdup (lines[i]));
  return names;
}

/* Whether @dir is empty, or an export of @kind that Temper made and nothing
 * was added to since.  Fills @names (when not NULL) with what Temper wrote. */
static gboolean
folder_is_replaceable (const char *dir, TemperExportKind kind, GHashTable **names)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GHashTable) listed = NULL;
  const char *entry;

  if (d == NULL)
    return FALSE;
  listed = read_folder_marker (dir, kind);
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, entry, NULL);

      if (listed == NULL || g_file_test (child, G_FILE_TEST_IS_SYMLINK) ||
          !g_file_test (child, G_FILE_TEST_IS_REGULAR) ||
          (strcmp (entry, FOLDER_MARKER) != 0 && !g_hash_table_contains (listed, entry)))
        return FALSE;
    }
  if (names != NULL)
    *names = g_steal_pointer (&listed);
  return TRUE;
}

static gboolean
file_is_replaceable (const char *path, TemperExportKind kind)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return FALSE;
  if (st.st_size == 0)
    return TRUE;
  if (kind == TEMPER_EXPORT_KIND_MODELFILE)
    {
      char head[sizeof MODELFILE_MARKER] = { 0 };
      FILE *f = g_fopen (path, "rb");
      gboolean same;

      if (f == NULL)
        return FALSE;
      same = fread (head, 1, strlen (MODELFILE_MARKER), f) == strlen (MODELFILE_MARKER) &&
             memcmp (head, MODELFILE_MARKER, strlen (MODELFILE_MARKER)) == 0;
      fclose (f);
      return same;
    }
  {
    g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, NULL);
    g_autofree char *made_as = gguf != NULL ? temper_gguf_dup_string (gguf, TEMPER_EXPORT_GGUF_KEY)
                                            : NULL;

    return g_strcmp0 (made_as, temper_export_kind_name (kind)) == 0;
  }
}

static gboolean
is_replaceable (const char *final_path, TemperExportKind kind)
{
  if (!g_file_test (final_path, G_FILE_TEST_EXISTS) && !g_file_test (final_path, G_FILE_TEST_IS_SYMLINK))
    return TRUE;
  if (kind_is_folder (kind))
    return !g_file_test (final_path, G_FILE_TEST_IS_SYMLINK) &&
           g_file_test (final_path, G_FILE_TEST_IS_DIR) &&
           folder_is_replaceable (final_path, kind, NULL);
  return file_is_replaceable (final_path, kind);
}

static void
set_not_ours_error (GError **error, const char *final_path, TemperExportKind kind)
{
  if (kind_is_folder (kind))
    g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                 _("Could not export to “%s”: it already exists and holds files Temper did not "
                   "write there. Nothing was changed; choose a new or an empty folder."),
                 final_path);
  else
    g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                 _("Could not export to “%s”: a file or folder of that name already exists and "
                   "is not an earlier export of this kind made by Temper. Nothing was changed; "
                   "choose another name."),
                 final_path);
}

char *
temper_export_prepare_dest (const char *requested, TemperExportKind kind, GError **error)
{
  g_autofree char *final_path = g_strdup (requested);
  g_autofree char *dir = NULL, *base = NULL;
  gsize len = strlen (final_path);

  /* "out/" names the folder "out", not something inside it. */
  while (len > 1 && G_IS_DIR_SEPARATOR (final_path[len - 1]))
    final_path[--len] = '\0';
  base = g_path_get_basename (final_path);
  if (len == 0 || strcmp (base, ".") == 0 || strcmp (base, "..") == 0 ||
      G_IS_DIR_SEPARATOR (base[0]))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("Could not export to “%s”: give the name of a new file or folder to "
                     "create, such as “my-adapter”."), requested);
      return NULL;
    }
  dir = g_path_get_dirname (final_path);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                   _("Could not export to “%s”: the folder “%s” does not exist. "
                   "Choose an existing folder."), final_path, dir);
      return NULL;
    }
  if (!is_replaceable (final_path, kind))
    {
      set_not_ours_error (error, final_path, kind);
      return NULL;
    }
  return g_steal_pointer (&final_path);
}

void
temper_export_explain_error (GError **error, const char *what, const char *final_path)
{
  if (error == NULL || *error == NULL)
    return;
  if (g_error_matches (*error, TEMPER_ERROR, TEMPER_ERROR_NO_SPACE) ||
      g_error_matches (*error, G_FILE_ERROR, G_FILE_ERROR_NOSPC))
    {
      g_autofree char *dir = g_path_get_dirname (final_path);

      g_clear_error (error);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_NO_SPACE,
                   _("Could not export %s to “%s”: the disk is full. Nothing was written; free "
                   "some space in “%s” or choose another folder, and try again."),
                   what, final_path, dir);
      return;
    }
  g_prefix_error (error, _("Exporting %s to “%s”: "), what, final_path);
}

void
temper_export_discard (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *entry;

      while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, entry, NULL);
          g_unlink (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static gboolean
write_folder_marker (const char *temp_dir, TemperExportKind kind, GError **error)
{
  g_autoptr(GDir) d = g_dir_open (temp_dir, 0, error);
  g_autoptr(GString) text = g_string_new (FOLDER_MARKER_HEADER);
  g_autofree char *path = g_build_filename (temp_dir, FOLDER_MARKER, NULL);
  const char *entry;

  if (d == NULL)
    return FALSE;
  g_string_append_printf (text, "%s\n", temper_export_kind_name (kind));
  while ((entry = g_dir_read_name (d)) != NULL)
    g_string_append_printf (text, "%s\n", entry);
  return temper_fs_write_file (path, text->str, (gssize) text->len, error);
}

/* Removes the files Temper listed in @dir's marker, the marker, and @dir if
 * that left it empty: never anything else. */
static void
discard_own_folder (const char *dir, GHashTable *names)
{
  GHashTableIter iter;
  gpointer name;
  g_autofree char *marker = g_build_filename (dir, FOLDER_MARKER, NULL);

  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      g_autofree char *child = NULL;

      if (strchr (name, G_DIR_SEPARATOR) != NULL || strcmp (name, "..") == 0 ||
          strcmp (name, ".") == 0)
        continue;
      child = g_build_filename (dir, name, NULL);
      g_unlink (child);
    }
  g_unlink (marker);
  g_rmdir (dir);
}

gboolean
temper_export_commit (const char *temp_path, const char *final_path, TemperExportKind kind,
                      GError **error)
{
  g_autofree char *old = NULL;
  g_autoptr(GHashTable) old_names = NULL;
  gboolean folder = kind_is_folder (kind);

  if (folder && !write_folder_marker (temp_path, kind, error))
    {
      temper_export_discard (temp_path);
      return FALSE;
    }
  /* Checked again: the destination may have changed during a long export. */
  if (!is_replaceable (final_path, kind))
    {
      temper_export_discard (temp_path);
      set_not_ours_error (error, final_path, kind);
      return FALSE;
    }
  /* rename() replaces a file or an empty folder in one step, but not a
   * folder of files: Temper's earlier export is swapped with the new one (or
   * moved aside first), and only its own files are removed afterwards. */
  if (folder && g_file_test (final_path, G_FILE_TEST_IS_DIR) &&
      folder_is_replaceable (final_path, kind, &old_names) && old_names != NULL)
    {
      gboolean swapped = FALSE;

      old = temper_export_temp_path (final_path);
      if (!temper_fs_replace_dir (temp_path, final_path, old, &swapped, error))
        {
          temper_export_discard (temp_path);
          return FALSE;
        }
      discard_own_folder (swapped ? temp_path : old, old_names);
      return TRUE;
    }
  if (!temper_fs_rename (temp_path, final_path, error))
    {
      temper_export_discard (temp_path);
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_export_step (const TemperExportOptions *options, double fraction, GError **error)
{
  if (options == NULL)
    return TRUE;
  if (options->progress != NULL)
    options->progress (CLAMP (fraction, 0.0, 1.0), options->progress_data);
  if (g_cancellable_is_cancelled (options->cancellable))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED,
                           _("The export was cancelled; nothing was written."));
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_export_merge_supported (const temper_model_t *model, TemperExportMergedFormat format,
                               GError **error)
{
  gboolean from_gguf = temper_model_get_format (model) == TEMPER_MODEL_FORMAT_GGUF;

  g_return_val_if_fail (model != NULL, FALSE);
  /* Into the base's own format its metadata or config.json is copied as it
   * is; into the other it is written anew. */
  if (format == TEMPER_EXPORT_MERGED_GGUF)
    return from_gguf || temper_export_gguf_from_hf_supported (model, error);
  return !from_gguf || temper_export_hf_from_gguf_supported (model, error);
}

gboolean
temper_export_check_family (const temper_model_t *model, GError **error)
{
  if (temper_export_family_of (model) == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("Temper cannot yet turn a %s model into the other format while merging. "
                     "Merge into the base model's own format (a GGUF from a GGUF model, a Hugging Face "
                     "folder from a Hugging Face model), or export the adapter (PEFT or GGUF LoRA)."),
                   temper_model_get_family_name (model));
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_export_needs_qk_permutation (const TemperModelConfig *config, TemperLoraTarget target)
{
  return temper_lora_gguf_needs_permutation (config, target);
}

static const char *const gguf_target_names[TEMPER_LORA_N_TARGETS] = {
  [TEMPER_LORA_Q] = "attn_q",
  [TEMPER_LORA_K] = "attn_k",
  [TEMPER_LORA_V] = "attn_v",
  [TEMPER_LORA_O] = "attn_output",
  [TEMPER_LORA_GATE] = "ffn_gate",
  [TEMPER_LORA_UP] = "ffn_up",
  [TEMPER_LORA_DOWN] = "ffn_down",
};

const char *
temper_export_gguf_target_name (TemperLoraTarget target)
{
  g_assert (target < TEMPER_LORA_N_TARGETS);
  return gguf_target_names[target];
}

gboolean
temper_export_parse_gguf_name (const char *name, const char *suffix, int *layer,
                               TemperLoraTarget *target)
{
  const char *p;
  char *end;
  gint64 n;

  if (!g_str_has_prefix (name, "blk."))
    return FALSE;
  p = name + 4;
  n = g_ascii_strtoll (p, &end, 10);
  if (end == p || *end != '.' || n < 0 || n > G_MAXINT)
    return FALSE;
  p = end + 1;
  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    {
      gsize len = strlen (gguf_target_names[t]);

      if (strncmp (p, gguf_target_names[t], len) == 0 && strncmp (p + len, ".weight", 7) == 0 &&
          strcmp (p + len + 7, suffix) == 0)
        {
          *layer = (int) n;
          *target = (TemperLoraTarget) t;
          return TRUE;
        }
    }
  return FALSE;
}

void
temper_export_merge_weight (const TemperTensorView *w, temper_adapter_t *adapter, int layer,
                            TemperLoraTarget target, float *out)
{
  const int64_t in = w->ne[0], rows = w->ne[1];
  const float *a = NULL, *b = NULL;
  int rank = 0;
  float s = 0.0f;

  if (adapter != NULL && layer < temper_adapter_get_n_layer (adapter))
    {
      a = temper_adapter_get_a (adapter, layer, target);
      b = temper_adapter_get_b (adapter, layer, target);
      rank = temper_adapter_get_rank (adapter);
      s = temper_adapter_get_scale (adapter);
    }
  for (int64_t o = 0; o < rows; o++)
    {
      float *row = out + o * in;

      temper_tensor_row_to_f32 (w, o, row);
      if (a == NULL || b == NULL)
        continue;
      for (int r = 0; r < rank; r++)
        {
          const float c = s * b[o * rank + r];
          const float *ar = a + (int64_t) r * in;

          if (c == 0.0f)
            continue;
          for (int64_t i = 0; i < in; i++)
            row[i] += c * ar[i];
        }
    }
}

gboolean
temper_export_find_module (const TemperModelConfig *config, const char *name, gboolean gguf,
                           int *layer, TemperLoraModule *module)
{
  TemperLoraModule modules[TEMPER_LORA_N_TARGETS];
  /* A Hugging Face base keeps its own names (the text part of a model of
   * text and images: language_model.model.layers.…). */
  g_autofree char *prefix = gguf ? g_strdup ("blk.")
                                 : g_strconcat (temper_model_config_hf_tensor_prefix (config), "layers.", NULL);
  int n_modules = temper_lora_modules (config, modules);
  const char *p;
  char *end;
  gint64 n;

  if (!g_str_has_prefix (name, prefix))
    return FALSE;
  p = name + strlen (prefix);
  n = g_ascii_strtoll (p, &end, 10);
  if (end == p || *end != '.' || n < 0 || n >= config->n_layer)
    return FALSE;
  p = end + 1;
  for (int m = 0; m < n_modules; m++)
    {
      g_autofree char *expected = gguf
        ? g_strdup_printf ("%s.weight", modules[m].gguf_name)
        : g_strdup_printf ("%s.%s.weight", modules[m].attention ? "self_attn" : "mlp",
                           modules[m].peft_name);

      if (strcmp (p, expected) == 0)
        {
          *layer = (int) n;
          *module = modules[m];
          return TRUE;
        }
    }
  return FALSE;
}

void
temper_export_merge_module (const TemperTensorView *w, temper_adapter_t *adapter,
                            const TemperModelConfig *config, int layer,
                            const TemperLoraModule *module, float *out)
{
  int64_t first_row = 0;

  for (int p = 0; p < module->n_parts; p++)
    {
      TemperTensorView part = *w;
      int in, rows;

      temper_lora_target_dims (config, module->parts[p], &in, &rows);
      if (module->n_parts == 1)
        rows = (int) w->ne[1];
      part.ne[1] = rows;
      part.data = (const guint8 *) w->data + (gsize) first_row * w->row_bytes;
      temper_export_merge_weight (&part, adapter, layer, module->parts[p], out + first_row * w->ne[0]);
      first_row += rows;
    }
}
