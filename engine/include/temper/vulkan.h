/* SPDX-License-Identifier: MIT */
/* vulkan.h — the Vulkan compute backend: what it can see.
 *
 * Present in every build; when Temper was built without Vulkan support
 * (TEMPER_HAVE_VULKAN is 0) the backend's files are not compiled and this
 * function does not exist, so callers guard it with that macro. */
#pragma once

#include <glib.h>
#include "temper/device-info.h"

G_BEGIN_DECLS

/* Appends a TemperDeviceInfo (backend TEMPER_BACKEND_VULKAN; free with
 * temper_device_info_free) for every Vulkan device the loader reports, in
 * the loader's order, software drivers (lavapipe) included and marked
 * TEMPER_DEVICE_SOFTWARE.  The index of each is what the Vulkan backend
 * accepts as an explicit device choice.  Devices too old for Temper are
 * listed too, with the reason in their details.  Fails only when Vulkan
 * itself cannot start (no loader or driver), with a message saying so. */
gboolean temper_vulkan_list_devices (GPtrArray *out, GError **error);

G_END_DECLS
