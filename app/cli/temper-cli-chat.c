/* SPDX-License-Identifier: MIT */
/* temper-cli chat MODEL — talk to a model: one answer with -p, or a
 * conversation on the terminal.  The answer alone goes to stdout; everything
 * else (loading, speed, prompts) goes to stderr, so answers can be piped. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/error.h"
#include "temper/backend-choice.h"
#include "temper/generate.h"
#include "temper/model.h"
#include "temper-cli.h"

typedef struct {
  GString *answer;
} Stream;

static gboolean
print_piece (const char *text, gsize len, gpointer user_data)
{
  Stream *s = user_data;

  fwrite (text, 1, len, stdout);
  fflush (stdout);
  g_string_append_len (s->answer, text, (gssize) len);
  return TRUE;
}

/* Renders @messages, generates and streams the answer; returns it, or NULL
 * with @error set (cancelled included). */
static char *
answer (temper_generator_t *gen, const temper_chat_template_t *tmpl,
        const TemperChatMessage *messages, gsize n, const TemperSamplingParams *params,
        GCancellable *cancellable, GError **error)
{
  TemperChatTokens tokens = { 0 };
  TemperGenerateResult result = { 0 };
  Stream stream = { g_string_new (NULL) };
  gboolean ok;

  if (!temper_chat_template_tokenize (tmpl, messages, n, TRUE, &tokens, error))
    {
      g_string_free (stream.answer, TRUE);
      return NULL;
    }
  ok = temper_generator_generate (gen, (const gint32 *) tokens.ids->data, tokens.ids->len,
                                  params, print_piece, &stream, cancellable, &result, error);
  temper_chat_tokens_clear (&tokens);
  printf ("\n");
  fflush (stdout);
  if (!ok)
    {
      g_string_free (stream.answer, TRUE);
      return NULL;
    }
  fprintf (stderr, _("[%d prompt tokens in %.2f s, %u answer tokens at %.1f tokens/s]\n"),
           result.n_prompt_tokens, result.prompt_seconds, result.tokens->len,
           result.generate_seconds > 0 ? result.tokens->len / result.generate_seconds : 0.0);
  temper_generate_result_clear (&result);
  return g_string_free (stream.answer, FALSE);
}

/* The sampling settings from the flags; a negative value leaves the
 * default. */
static void
set_sampling (TemperSamplingParams *params, double temperature, int top_k, double top_p,
              double repeat_penalty, int max_tokens, gint64 seed)
{
  temper_sampling_params_init (params);
  if (temperature >= 0)
    params->temperature = (float) temperature;
  if (top_k >= 0)
    params->top_k = top_k;
  if (top_p >= 0)
    params->top_p = (float) top_p;
  if (repeat_penalty >= 0)
    params->repeat_penalty = (float) repeat_penalty;
  else if (temperature == 0)
    /* Temperature 0 promises the single most likely answer, the one
     * llama.cpp and transformers give greedily: no penalty unless asked. */
    params->repeat_penalty = 1.0f;
  if (max_tokens >= 0)
    params->max_tokens = max_tokens;
  params->seed = (guint64) seed;
}

/* One line on stderr: the model, the device, the chat format. */
static void
say_what_runs (const temper_model_t *model, temper_generator_t *gen,
               const temper_chat_template_t *tmpl, gboolean with_adapter)
{
  g_autofree char *what_runs =
    g_strdup_printf (with_adapter ? _("%s with its adapter on %s, %s chat format")
                                  : _("%s on %s, %s chat format"),
                     temper_model_get_name (model), temper_generator_get_device (gen),
                     temper_chat_family_name (temper_chat_template_get_family (tmpl)));

  if (temper_chat_template_is_fallback (tmpl))
    fprintf (stderr, _("%s (the model's own format is unknown: answers may look odd)\n"), what_runs);
  else
    fprintf (stderr, "%s\n", what_runs);
}

/* The conversation on the terminal: a message a line, until end of input.
 * @messages holds the system message, if any. */
static int
converse (temper_generator_t *gen, const temper_chat_template_t *tmpl, GArray *messages,
          const TemperSamplingParams *params, GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  size_t line_size = 0;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

  fprintf (stderr, _("Type a message and press Enter; Ctrl+C stops an answer, Ctrl+D ends.\n"));
  for (;;)
    {
      TemperChatMessage m;
      char *reply;
      gsize len;
      ssize_t got;

      fprintf (stderr, "> ");
      fflush (stderr);
      /* A whole line however long: a pasted document is one message. */
      got = getline (&line, &line_size, stdin);
      if (got < 0)
        break;
      len = strlen (line);
      while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
      if (len == 0)
        continue;
      g_ptr_array_add (texts, g_strdup (line));
      m = (TemperChatMessage) { TEMPER_CHAT_ROLE_USER, texts->pdata[texts->len - 1] };
      g_array_append_val (messages, m);

      reply = answer (gen, tmpl, (const TemperChatMessage *) messages->data, messages->len,
                      params, cancellable, &error);
      if (reply == NULL)
        {
          if (!g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED))
            return temper_cli_error ("chat", error);
          /* A stopped answer is forgotten, and so is the question. */
          g_clear_error (&error);
          g_cancellable_reset (cancellable);
          g_array_set_size (messages, messages->len - 1);
          continue;
        }
      g_ptr_array_add (texts, reply);
      m = (TemperChatMessage) { TEMPER_CHAT_ROLE_ASSISTANT, reply };
      g_array_append_val (messages, m);
    }
  return TEMPER_CLI_EXIT_OK;
}

int
temper_cli_chat (int argc, char **argv)
{
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autofree char *adapter_path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GArray) messages = g_array_new (FALSE, FALSE, sizeof (TemperChatMessage));
  TemperSamplingParams params;
  TemperGeneratorOptions options = { 0, 0, FALSE };
  double temperature = -1, top_p = -1, repeat_penalty = -1;
  int top_k = -1, max_tokens = -1, threads = 0, ctx = 0, device = -1;
  g_autofree char *backend = NULL;
  TemperBackendKind backend_kind = TEMPER_BACKEND_CPU;
  gint64 seed = 0;
  gboolean exact = FALSE;
  g_autofree char *system = NULL;
  g_autofree char *prompt = NULL;
  int exit_code;
  const GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, N_("Answer this one message and exit"), "TEXT" },
    { "adapter", 0, 0, G_OPTION_ARG_FILENAME, &adapter_path, N_("Answer with this training run's adapter, a PEFT adapter folder or a GGUF LoRA file"), "RUN_OR_DIR" },
    { "system", 0, 0, G_OPTION_ARG_STRING, &system, N_("System message (default: the model's own)"), "TEXT" },
    { "temperature", 0, 0, G_OPTION_ARG_DOUBLE, &temperature, N_("Randomness; 0 always picks the most likely word (default 0.7)"), "T" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &top_k, N_("Pick among the K most likely tokens; 0 = all (default 40)"), "K" },
    { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, N_("Pick among the most likely tokens that make up P of the probability (default 0.95)"), "P" },
    { "repeat-penalty", 0, 0, G_OPTION_ARG_DOUBLE, &repeat_penalty, N_("Discourage repeating recent tokens; 1 = off (default 1.1, or 1 with --temperature 0)"), "R" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Random seed: the same seed gives the same answer (default 0)"), "N" },
    { "max-tokens", 0, 0, G_OPTION_ARG_INT, &max_tokens, N_("Longest answer in tokens (default 512)"), "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("CPU threads (default: one per core)"), "N" },
    { "context", 0, 0, G_OPTION_ARG_INT, &ctx, N_("Tokens of conversation to keep (default 4096)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, vulkan, cuda or auto (default cpu)"), "B" },
    { "device", 0, 0, G_OPTION_ARG_INT, &device, N_("Device number within the backend (default: its best)"), "N" },
    { "exact", 0, 0, G_OPTION_ARG_NONE, &exact, N_("Compute in full 32-bit precision on the CPU (slower; the answers the reference implementation gives)"), NULL },
    { NULL },
  };

  if (!temper_cli_parse (&argc, &argv, "chat", "MODEL",
                         N_("Chat with a model.  With -p, print one answer and exit; without, read your\n"
                         "messages line by line and keep the conversation (Ctrl+D to end)."),
                         entries, &exit_code))
    return exit_code;
  if (argc != 2)
    return temper_cli_fail ("chat", TEMPER_CLI_EXIT_USAGE,
                            _("expected one MODEL (a .gguf file or a model folder), see --help"));

  if (backend != NULL && !temper_backend_choice_parse (backend, &backend_kind, &error))
    return temper_cli_fail ("chat", TEMPER_CLI_EXIT_USAGE, _("--backend: %s"), error->message);
  if (top_p > 1)
    return temper_cli_fail ("chat", TEMPER_CLI_EXIT_USAGE, _("--top-p must be between 0 and 1"));
  set_sampling (&params, temperature, top_k, top_p, repeat_penalty, max_tokens, seed);
  options.n_threads = threads;
  options.n_ctx = ctx;
  options.exact = exact;

  model = temper_model_load (argv[1], NULL, &error);
  if (model == NULL && g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED))
    return temper_cli_fail ("chat", TEMPER_CLI_EXIT_FAILED, _("Temper cannot chat with this model. %s"),
                            error->message);
  if (model == NULL
      || (adapter_path != NULL && !temper_cli_hold_base_for_adapter (adapter_path, model, &error)))
    return temper_cli_error ("chat", error);
  gen = temper_generator_new_on (model, &options, backend_kind, device, &error);
  if (gen == NULL)
    return temper_cli_error ("chat", error);
  if (adapter_path != NULL)
    {
      adapter = temper_cli_load_adapter (adapter_path, model, &error);
      if (adapter == NULL || !temper_generator_set_adapter (gen, adapter, &error))
        return temper_cli_error ("chat", error);
    }
  tmpl = temper_chat_template_new (temper_model_get_chat_template (model),
                                   temper_model_get_tokenizer (model));
  say_what_runs (model, gen, tmpl, adapter != NULL);
  temper_cli_cancel_on_interrupt (cancellable);

  if (system != NULL)
    {
      TemperChatMessage m = { TEMPER_CHAT_ROLE_SYSTEM, system };
      g_array_append_val (messages, m);
    }

  if (prompt != NULL)
    {
      TemperChatMessage m = { TEMPER_CHAT_ROLE_USER, prompt };
      g_autofree char *reply = NULL;

      g_array_append_val (messages, m);
      reply = answer (gen, tmpl, (const TemperChatMessage *) messages->data, messages->len,
                      &params, cancellable, &error);
      if (reply == NULL)
        return temper_cli_error ("chat", error);
      return TEMPER_CLI_EXIT_OK;
    }

  return converse (gen, tmpl, messages, &params, cancellable);
}
