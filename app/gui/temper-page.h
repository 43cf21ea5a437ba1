/* SPDX-License-Identifier: MIT */
/* temper-page.h — one step of the user's path through the window.
 *
 * A page says, through its "complete" property, whether the person has done
 * what the step needs (chosen a model, opened a usable dataset, …); the
 * window enables the way forward from that alone, so new steps slot in
 * without the window knowing their insides.  A page may also install a
 * "page.open" action, which the window's Ctrl+O forwards to. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TEMPER_TYPE_PAGE (temper_page_get_type ())
G_DECLARE_INTERFACE (TemperPage, temper_page, TEMPER, PAGE, GtkWidget)

struct _TemperPageInterface
{
  GTypeInterface parent_iface;
};

gboolean temper_page_get_complete (TemperPage *self);

G_END_DECLS
