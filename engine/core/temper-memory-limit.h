/* SPDX-License-Identifier: MIT */
/* temper-memory-limit.h — the memory cap a person sets for jobs (private to
 * the engine). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TEMPER_MEMORY_LIMIT caps the memory a job may plan to use on its device,
 * for people who share a GPU with their desktop or other programs (and for
 * tests that need a device smaller than the job): bytes, or a number with
 * k, M or G (10³, 10⁶, 10⁹), "6G" or "1.5G".  Temper's Vulkan backend also
 * refuses buffers beyond it.  Returns the limit in bytes, 0 when unset. */
#define TEMPER_MEMORY_LIMIT_ENV "TEMPER_MEMORY_LIMIT"
guint64 temper_memory_limit (void);

G_END_DECLS
