/* SPDX-License-Identifier: MIT */
/* test-markdown.c — the one Markdown converter every answer goes through.
 *
 * The reference is Pango's own parser: whatever the converter makes must
 * parse, and the text Pango reads out of it must be the answer with only
 * the Markdown markers taken away (written out by hand below).  Hostile
 * answers — unbalanced markers, "<", "&", very long lines — must come out
 * as text, never as markup. */
#include "config.h"

#include <string.h>

#include <pango/pango.h>

#include "temper-markdown.h"

/* The plain text Pango reads from the markup; fails the test when the
 * markup does not parse.  @attrs receives the attributes when non-NULL. */
static char *
parse (const char     *markup,
       PangoAttrList **attrs)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  if (!pango_parse_markup (markup, -1, 0, attrs, &text, NULL, &error))
    g_error ("not valid Pango markup (%s): %s", error->message, markup);
  return text;
}

/* Whether the characters [@start, @start + strlen (@word)) of @text carry
 * an attribute of @type (e.g. PANGO_ATTR_WEIGHT) over all of them. */
static gboolean
styled (PangoAttrList  *attrs,
        const char     *text,
        const char     *word,
        PangoAttrType   type)
{
  const char *at = strstr (text, word);
  guint start, end;
  g_autoptr(GSList) list = NULL;
  gboolean found = FALSE;

  g_assert_nonnull (at);
  start = (guint) (at - text);
  end = start + (guint) strlen (word);
  list = pango_attr_list_get_attributes (attrs);
  for (GSList *l = list; l != NULL; l = l->next)
    {
      PangoAttribute *a = l->data;

      if (a->klass->type == type && a->start_index <= start && a->end_index >= end)
        found = TRUE;
    }
  g_slist_free_full (g_steal_pointer (&list), (GDestroyNotify) pango_attribute_destroy);
  return found;
}

typedef struct {
  const char *markdown;
  const char *shown;  /* what a person reads */
} Case;

static void
test_text (void)
{
  static const Case cases[] = {
    { "plain words", "plain words" },
    { "**bold** and *italic*", "bold and italic" },
    { "__bold__ and _italic_", "bold and italic" },
    { "use `x < 3 && y > 2` here", "use x < 3 && y > 2 here" },
    { "# Title\ntext", "Title\ntext" },
    { "- one\n- two\n* three\n+ four", "• one\n• two\n• three\n• four" },
    { "1. first\n2. second", "1. first\n2. second" },
    { "```python\nprint(\"*not italic*\")\n```\nafter", "print(\"*not italic*\")\nafter" },
    /* Hostile or unbalanced input stays as written. */
    { "**unclosed bold", "**unclosed bold" },
    { "*unclosed", "*unclosed" },
    { "2 * 3 * 4 = 24", "2 * 3 * 4 = 24" },
    { "snake_case_name and __init__ly", "snake_case_name and __init__ly" },
    { "a ` lone backtick", "a ` lone backtick" },
    { "<b>not bold</b> & <script>", "<b>not bold</b> & <script>" },
    { "**<i>&amp;</i>**", "<i>&amp;</i>" },
    { "&lt; stays &lt;", "&lt; stays &lt;" },
    { "中文**加粗**和*斜体*", "中文加粗和斜体" },
    { "```\nnever closed *x*", "never closed *x*" },
    { "***", "***" },
    { "**", "**" },
    { "* ", "• " },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *markup = temper_markdown_to_pango (cases[i].markdown);
      g_autofree char *text = parse (markup, NULL);

      g_test_message ("%s → %s", cases[i].markdown, markup);
      g_assert_cmpstr (text, ==, cases[i].shown);
    }
}

static void
test_styles (void)
{
  g_autofree char *markup = temper_markdown_to_pango ("The **capital** is *Paris*, see `code`.\n# Heading");
  PangoAttrList *attrs = NULL;
  g_autofree char *text = parse (markup, &attrs);

  g_assert_true (styled (attrs, text, "capital", PANGO_ATTR_WEIGHT));
  g_assert_true (styled (attrs, text, "Paris", PANGO_ATTR_STYLE));
  g_assert_true (styled (attrs, text, "code", PANGO_ATTR_FAMILY));
  g_assert_true (styled (attrs, text, "Heading", PANGO_ATTR_WEIGHT));
  g_assert_false (styled (attrs, text, "The", PANGO_ATTR_WEIGHT));
  g_assert_false (styled (attrs, text, "is", PANGO_ATTR_STYLE));
  pango_attr_list_unref (attrs);
}

/* Long lines of markers without partners, and deep nesting: valid markup,
 * all the text, and quickly (a quadratic scan of 200,000 characters would
 * take minutes). */
static void
test_long_lines (void)
{
  GString *hostile = g_string_new (NULL);
  g_autofree char *markup = NULL;
  g_autofree char *text = NULL;
  gint64 started = g_get_monotonic_time ();

  for (guint i = 0; i < 40000; i++)
    g_string_append (hostile, "*a _b ");
  markup = temper_markdown_to_pango (hostile->str);
  text = parse (markup, NULL);
  g_assert_cmpstr (text, ==, hostile->str);

  g_string_truncate (hostile, 0);
  for (guint i = 0; i < 300; i++)
    g_string_append (hostile, "*x **y ");
  for (guint i = 0; i < 300; i++)
    g_string_append (hostile, "y** x* ");
  g_free (markup);
  g_free (text);
  markup = temper_markdown_to_pango (hostile->str);
  text = parse (markup, NULL);
  g_assert_cmpuint (strlen (text), <=, hostile->len);
  g_assert_true (g_get_monotonic_time () - started < 5 * G_USEC_PER_SEC);
  g_string_free (hostile, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/markdown/text", test_text);
  g_test_add_func ("/markdown/styles", test_styles);
  g_test_add_func ("/markdown/long-lines", test_long_lines);
  return g_test_run ();
}
