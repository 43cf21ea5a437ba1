/* SPDX-License-Identifier: MIT */
/* temper-settings-fields.h — the Settings page's Advanced fields: one per
 * member of TemperTrainSettings, the widgets that show them, and which of the
 * automatic settings' reasons covers each. */
#pragma once

#include <adwaita.h>

#include "temper/train.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_FIELD_INT,
  TEMPER_FIELD_INT64,
  TEMPER_FIELD_UINT64,
  TEMPER_FIELD_FLOAT,
  TEMPER_FIELD_DOUBLE,
  TEMPER_FIELD_BOOL,
  TEMPER_FIELD_TARGETS,
  TEMPER_FIELD_SCHEDULE,
  TEMPER_FIELD_BASE_WEIGHTS,   /* a switch: on holds the base as NF4 */
  TEMPER_FIELD_FAST_PRODUCTS,  /* a switch: on clears "exact" (bfloat16 products) */
} TemperSettingsFieldKind;

typedef struct {
  const char *name;       /* widget name, for tests and the settings file */
  const char *title;      /* N_() */
  const char *subtitle;   /* N_() */
  TemperSettingsFieldKind kind;
  gsize       offset;     /* in TemperTrainSettings */
  double      min, max, step;
  /* Not used when the run checks on a file of its own (temper-train.c
   * splits nothing then): shown unchangeable, with a note saying so. */
  gboolean    unused_with_check_file;
} TemperSettingsField;

#define TEMPER_SETTINGS_N_FIELDS 28

extern const TemperSettingsField temper_settings_fields[TEMPER_SETTINGS_N_FIELDS];

/* The TemperTrainWhy that covers field @i; -1 for the fields the automatic
 * settings leave at their defaults. */
int      temper_settings_field_why      (guint i);
/* Bytes the field's member takes in TemperTrainSettings. */
gsize    temper_settings_field_size     (TemperSettingsFieldKind kind);
/* A number field's text: "%g", and a decimal comma read too. */
gboolean temper_settings_spin_output_cb (GtkSpinButton *spin);
int      temper_settings_spin_input_cb  (GtkSpinButton *spin, double *value);
/* @widgets: one per field, as the page made them (spin button, switch,
 * entry or combo row by the field's kind). */
void     temper_settings_fields_read    (GtkWidget *const *widgets, TemperTrainSettings *settings);
void     temper_settings_fields_write   (GtkWidget *const *widgets, const TemperTrainSettings *settings);

G_END_DECLS
