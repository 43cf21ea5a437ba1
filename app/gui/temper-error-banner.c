/* SPDX-License-Identifier: MIT */
/* temper-error-banner.c — a dismissible in-page error card. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-error-banner.h"

struct _TemperErrorBanner
{
  GtkWidget    parent_instance;

  GtkWidget   *box;
  GtkLabel    *title_label;
  GtkLabel    *message_label;
  GtkExpander *details_expander;
  GtkLabel    *details_label;
};

G_DEFINE_FINAL_TYPE (TemperErrorBanner, temper_error_banner, GTK_TYPE_WIDGET)

static void
dismiss_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  temper_error_banner_dismiss (TEMPER_ERROR_BANNER (widget));
}

static void
temper_error_banner_dispose (GObject *object)
{
  TemperErrorBanner *self = TEMPER_ERROR_BANNER (object);

  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (temper_error_banner_parent_class)->dispose (object);
}

static void
temper_error_banner_class_init (TemperErrorBannerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_error_banner_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-error-banner.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperErrorBanner, box);
  gtk_widget_class_bind_template_child (widget_class, TemperErrorBanner, title_label);
  gtk_widget_class_bind_template_child (widget_class, TemperErrorBanner, message_label);
  gtk_widget_class_bind_template_child (widget_class, TemperErrorBanner, details_expander);
  gtk_widget_class_bind_template_child (widget_class, TemperErrorBanner, details_label);
  gtk_widget_class_install_action (widget_class, "banner.dismiss", NULL, dismiss_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_ALERT);
}

static void
temper_error_banner_init (TemperErrorBanner *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
temper_error_banner_show (TemperErrorBanner *self,
                          const char        *title,
                          const GError      *error,
                          const char        *path)
{
  g_autoptr(GString) details = g_string_new (NULL);

  g_return_if_fail (TEMPER_IS_ERROR_BANNER (self));
  g_return_if_fail (title != NULL);
  g_return_if_fail (error != NULL);

  if (path != NULL)
    /* Translators: %s is a file or folder path */
    g_string_append_printf (details, _("File: %s"), path);
  if (details->len > 0)
    g_string_append_c (details, '\n');
  /* Translators: the first %s is an error domain such as "temper-error", %d its code */
  g_string_append_printf (details, _("Error: %s, code %d"), g_quark_to_string (error->domain), error->code);

  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->message_label, error->message);
  gtk_label_set_text (self->details_label, details->str);
  gtk_expander_set_expanded (self->details_expander, FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, error->message,
                                  -1);
  gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
}

void
temper_error_banner_dismiss (TemperErrorBanner *self)
{
  g_return_if_fail (TEMPER_IS_ERROR_BANNER (self));
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

const char *
temper_error_banner_get_title (TemperErrorBanner *self)
{
  g_return_val_if_fail (TEMPER_IS_ERROR_BANNER (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self)) ? gtk_label_get_text (self->title_label) : NULL;
}
