/* SPDX-License-Identifier: MIT */
/* temper-device-list.h — listing compute devices off the main thread.
 *
 * Probing Vulkan and CUDA drivers can take a noticeable moment, so the GUI
 * never calls temper_devices_list() on the main loop. */
#pragma once

#include <gio/gio.h>
#include "temper/devices.h"
#include "temper/model.h"

G_BEGIN_DECLS

void       temper_device_list_async  (GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
/* Returns a GPtrArray of TemperDeviceInfo, best first; *notes (when not
 * NULL) receives the sentences explaining backends that were not reachable. */
GPtrArray *temper_device_list_finish (GAsyncResult        *result,
                                      GPtrArray          **notes,
                                      GError             **error);
/* "cuda:0", the form the settings and the command line use. */
char      *temper_device_id          (const TemperDeviceInfo *device);
/* For a device that failed its self-test (see temper/devices.h): a sentence
 * saying it is not used for training, why, and what to try.  NULL for any
 * other device. */
char      *temper_device_self_test_note (const TemperDeviceInfo *device);
/* For a device whose backend cannot train @model (an operation or weight
 * type its table lacks, see `temper-cli devices --ops`): the sentence saying
 * which.  NULL when it can, or when @model is NULL. */
char      *temper_device_model_note     (const TemperDeviceInfo *device,
                                         const temper_model_t   *model);

G_END_DECLS
