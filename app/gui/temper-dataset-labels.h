/* SPDX-License-Identifier: MIT */
/* temper-dataset-labels.h — the Dataset page's words for what the engine
 * reports about a dataset (translated). */
#pragma once

#include "temper/chat.h"
#include "temper/dataset.h"

G_BEGIN_DECLS

const char *temper_dataset_page_format_label   (TemperDatasetFormat format);
const char *temper_dataset_page_problem_label  (TemperDatasetProblemKind kind);
const char *temper_dataset_page_role_label     (TemperChatRole role);
/* Title-case counterparts of the engine's in-sentence words (temper/dataset.h),
 * for row titles.  "Item 3 (line 7)" in a JSON array file, "Line 7" in a
 * JSONL file (a new string). */
char       *temper_dataset_page_describe_place (guint64 line, gint64 item);

G_END_DECLS
