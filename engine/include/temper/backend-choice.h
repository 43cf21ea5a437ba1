/* SPDX-License-Identifier: MIT */
/* backend-choice.h — which compute backend and device a job runs on, as a
 * person names it ("--backend vulkan --device 1"). */
#pragma once

#include <glib.h>
#include "temper/device-info.h"

G_BEGIN_DECLS

/* A TemperBackendKind value meaning "the best device there is": a CUDA GPU,
 * then a Vulkan discrete or integrated GPU, then the CPU.  Software Vulkan
 * drivers are never picked this way. */
#define TEMPER_BACKEND_BEST ((TemperBackendKind) 3)

/* Reads "cpu", "vulkan", "cuda" or "auto" (TEMPER_BACKEND_BEST), ignoring
 * case.  Fails with a message listing the accepted words. */
gboolean temper_backend_choice_parse (const char *text, TemperBackendKind *kind,
                                      GError **error);

G_END_DECLS
