/* SPDX-License-Identifier: MIT */
/* temper-cli tokenize MODEL TEXT — the token ids a model sees for a text. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <string.h>

#include "temper/model.h"
#include "temper/tokenizer.h"
#include "temper-cli.h"

/* A token's bytes as one line of readable text: UTF-8 as is, control
 * characters and stray bytes (a token may hold part of a character) as
 * escapes. */
static void
print_escaped (const char *bytes, gsize len)
{
  gsize i = 0;

  while (i < len)
    {
      guchar c = (guchar) bytes[i];
      const char *end;

      if (c == '\n')
        fputs ("\\n", stdout);
      else if (c == '\t')
        fputs ("\\t", stdout);
      else if (c == '\r')
        fputs ("\\r", stdout);
      else if (c == '\\')
        fputs ("\\\\", stdout);
      else if (c < 0x20 || c == 0x7F)
        printf ("\\x%02X", c);
      else if (c < 0x80)
        putchar (c);
      else
        {
          /* One whole valid character, or the escape of one byte. */
          gsize n = (c >= 0xF0) ? 4 : (c >= 0xE0) ? 3 : (c >= 0xC0) ? 2 : 1;
          if (n > 1 && i + n <= len && g_utf8_validate (bytes + i, (gssize) n, &end))
            fwrite (bytes + i, 1, n, stdout);
          else
            {
              printf ("\\x%02X", c);
              n = 1;
            }
          i += n;
          continue;
        }
      i++;
    }
}

static char *
read_stdin (void)
{
  GString *text = g_string_new (NULL);
  char chunk[65536];
  gsize n;

  while ((n = fread (chunk, 1, sizeof chunk, stdin)) > 0)
    g_string_append_len (text, chunk, (gssize) n);
  return g_string_free (text, FALSE);
}

int
temper_cli_tokenize (int argc, char **argv)
{
  gboolean json = FALSE, no_special = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print only a JSON array of the ids"), NULL },
    { "no-special", 0, 0, G_OPTION_ARG_NONE, &no_special,
      N_("Treat special-token strings such as <|im_start|> as plain text"), NULL },
    { NULL },
  };
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autofree char *input = NULL;
  const char *text;
  temper_tokenizer_t *tokenizer;
  int exit_code;

  if (!temper_cli_parse (&argc, &argv, "tokenize", "MODEL TEXT",
                         N_("Show the tokens a model's tokenizer makes of TEXT: one line per token, "
                         "its id and its text.\n"
                         "MODEL is a .gguf file or a Hugging Face folder; TEXT “-” reads standard input."),
                         entries, &exit_code))
    return exit_code;
  if (argc != 3)
    return temper_cli_fail ("tokenize", TEMPER_CLI_EXIT_USAGE,
                            _("expected a MODEL and a TEXT, see --help"));

  text = argv[2];
  if (strcmp (text, "-") == 0)
    {
      input = read_stdin ();
      text = input;
    }

  model = temper_model_load (argv[1], NULL, &error);
  if (model == NULL)
    return temper_cli_error ("tokenize", error);
  tokenizer = temper_model_get_tokenizer (model);
  ids = temper_tokenizer_encode (tokenizer, text, -1, !no_special);

  if (json)
    {
      putchar ('[');
      for (guint i = 0; i < ids->len; i++)
        printf ("%s%d", i > 0 ? ", " : "", g_array_index (ids, gint32, i));
      puts ("]");
      return TEMPER_CLI_EXIT_OK;
    }
  for (guint i = 0; i < ids->len; i++)
    {
      int id = g_array_index (ids, gint32, i);
      gsize len;
      const char *bytes = temper_tokenizer_token_bytes (tokenizer, id, &len);

      printf ("%d\t", id);
      print_escaped (bytes, len);
      putchar ('\n');
    }
  return TEMPER_CLI_EXIT_OK;
}
