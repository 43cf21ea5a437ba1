/* SPDX-License-Identifier: MIT */
/* temper-cluster-job.h — "Train on a cluster…" and "Import a cluster run…":
 * a run handed to LLaMA-Factory or axolotl, and the result brought back
 * (temper/job.h does the work, on a worker thread). */
#pragma once

#include <gtk/gtk.h>

#include "temper/train.h"

G_BEGIN_DECLS

/* Asks which trainer, which base model the cluster loads and an empty
 * folder, then writes the job there.  For a run that exists, @run_dir; for
 * one not started yet (the Settings page), @run_dir NULL and the model,
 * dataset and settings it would start with. */
void temper_cluster_job_export (GtkWidget                 *parent,
                                const char                *run_dir,
                                const char                *model_path,
                                const char                *data_path,
                                const TemperTrainSettings *settings);

typedef void (*TemperClusterImported) (const char *run_dir, gpointer user_data);

/* Asks for a job folder (or a trainer's output folder) and imports it as a
 * new run; @done (may be NULL) gets the run's folder once it exists.
 * @done_object, when non-NULL, is passed to @done and kept alive meanwhile. */
void temper_cluster_job_import (GtkWidget            *parent,
                                TemperClusterImported done,
                                GObject              *done_object);

G_END_DECLS
