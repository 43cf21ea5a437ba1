/* SPDX-License-Identifier: MIT */
/* temper-cli devices — what Temper can compute on, and why a backend is
 * missing when it is. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "temper/devices.h"
#include "temper/op-support.h"
#include "temper/tensor.h"
#include "temper-cli.h"

static char *
format_memory (guint64 bytes)
{
  return bytes > 0 ? g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS) : g_strdup ("—");
}

/* printf pads by bytes; names and "—" are UTF-8, so pad by characters. */
static void
print_cell (const char *text, int width)
{
  long pad = width - g_utf8_strlen (text, -1);

  fputs (text, stdout);
  for (long i = 0; i < MAX (pad, 1); i++)
    putchar (' ');
}

/* The self-test column: a GPU is checked against the CPU before it first
 * trains (and again after a driver update). */
static const char *
self_test_label (TemperSelfTestResult result)
{
  switch (result)
    {
    case TEMPER_SELF_TEST_PASSED:
      return _("passed");
    case TEMPER_SELF_TEST_FAILED:
      return _("FAILED");
    case TEMPER_SELF_TEST_NOT_RUN:
    default:
      return _("not yet");
    }
}

static void
print_table (GPtrArray *devices, GPtrArray *notes)
{
  static const char *const headings[] = {
    "BACKEND", "INDEX", "TYPE", "NAME", "MEMORY", "FREE", "DRIVER", "SELF-TEST",
  };
  static const int widths[] = { 8, 6, 15, 40, 11, 11, 30, 10 };

  for (gsize c = 0; c < G_N_ELEMENTS (headings); c++)
    print_cell (headings[c], widths[c]);
  printf ("DETAILS\n");
  for (guint i = 0; i < devices->len; i++)
    {
      const TemperDeviceInfo *info = devices->pdata[i];
      g_autofree char *index = g_strdup_printf ("%d", info->index);
      g_autofree char *total = format_memory (info->memory_total);
      g_autofree char *free_now = format_memory (info->memory_free);
      const char *cells[] = {
        temper_backend_kind_name (info->backend), index, temper_device_type_name (info->type),
        info->name, total, free_now, info->driver[0] != '\0' ? info->driver : "—",
        info->backend == TEMPER_BACKEND_CPU ? "—" : self_test_label (info->self_test),
      };

      for (gsize c = 0; c < G_N_ELEMENTS (cells); c++)
        print_cell (cells[c], widths[c]);
      printf ("%s\n", info->details);
      if (info->self_test == TEMPER_SELF_TEST_FAILED)
        printf (_("    Not used for training: it failed Temper’s check of its results (%s).\n"),
                info->self_test_reason != NULL ? info->self_test_reason : "");
    }
  if (notes->len > 0)
    printf ("\n");
  for (guint i = 0; i < notes->len; i++)
    printf (_("Note: %s\n"), (const char *) notes->pdata[i]);
}

static void
print_json (GPtrArray *devices, GPtrArray *notes)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "devices");
  json_builder_begin_array (builder);
  for (guint i = 0; i < devices->len; i++)
    {
      const TemperDeviceInfo *info = devices->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "backend");
      json_builder_add_string_value (builder, temper_backend_kind_name (info->backend));
      json_builder_set_member_name (builder, "index");
      json_builder_add_int_value (builder, info->index);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, temper_device_type_name (info->type));
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, info->name);
      json_builder_set_member_name (builder, "memory_total");
      json_builder_add_int_value (builder, (gint64) info->memory_total);
      json_builder_set_member_name (builder, "memory_free");
      json_builder_add_int_value (builder, (gint64) info->memory_free);
      json_builder_set_member_name (builder, "driver");
      json_builder_add_string_value (builder, info->driver);
      json_builder_set_member_name (builder, "details");
      json_builder_add_string_value (builder, info->details);
      json_builder_set_member_name (builder, "self_test");
      json_builder_add_string_value (builder, temper_self_test_result_name (info->self_test));
      json_builder_set_member_name (builder, "self_test_reason");
      if (info->self_test_reason != NULL)
        json_builder_add_string_value (builder, info->self_test_reason);
      else
        json_builder_add_null_value (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "notes");
  json_builder_begin_array (builder);
  for (guint i = 0; i < notes->len; i++)
    json_builder_add_string_value (builder, notes->pdata[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

/* ---- --ops: what each backend computes, from the backends' own tables ---- */

static const TemperBackendKind matrix_kinds[] = {
  TEMPER_BACKEND_CPU, TEMPER_BACKEND_VULKAN, TEMPER_BACKEND_CUDA,
};

/* The weight types some backend of this build reads, in id order (NF4 last). */
static GArray *
matrix_weight_types (void)
{
  GArray *types = g_array_new (FALSE, FALSE, sizeof (int));

  for (int t = 0; t <= TEMPER_TYPE_NF4; t++)
    {
      gboolean any = FALSE;

      if (temper_type_name (t) == NULL)
        continue;
      for (guint op = 0; op < temper_backend_n_ops (); op++)
        for (gsize k = 0; k < G_N_ELEMENTS (matrix_kinds); k++)
          any |= temper_backend_op_reads_weight (op)
                 && temper_backend_kind_supports_op (matrix_kinds[k], op, t);
      if (any)
        g_array_append_val (types, t);
    }
  return types;
}

/* Whether @kind has @op for some type (for an op that reads no weight: F32). */
static gboolean
kind_has_op (TemperBackendKind kind, guint op)
{
  if (!temper_backend_op_reads_weight (op))
    return temper_backend_kind_supports_op (kind, op, TEMPER_TYPE_F32);
  for (int t = 0; t <= TEMPER_TYPE_NF4; t++)
    if (temper_type_name (t) != NULL && temper_backend_kind_supports_op (kind, op, t))
      return TRUE;
  return FALSE;
}

/* "all", "no", or which of the weight-reading ops @kind has read @type:
 * an op the backend lacks altogether shows in the op table, not here. */
static char *
weight_cell (TemperBackendKind kind, int type)
{
  g_autoptr(GString) ops = g_string_new (NULL);
  guint n = 0, n_yes = 0;

  if (!temper_backend_kind_is_built (kind))
    return g_strdup ("not built");
  for (guint op = 0; op < temper_backend_n_ops (); op++)
    if (temper_backend_op_reads_weight (op) && kind_has_op (kind, op))
      {
        n++;
        if (temper_backend_kind_supports_op (kind, op, type))
          {
            n_yes++;
            g_string_append_printf (ops, "%s%s", ops->len > 0 ? "," : "", temper_backend_op_name (op));
          }
      }
  return g_strdup (n_yes == n ? "all" : n_yes == 0 ? "no" : ops->str);
}

static void
print_ops_table (void)
{
  g_autoptr(GArray) types = matrix_weight_types ();

  print_cell ("OP", 31);
  for (gsize k = 0; k < G_N_ELEMENTS (matrix_kinds); k++)
    print_cell (temper_backend_kind_name (matrix_kinds[k]), 11);
  printf ("\n");
  for (guint op = 0; op < temper_backend_n_ops (); op++)
    {
      print_cell (temper_backend_op_name (op), 31);
      for (gsize k = 0; k < G_N_ELEMENTS (matrix_kinds); k++)
        print_cell (!temper_backend_kind_is_built (matrix_kinds[k]) ? "not built"
                    : kind_has_op (matrix_kinds[k], op) ? "yes" : "no", 11);
      printf ("\n");
    }
  printf ("\nWEIGHT TYPE (which of the backend's ops that read a weight take this type:");
  for (guint op = 0, n = 0; op < temper_backend_n_ops (); op++)
    if (temper_backend_op_reads_weight (op))
      printf ("%s %s", n++ > 0 ? "," : "", temper_backend_op_name (op));
  printf (")\n");
  print_cell ("", 31);
  for (gsize k = 0; k < G_N_ELEMENTS (matrix_kinds); k++)
    print_cell (temper_backend_kind_name (matrix_kinds[k]), 11);
  printf ("\n");
  for (guint i = 0; i < types->len; i++)
    {
      int type = g_array_index (types, int, i);

      print_cell (temper_type_name (type), 31);
      for (gsize k = 0; k < G_N_ELEMENTS (matrix_kinds); k++)
        {
          g_autofree char *cell = weight_cell (matrix_kinds[k], type);
          print_cell (cell, 11);
        }
      printf ("\n");
    }
}

/* {"backends": {"cpu": {"built": true, "ops": {"matmul": ["F32", …], "add": ["F32"]}}, …}} */
static void
print_ops_json (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GArray) types = matrix_weight_types ();
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "backends");
  json_builder_begin_object (builder);
  for (gsize k = 0; k < G_N_ELEMENTS (matrix_kinds); k++)
    {
      json_builder_set_member_name (builder, temper_backend_kind_name (matrix_kinds[k]));
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "built");
      json_builder_add_boolean_value (builder, temper_backend_kind_is_built (matrix_kinds[k]));
      json_builder_set_member_name (builder, "ops");
      json_builder_begin_object (builder);
      for (guint op = 0; op < temper_backend_n_ops (); op++)
        {
          json_builder_set_member_name (builder, temper_backend_op_name (op));
          json_builder_begin_array (builder);
          for (guint i = 0; i < types->len; i++)
            if (temper_backend_kind_supports_op (matrix_kinds[k], op, g_array_index (types, int, i)))
              json_builder_add_string_value (builder, temper_type_name (g_array_index (types, int, i)));
          json_builder_end_array (builder);
        }
      json_builder_end_object (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

int
temper_cli_devices (int argc, char **argv)
{
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) devices = NULL;
  gboolean as_json = FALSE, ops = FALSE;
  int exit_code;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON instead of a table"), NULL },
    { "ops", 0, 0, G_OPTION_ARG_NONE, &ops,
      N_("Print which operations and weight types each backend computes, instead of the devices"), NULL },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "devices", NULL,
                         N_("List the processors and graphics cards Temper can train on, best first.\n"
                         "BACKEND and INDEX name a device for the --device option of other commands."),
                         entries, &exit_code))
    return exit_code;
  if (argc != 1)
    return temper_cli_fail ("devices", TEMPER_CLI_EXIT_USAGE, _("takes no arguments, see --help"));

  if (ops)
    {
      if (as_json)
        print_ops_json ();
      else
        print_ops_table ();
      return TEMPER_CLI_EXIT_OK;
    }
  devices = temper_devices_list (notes);
  if (as_json)
    print_json (devices, notes);
  else
    print_table (devices, notes);
  return TEMPER_CLI_EXIT_OK;
}
