/* SPDX-License-Identifier: MIT */
/* temper-error-banner.h — an engine error shown inside a page: what went
 * wrong in plain words, with the technical detail behind an expander. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TEMPER_TYPE_ERROR_BANNER (temper_error_banner_get_type ())
G_DECLARE_FINAL_TYPE (TemperErrorBanner, temper_error_banner, TEMPER, ERROR_BANNER, GtkWidget)

/* @title says what failed ("Temper could not open this model"); the error's
 * message (written by the engine for people) follows; @path, when not NULL,
 * goes into the technical details with the error's domain and code. */
void        temper_error_banner_show      (TemperErrorBanner *self,
                                           const char        *title,
                                           const GError      *error,
                                           const char        *path);
void        temper_error_banner_dismiss   (TemperErrorBanner *self);
const char *temper_error_banner_get_title (TemperErrorBanner *self);

G_END_DECLS
