/* SPDX-License-Identifier: MIT */
/* temper-runs-page.h — the history of training runs.
 *
 * Lists the run folders under $XDG_DATA_HOME/temper/runs/ (the CLI's too)
 * with their status and final loss; "Open" emits ::open-run with the
 * folder, and the window restores the other pages from it.
 * "Continue from This Run" emits ::continue-run with a finished run's
 * folder; "Build on an Adapter" emits ::continue-adapter with a chosen
 * adapter folder (PEFT, or a run's): the next run starts from it. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TEMPER_TYPE_RUNS_PAGE (temper_runs_page_get_type ())
G_DECLARE_FINAL_TYPE (TemperRunsPage, temper_runs_page, TEMPER, RUNS_PAGE, AdwPreferencesPage)

/* Reads the folders again on a worker thread. */
void     temper_runs_page_refresh  (TemperRunsPage *self);
gboolean temper_runs_page_is_busy  (TemperRunsPage *self);
/* Rows listed now. */
guint    temper_runs_page_get_n_runs (TemperRunsPage *self);
/* The folder of row @i, newest first. */
const char *temper_runs_page_get_run_dir (TemperRunsPage *self, guint i);

G_END_DECLS
