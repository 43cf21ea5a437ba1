/* SPDX-License-Identifier: MIT */
/* temper-dataset-labels.c — the words the Dataset page shows for a
 * dataset's format, a problem's kind, a message's speaker and a record's
 * place in its file. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-dataset-labels.h"

const char *
temper_dataset_page_format_label (TemperDatasetFormat format)
{
  switch (format)
    {
    case TEMPER_DATASET_FORMAT_ALPACA:             return _("Alpaca: instruction, input and output");
    case TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT: return _("Instruction and output");
    case TEMPER_DATASET_FORMAT_PROMPT_RESPONSE:    return _("Prompt and response");
    case TEMPER_DATASET_FORMAT_MESSAGES:           return _("Chat messages");
    case TEMPER_DATASET_FORMAT_SHAREGPT:           return _("ShareGPT conversations");
    case TEMPER_DATASET_FORMAT_TEXT:               return _("Plain text");
    case TEMPER_DATASET_FORMAT_AUTO:
    default:                                       return _("Unknown");
    }
}

const char *
temper_dataset_page_problem_label (TemperDatasetProblemKind kind)
{
  switch (kind)
    {
    case TEMPER_DATASET_PROBLEM_NOT_JSON:       return _("Not valid JSON");
    case TEMPER_DATASET_PROBLEM_NOT_OBJECT:     return _("Not a record");
    case TEMPER_DATASET_PROBLEM_INVALID_UTF8:   return _("Not readable text");
    case TEMPER_DATASET_PROBLEM_MISSING_FIELD:  return _("Missing field");
    case TEMPER_DATASET_PROBLEM_WRONG_TYPE:     return _("Wrong kind of value");
    case TEMPER_DATASET_PROBLEM_UNKNOWN_ROLE:   return _("Unknown speaker");
    case TEMPER_DATASET_PROBLEM_EMPTY_ANSWER:   return _("Empty answer");
    case TEMPER_DATASET_PROBLEM_OTHER_FORMAT:   return _("Different format");
    case TEMPER_DATASET_PROBLEM_DUPLICATE:      return _("Duplicate");
    case TEMPER_DATASET_PROBLEM_TOO_LARGE:      return _("Too large");
    case TEMPER_DATASET_PROBLEM_NO_ANSWER_LEFT: return _("Answer too far in");
    default:                                    return _("Problem");
    }
}

const char *
temper_dataset_page_role_label (TemperChatRole role)
{
  switch (role)
    {
    case TEMPER_CHAT_ROLE_SYSTEM:    return _("Instructions");
    case TEMPER_CHAT_ROLE_USER:      return _("Question");
    case TEMPER_CHAT_ROLE_ASSISTANT: return _("Answer");
    default:                         return "";
    }
}

char *
temper_dataset_page_describe_place (guint64 line,
                gint64  item)
{
  if (item >= 0)
    /* Translators: where a record is in a JSON array file: its item number and line */
    return g_strdup_printf (_("Item %lld (line %llu)"), (long long) item + 1, (unsigned long long) line);
  /* Translators: where a record is in a JSONL file */
  return g_strdup_printf (_("Line %llu"), (unsigned long long) line);
}
