/* SPDX-License-Identifier: MIT */
/* devices.h — the compute devices Temper can train and generate on
 * (engine/registry/).  What a device is: temper/device-info.h. */
#pragma once

#include <glib.h>

#include "temper/device-info.h"

G_BEGIN_DECLS

/* Every device of every backend built in, best first (discrete GPUs, then
 * integrated, then the CPU; software Vulkan drivers last).  Never fails: a
 * backend that can't be reached (no driver, no module) adds nothing and its
 * reason is appended to @notes (one human sentence each) when @notes is
 * non-NULL.  Returns a GPtrArray of TemperDeviceInfo. */
GPtrArray *temper_devices_list (GPtrArray *notes);

G_END_DECLS
