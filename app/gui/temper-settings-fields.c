/* SPDX-License-Identifier: MIT */
/* temper-settings-fields.c — the Settings page's Advanced fields: their
 * table, and reading and writing TemperTrainSettings through their widgets. */
#include "config.h"

#include <math.h>
#include <stddef.h>

#include <glib/gi18n.h>

#include "temper-settings-fields.h"

#define OFF(member) offsetof (TemperTrainSettings, member)

const TemperSettingsField temper_settings_fields[] = {
  { "lora-rank", N_("LoRA rank"), N_("Size of the adapter: a higher rank can learn more and needs more memory"),
    TEMPER_FIELD_INT, OFF (lora.rank), 1, 256, 1 },
  { "lora-alpha", N_("LoRA alpha"), N_("Strength of the adapter's changes; usually twice the rank"),
    TEMPER_FIELD_FLOAT, OFF (lora.alpha), 0.5, 1024, 1 },
  { "lora-dropout", N_("LoRA dropout"), N_("Share of the adapter's input hidden at random, so it does not learn the examples by heart"),
    TEMPER_FIELD_FLOAT, OFF (lora.dropout), 0, 0.9, 0.01 },
  { "lora-rslora", N_("Rank-stabilized scaling"), N_("Scale by alpha divided by the square root of the rank (rsLoRA), which suits high ranks"),
    TEMPER_FIELD_BOOL, OFF (lora.use_rslora), 0, 1, 1 },
  { "lora-targets", N_("Layers to adapt"), N_("“attention”, “all-linear”, or a list of q, k, v, o, gate, up, down"),
    TEMPER_FIELD_TARGETS, OFF (lora.targets), 0, 0, 0 },
  { "learning-rate", N_("Learning rate"), N_("How big each step of learning is; too high and the loss jumps about"),
    TEMPER_FIELD_DOUBLE, OFF (learning_rate), 1e-7, 1e-1, 1e-5 },
  { "schedule", N_("Learning rate schedule"), N_("How the learning rate changes over the run after the warm-up"),
    TEMPER_FIELD_SCHEDULE, OFF (schedule), 0, 0, 0 },
  { "warmup-steps", N_("Warm-up steps"), N_("Steps over which the learning rate rises from zero"),
    TEMPER_FIELD_INT64, OFF (warmup_steps), 0, 100000, 1 },
  { "beta1", N_("Adam beta 1"), N_("Memory of past gradients"),
    TEMPER_FIELD_DOUBLE, OFF (beta1), 0, 0.9999, 0.001 },
  { "beta2", N_("Adam beta 2"), N_("Memory of past squared gradients"),
    TEMPER_FIELD_DOUBLE, OFF (beta2), 0, 0.99999, 0.0001 },
  { "eps", N_("Adam epsilon"), N_("Keeps the optimizer from dividing by zero"),
    TEMPER_FIELD_DOUBLE, OFF (eps), 1e-12, 1e-3, 1e-9 },
  { "weight-decay", N_("Weight decay"), N_("Pulls the adapter's weights towards zero a little at each step"),
    TEMPER_FIELD_DOUBLE, OFF (weight_decay), 0, 1, 0.01 },
  { "max-grad-norm", N_("Gradient clipping"), N_("Largest gradient norm allowed; 0 turns clipping off"),
    TEMPER_FIELD_DOUBLE, OFF (max_grad_norm), 0, 100, 0.1 },
  { "epochs", N_("Passes over the examples"), N_("Epochs; used when the step limit is 0"),
    TEMPER_FIELD_INT, OFF (epochs), 1, 100, 1 },
  { "max-steps", N_("Step limit"), N_("Stop after this many steps; 0 runs all the passes"),
    TEMPER_FIELD_INT64, OFF (max_steps), 0, 10000000, 1 },
  { "micro-batch", N_("Examples at once"), N_("Micro-batch: more is faster per example and needs more memory"),
    TEMPER_FIELD_INT, OFF (micro_batch), 1, 64, 1 },
  { "grad-accum", N_("Examples per step"), N_("Micro-batches added up before each step (gradient accumulation)"),
    TEMPER_FIELD_INT, OFF (grad_accum), 1, 256, 1 },
  { "max-length", N_("Longest example"), N_("Tokens per example; longer examples are cut"),
    TEMPER_FIELD_INT, OFF (max_length), 16, 32768, 16 },
  { "seed", N_("Random seed"), N_("The same seed gives the same run"),
    TEMPER_FIELD_UINT64, OFF (seed), 0, 4294967295.0, 1 },
  { "eval-every", N_("Check every"), N_("Steps between measurements on the validation examples; 0 only at the end"),
    TEMPER_FIELD_INT64, OFF (eval_every), 0, 1000000, 1 },
  { "checkpoint-every", N_("Save every"), N_("Steps between checkpoints; 0 only at the end"),
    TEMPER_FIELD_INT64, OFF (checkpoint_every), 0, 1000000, 1 },
  { "patience", N_("Patience"), N_("Stop early after this many checks without improvement; 0 never stops early"),
    TEMPER_FIELD_INT, OFF (patience), 0, 1000, 1 },
  { "recompute", N_("Save memory"), N_("Recompute activations in the backward pass: less memory, about a third slower"),
    TEMPER_FIELD_BOOL, OFF (recompute), 0, 1, 1 },
  { "fast-products", N_("Faster training (bfloat16 products)"), N_("Multiplies by the model's layers in 16-bit numbers when working out the changes, where the processor can: faster, a little less exact"),
    TEMPER_FIELD_FAST_PRODUCTS, OFF (exact), 0, 1, 1 },
  { "base-4bit", N_("4-bit base model"), N_("Hold the model's layers as 4-bit NormalFloat (QLoRA): about a quarter of their memory, a little less exact"),
    TEMPER_FIELD_BASE_WEIGHTS, OFF (base_weights), 0, 1, 1 },
  { "val-fraction", N_("Validation share"), N_("Share of the examples kept aside to check progress; −1 chooses for you"),
    TEMPER_FIELD_DOUBLE, OFF (val_fraction), -1, 0.5, 0.01, .unused_with_check_file = TRUE },
  { "train-all-tokens", N_("Learn the questions too"), N_("Loss on every token, not only on the answers"),
    TEMPER_FIELD_BOOL, OFF (train_on_all_tokens), 0, 1, 1 },
  { "replay-records", N_("General answers"), N_("General questions answered by the model itself, learnt with your examples so that it keeps answering others as before; 0 none"),
    TEMPER_FIELD_INT, OFF (replay_records), 0, TEMPER_TRAIN_MAX_REPLAY_RECORDS, 1 },
};

G_STATIC_ASSERT (G_N_ELEMENTS (temper_settings_fields) == TEMPER_SETTINGS_N_FIELDS);

/* Which of the engine's reasons covers a field the automatic settings
 * choose; -1 for the fields they leave at their defaults. */
int
temper_settings_field_why (guint i)
{
  static const struct { const char *name; TemperTrainWhy why; } whys[] = {
    { "learning-rate", TEMPER_TRAIN_WHY_LEARNING_RATE },
    { "schedule", TEMPER_TRAIN_WHY_SCHEDULE },    { "warmup-steps", TEMPER_TRAIN_WHY_SCHEDULE },
    { "epochs", TEMPER_TRAIN_WHY_EPOCHS },        { "max-steps", TEMPER_TRAIN_WHY_EPOCHS },
    { "lora-rank", TEMPER_TRAIN_WHY_RANK },       { "lora-alpha", TEMPER_TRAIN_WHY_RANK },
    { "lora-targets", TEMPER_TRAIN_WHY_TARGETS },
    { "micro-batch", TEMPER_TRAIN_WHY_BATCH },    { "grad-accum", TEMPER_TRAIN_WHY_BATCH },
    { "max-length", TEMPER_TRAIN_WHY_MAX_LENGTH },
    { "val-fraction", TEMPER_TRAIN_WHY_VALIDATION },
    { "replay-records", TEMPER_TRAIN_WHY_REPLAY },
  };

  for (guint k = 0; k < G_N_ELEMENTS (whys); k++)
    if (g_str_equal (whys[k].name, temper_settings_fields[i].name))
      return (int) whys[k].why;
  return -1;
}

gsize
temper_settings_field_size (TemperSettingsFieldKind kind)
{
  switch (kind)
    {
    case TEMPER_FIELD_INT:          return sizeof (int);
    case TEMPER_FIELD_INT64:        return sizeof (gint64);
    case TEMPER_FIELD_UINT64:       return sizeof (guint64);
    case TEMPER_FIELD_FLOAT:        return sizeof (float);
    case TEMPER_FIELD_DOUBLE:       return sizeof (double);
    case TEMPER_FIELD_BOOL:         return sizeof (gboolean);
    case TEMPER_FIELD_TARGETS:      return sizeof (guint);
    case TEMPER_FIELD_SCHEDULE:     return sizeof (TemperLrSchedule);
    case TEMPER_FIELD_BASE_WEIGHTS: return sizeof (TemperBaseWeights);
    case TEMPER_FIELD_FAST_PRODUCTS: return sizeof (gboolean);
    default:                 g_assert_not_reached ();
    }
}

/* Doubles span 1e-8 to 1: "%g" shows each the way people write it. */
gboolean
temper_settings_spin_output_cb (GtkSpinButton *spin)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (text, sizeof text, "%g", gtk_spin_button_get_value (spin));
  gtk_editable_set_text (GTK_EDITABLE (spin), text);
  return TRUE;
}

int
temper_settings_spin_input_cb (GtkSpinButton *spin,
               double        *value)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (spin));
  char *end = NULL;
  double parsed = g_ascii_strtod (text, &end);

  if (end == text || *end != '\0')
    {
      /* People in locales with a decimal comma type one. */
      g_autofree char *dotted = g_strdelimit (g_strdup (text), ",", '.');

      parsed = g_ascii_strtod (dotted, &end);
      if (end == dotted || *end != '\0')
        return GTK_INPUT_ERROR;
    }
  *value = parsed;
  return TRUE;
}

void
temper_settings_fields_read (GtkWidget *const      *widgets,
                             TemperTrainSettings   *s)
{
  temper_train_settings_init_default (s);
  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    {
      guint8 *p = (guint8 *) s + temper_settings_fields[i].offset;
      GtkWidget *w = widgets[i];

      switch (temper_settings_fields[i].kind)
        {
        case TEMPER_FIELD_INT:
          *(int *) p = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (w));
          break;
        case TEMPER_FIELD_INT64:
          *(gint64 *) p = (gint64) llround (gtk_spin_button_get_value (GTK_SPIN_BUTTON (w)));
          break;
        case TEMPER_FIELD_UINT64:
          *(guint64 *) p = (guint64) llround (gtk_spin_button_get_value (GTK_SPIN_BUTTON (w)));
          break;
        case TEMPER_FIELD_FLOAT:
          *(float *) p = (float) gtk_spin_button_get_value (GTK_SPIN_BUTTON (w));
          break;
        case TEMPER_FIELD_DOUBLE:
          *(double *) p = gtk_spin_button_get_value (GTK_SPIN_BUTTON (w));
          break;
        case TEMPER_FIELD_BOOL:
          *(gboolean *) p = gtk_switch_get_active (GTK_SWITCH (w));
          break;
        case TEMPER_FIELD_FAST_PRODUCTS:
          *(gboolean *) p = !gtk_switch_get_active (GTK_SWITCH (w));
          break;
        case TEMPER_FIELD_BASE_WEIGHTS:
          *(TemperBaseWeights *) p = gtk_switch_get_active (GTK_SWITCH (w))
                                     ? TEMPER_BASE_WEIGHTS_NF4 : TEMPER_BASE_WEIGHTS_STORED;
          break;
        case TEMPER_FIELD_TARGETS:
          {
            guint targets = 0;

            /* An unreadable list leaves 0, which validation reports. */
            if (temper_lora_targets_parse (gtk_editable_get_text (GTK_EDITABLE (w)), &targets, NULL))
              *(guint *) p = targets;
            else
              *(guint *) p = 0;
          }
          break;
        case TEMPER_FIELD_SCHEDULE:
          *(TemperLrSchedule *) p = (TemperLrSchedule) adw_combo_row_get_selected (ADW_COMBO_ROW (w));
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

void
temper_settings_fields_write (GtkWidget *const          *widgets,
                              const TemperTrainSettings *s)
{
  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    {
      const guint8 *p = (const guint8 *) s + temper_settings_fields[i].offset;
      GtkWidget *w = widgets[i];

      switch (temper_settings_fields[i].kind)
        {
        case TEMPER_FIELD_INT:
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), *(const int *) p);
          break;
        case TEMPER_FIELD_INT64:
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), (double) *(const gint64 *) p);
          break;
        case TEMPER_FIELD_UINT64:
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), (double) *(const guint64 *) p);
          break;
        case TEMPER_FIELD_FLOAT:
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), *(const float *) p);
          break;
        case TEMPER_FIELD_DOUBLE:
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), *(const double *) p);
          break;
        case TEMPER_FIELD_BOOL:
          gtk_switch_set_active (GTK_SWITCH (w), *(const gboolean *) p);
          break;
        case TEMPER_FIELD_FAST_PRODUCTS:
          gtk_switch_set_active (GTK_SWITCH (w), !*(const gboolean *) p);
          break;
        case TEMPER_FIELD_BASE_WEIGHTS:
          gtk_switch_set_active (GTK_SWITCH (w),
                                 *(const TemperBaseWeights *) p == TEMPER_BASE_WEIGHTS_NF4);
          break;
        case TEMPER_FIELD_TARGETS:
          {
            g_autofree char *text = temper_lora_targets_to_string (*(const guint *) p);

            gtk_editable_set_text (GTK_EDITABLE (w), text);
          }
          break;
        case TEMPER_FIELD_SCHEDULE:
          adw_combo_row_set_selected (ADW_COMBO_ROW (w), (guint) *(const TemperLrSchedule *) p);
          break;
        default:
          g_assert_not_reached ();
        }
    }
}
