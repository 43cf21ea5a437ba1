/* SPDX-License-Identifier: MIT */
/* bench-tokenizer [MODEL.gguf] [MEGABYTES] — how fast the tokenizer loads and
 * encodes.  Prints figures; it does not pass or fail. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <json-glib/json-glib.h>

#include "temper/gguf.h"
#include "temper/tokenizer.h"

int
main (int argc, char **argv)
{
  g_autofree char *default_model = g_build_filename (TEMPER_SOURCE_DIR, "data", "models",
                                                     "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autofree char *corpus_path = g_build_filename (TEMPER_SOURCE_DIR, "tests", "fixtures",
                                                   "tokenizer", "corpus.json", NULL);
  const char *model = argc > 1 ? argv[1] : default_model;
  double megabytes = argc > 2 ? atof (argv[2]) : 1.0;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) unit = g_string_new (NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autoptr(GArray) ids = NULL;
  g_autofree char *back = NULL;
  JsonArray *corpus;
  double load_s, encode_s, decode_s;

  gguf = temper_gguf_open (model, &error);
  if (gguf != NULL)
    tok = temper_tokenizer_new_from_gguf (gguf, &error);
  if (tok == NULL)
    {
      fprintf (stderr, "bench-tokenizer: %s\n", error->message);
      return 1;
    }
  load_s = g_timer_elapsed (timer, NULL);

  if (!json_parser_load_from_file (parser, corpus_path, &error))
    {
      fprintf (stderr, "bench-tokenizer: %s\n", error->message);
      return 1;
    }
  corpus = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (corpus); i++)
    {
      g_string_append (unit, json_array_get_string_element (corpus, i));
      g_string_append_c (unit, '\n');
    }
  while (text->len < megabytes * 1e6)
    g_string_append_len (text, unit->str, (gssize) unit->len);

  g_timer_start (timer);
  ids = temper_tokenizer_encode (tok, text->str, (gssize) text->len, TRUE);
  encode_s = g_timer_elapsed (timer, NULL);
  g_timer_start (timer);
  back = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);
  decode_s = g_timer_elapsed (timer, NULL);

  printf ("model:   %s (%d tokens)\n", model, temper_tokenizer_get_n_vocab (tok));
  printf ("load:    %.1f ms\n", load_s * 1e3);
  printf ("encode:  %.2f MB -> %u tokens in %.3f s (%.2f MB/s)\n",
          text->len / 1e6, ids->len, encode_s, text->len / 1e6 / encode_s);
  printf ("decode:  %.3f s, round trip %s\n", decode_s,
          g_strcmp0 (back, text->str) == 0 ? "exact"
            : "differs (the tokenizer normalizes text, e.g. NFC)");
  return 0;
}
