/* SPDX-License-Identifier: MIT */
/* temper-markdown.c — Markdown answers to Pango markup, escaped safely.
 *
 * Line by line: a fence (```) starts or ends a code block, "#" makes a
 * heading, "-", "*" or "+" a bullet; within a line, `code`, **strong**,
 * __strong__, *emphasis* and _emphasis_ become tags when their closing
 * marker is on the same line.  Tags open and close in the same call, so
 * they always nest; text between them goes through g_markup_escape_text().
 * Answers stream in, so an unclosed fence simply runs to the end. */
#include "config.h"

#include <string.h>

#include "temper-markdown.h"

/* Longer lines are shown as plain text: looking for closing markers is
 * quadratic in the worst case, and no answer needs emphasis in a line
 * this long. */
#define MAX_STYLED_LINE 4000
/* Deeper nesting is shown as written. */
#define MAX_DEPTH 6

static void
append_escaped (GString    *out,
                const char *text,
                gsize       len)
{
  g_autofree char *escaped = g_markup_escape_text (text, (gssize) len);

  g_string_append (out, escaped);
}

/* A letter or digit ends just before @p (bytes of a non-ASCII character
 * count as letters: Chinese text has no spaces between words). */
static gboolean
follows_word (const char *p,
              const char *start)
{
  return p > start && ((guchar) p[-1] >= 0x80 || g_ascii_isalnum (p[-1]));
}

/* The closing marker of @marker (one or two of the same character) opened
 * just before @from, before @end, or NULL. */
static const char *
find_closer (const char *from,
             const char *end,
             char        marker,
             gsize       width)
{
  for (const char *q = from; q + width <= end; q++)
    {
      if (q[0] != marker || (width == 2 && q[1] != marker))
        continue;
      /* Emphasis ends on text, not on a space: "2 * 3 * 4" is no italics. */
      if (q == from || g_ascii_isspace (q[-1]))
        continue;
      if (width == 1 && ((q + 1 < end && q[1] == marker) || q[-1] == marker))
        continue;
      /* "snake_case_names" are no emphasis. */
      if (marker == '_' && q + width < end && ((guchar) q[width] >= 0x80 || g_ascii_isalnum (q[width])))
        continue;
      return q;
    }
  return NULL;
}

static void
append_inline (GString    *out,
               const char *p,
               const char *end,
               int         depth)
{
  const char *start = p;
  const char *plain = p;

  while (p < end)
    {
      char c = *p;
      gsize width;
      const char *closer;
      const char *tag;

      if (c != '`' && c != '*' && c != '_')
        {
          p++;
          continue;
        }
      if (c == '`')
        {
          closer = memchr (p + 1, '`', (gsize) (end - p - 1));
          if (closer == NULL || closer == p + 1)
            {
              p++;
              continue;
            }
          append_escaped (out, plain, (gsize) (p - plain));
          g_string_append (out, "<tt>");
          append_escaped (out, p + 1, (gsize) (closer - p - 1));
          g_string_append (out, "</tt>");
          p = plain = closer + 1;
          continue;
        }

      width = p + 1 < end && p[1] == c ? 2 : 1;
      /* An opener is followed by text, and "_" inside a word is no opener. */
      if (depth >= MAX_DEPTH || p + width >= end || g_ascii_isspace (p[width]) ||
          (width == 1 && p[1] == c) || (c == '_' && follows_word (p, start)) ||
          (closer = find_closer (p + width + 1, end, c, width)) == NULL)
        {
          p += width;
          continue;
        }
      tag = width == 2 ? "b" : "i";
      append_escaped (out, plain, (gsize) (p - plain));
      g_string_append_printf (out, "<%s>", tag);
      append_inline (out, p + width, closer, depth + 1);
      g_string_append_printf (out, "</%s>", tag);
      p = plain = closer + width;
    }
  append_escaped (out, plain, (gsize) (p - plain));
}

static gboolean
is_fence (const char *line,
          const char *end)
{
  while (line < end && (*line == ' ' || *line == '\t'))
    line++;
  return end - line >= 3 && strncmp (line, "```", 3) == 0;
}

static void
append_line (GString    *out,
             const char *line,
             const char *end)
{
  const char *p = line;
  int level = 0;

  if (end - line > MAX_STYLED_LINE)
    {
      append_escaped (out, line, (gsize) (end - line));
      return;
    }

  while (p < end && *p == '#' && level < 7)
    {
      p++;
      level++;
    }
  if (level >= 1 && level <= 6 && p < end && *p == ' ')
    {
      g_string_append (out, "<b>");
      append_inline (out, p + 1, end, 1);
      g_string_append (out, "</b>");
      return;
    }

  p = line;
  while (p < end && *p == ' ')
    p++;
  if (end - p >= 2 && (*p == '-' || *p == '*' || *p == '+') && p[1] == ' ')
    {
      append_escaped (out, line, (gsize) (p - line));
      g_string_append (out, "• ");
      append_inline (out, p + 2, end, 0);
      return;
    }
  append_inline (out, line, end, 0);
}

char *
temper_markdown_to_pango (const char *text)
{
  GString *out = g_string_new (NULL);
  gboolean in_code = FALSE;
  const char *line = text != NULL ? text : "";

  while (*line != '\0')
    {
      const char *newline = strchr (line, '\n');
      const char *end = newline != NULL ? newline : line + strlen (line);

      if (is_fence (line, end))
        {
          /* The fence line itself (``` or ```python) is not shown. */
          g_string_append (out, in_code ? "</tt>" : "<tt>");
          in_code = !in_code;
          if (newline == NULL)
            break;
          line = newline + 1;
          continue;
        }
      if (in_code)
        append_escaped (out, line, (gsize) (end - line));
      else
        append_line (out, line, end);
      if (newline == NULL)
        break;
      g_string_append_c (out, '\n');
      line = newline + 1;
    }
  if (in_code)
    g_string_append (out, "</tt>");
  return g_string_free (out, FALSE);
}
