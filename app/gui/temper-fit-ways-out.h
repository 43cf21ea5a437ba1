/* SPDX-License-Identifier: MIT */
/* temper-fit-ways-out.h — when training does not fit, what would make it. */
#pragma once

#include <glib.h>
#include "temper/device-info.h"
#include "temper/model.h"
#include "temper/train.h"

G_BEGIN_DECLS

/* One translated sentence naming the changes that each, alone, bring a run
 * of @settings within @available bytes on a device of @kind — a 4-bit base,
 * “Save memory” (recompute), shorter examples — with what each would need,
 * and always training on a cluster.  Changes already made are not named. */
char *temper_fit_ways_out (const temper_model_t      *model,
                           const TemperTrainSettings *settings,
                           TemperBackendKind          kind,
                           guint64                    available);

G_END_DECLS
