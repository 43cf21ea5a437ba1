/* SPDX-License-Identifier: MIT */
/* temper-format.h — numbers put in words for people. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "less than a minute", "about 12 minutes", "about 3 hours", translated. */
char *temper_format_duration (double seconds);

G_END_DECLS
