/* SPDX-License-Identifier: MIT */
/* UTF-8 and code point classes for the tokenizer. */
#include "config.h"

#include "temper-unicode-private.h"

static const TemperUnicodeRange *
find_range (const TemperUnicodeRange *ranges, gsize n, guint32 cp)
{
  gsize lo = 0, hi = n;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      if (cp < ranges[mid].lo)
        hi = mid;
      else if (cp > ranges[mid].hi)
        lo = mid + 1;
      else
        return &ranges[mid];
    }
  return NULL;
}

TemperUnicodeClass
temper_unicode_class (guint32 cp)
{
  const TemperUnicodeRange *r;

  /* ASCII dominates real text: answer it without the search. */
  if (cp < 0x80)
    {
      if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
        return TEMPER_UCLASS_LETTER;
      if (cp >= '0' && cp <= '9')
        return TEMPER_UCLASS_NUMBER;
      if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D))
        return TEMPER_UCLASS_SPACE;
      return TEMPER_UCLASS_OTHER;
    }
  r = find_range (temper_unicode_ranges, temper_unicode_ranges_len, cp);
  return r != NULL ? (TemperUnicodeClass) r->uclass : TEMPER_UCLASS_OTHER;
}

gboolean
temper_unicode_is_word (guint32 cp)
{
  return find_range (temper_unicode_word_ranges, temper_unicode_word_ranges_len, cp) != NULL;
}

/* Length of the well-formed UTF-8 sequence at @s, 0 if the first byte does not
 * start one.  Follows Table 3-7 of the Unicode standard (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
static gsize
utf8_valid_length (const guchar *s, gsize n, gsize *max_prefix)
{
  guchar b0 = s[0];
  gsize need;
  guchar lo2 = 0x80, hi2 = 0xBF;

  *max_prefix = 1;
  if (b0 < 0x80)
    return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    need = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF)
    {
      need = 3;
      if (b0 == 0xE0)
        lo2 = 0xA0;
      else if (b0 == 0xED)
        hi2 = 0x9F;
    }
  else if (b0 >= 0xF0 && b0 <= 0xF4)
    {
      need = 4;
      if (b0 == 0xF0)
        lo2 = 0x90;
      else if (b0 == 0xF4)
        hi2 = 0x8F;
    }
  else
    return 0;

  for (gsize i = 1; i < need; i++)
    {
      guchar lo = i == 1 ? lo2 : 0x80, hi = i == 1 ? hi2 : 0xBF;
      if (i >= n || s[i] < lo || s[i] > hi)
        return 0;
      *max_prefix = i + 1;
    }
  return need;
}

gsize
temper_utf8_decode (const guchar *s, gsize n, guint32 *cp)
{
  gsize prefix;
  gsize len = utf8_valid_length (s, n, &prefix);

  switch (len)
    {
    case 1:
      *cp = s[0];
      break;
    case 2:
      *cp = ((guint32) (s[0] & 0x1F) << 6) | (s[1] & 0x3F);
      break;
    case 3:
      *cp = ((guint32) (s[0] & 0x0F) << 12) | ((guint32) (s[1] & 0x3F) << 6) | (s[2] & 0x3F);
      break;
    case 4:
      *cp = ((guint32) (s[0] & 0x07) << 18) | ((guint32) (s[1] & 0x3F) << 12) |
            ((guint32) (s[2] & 0x3F) << 6) | (s[3] & 0x3F);
      break;
    default:
      *cp = TEMPER_UNICODE_INVALID_BASE + s[0];
      return 1;
    }
  return len;
}

gsize
temper_utf8_encode (guint32 cp, char out[4])
{
  if (cp < 0x80)
    {
      out[0] = (char) cp;
      return 1;
    }
  if (cp < 0x800)
    {
      out[0] = (char) (0xC0 | (cp >> 6));
      out[1] = (char) (0x80 | (cp & 0x3F));
      return 2;
    }
  if (cp < 0x10000)
    {
      out[0] = (char) (0xE0 | (cp >> 12));
      out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
      out[2] = (char) (0x80 | (cp & 0x3F));
      return 3;
    }
  out[0] = (char) (0xF0 | (cp >> 18));
  out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char) (0x80 | (cp & 0x3F));
  return 4;
}

void
temper_utf8_append_lossy (GString *out, const char *bytes, gsize len)
{
  const guchar *s = (const guchar *) bytes;
  gsize i = 0;

  while (i < len)
    {
      gsize prefix;
      gsize n = utf8_valid_length (s + i, len - i, &prefix);

      if (n > 0)
        {
          g_string_append_len (out, bytes + i, (gssize) n);
          i += n;
        }
      else
        {
          /* A truncated but otherwise valid prefix counts as one error. */
          g_string_append (out, "\xEF\xBF\xBD");
          i += prefix;
        }
    }
}
