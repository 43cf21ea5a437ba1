/* SPDX-License-Identifier: MIT */
/* temper-metrics-private.h — character classes the metrics share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The characters Python's str.split() splits on, which sacrebleu uses. */
gboolean temper_metrics_is_python_space (gunichar c);
/* Han ideographs, Hiragana, Katakana and Hangul: scripts written without
 * spaces between words. */
gboolean temper_metrics_is_cjk (gunichar c);
/* Adds one to the count of @key in @counts (keys are owned by the table). */
void     temper_metrics_count (GHashTable *counts, char *key);
/* Sum over @answer's keys of min(answer count, reference count). */
guint64  temper_metrics_clipped_matches (GHashTable *answer, GHashTable *reference);

G_END_DECLS
