/* SPDX-License-Identifier: MIT */
/* temper-page.c — the "complete" property shared by every step. */
#include "config.h"

#include "temper-page.h"

G_DEFINE_INTERFACE (TemperPage, temper_page, GTK_TYPE_WIDGET)

static void
temper_page_default_init (TemperPageInterface *iface)
{
  g_object_interface_install_property (iface,
      g_param_spec_boolean ("complete", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
}

gboolean
temper_page_get_complete (TemperPage *self)
{
  gboolean complete = FALSE;

  g_return_val_if_fail (TEMPER_IS_PAGE (self), FALSE);

  g_object_get (self, "complete", &complete, NULL);
  return complete;
}
