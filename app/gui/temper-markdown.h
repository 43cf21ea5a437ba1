/* SPDX-License-Identifier: MIT */
/* temper-markdown.h — model answers as people read them.
 *
 * Models write Markdown: **bold**, *italics*, `code`, fenced code blocks,
 * "# headings" and "- lists".  Every place the app shows an answer shows it
 * through this one converter, so an answer never reads as bold in one place
 * and as raw asterisks in another.  The result is Pango markup in which
 * every character of the answer is escaped; a marker without its partner
 * stays as written. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A new string of Pango markup for @text (UTF-8; NULL gives ""). */
char *temper_markdown_to_pango (const char *text);

G_END_DECLS
