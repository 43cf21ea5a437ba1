/* SPDX-License-Identifier: MIT */
/* temper-device-list.c — temper_devices_list() on a worker thread. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-device-list.h"

#include "temper/op-support.h"

typedef struct {
  GPtrArray *devices;
  GPtrArray *notes;
} DeviceListResult;

static void
device_list_result_free (gpointer data)
{
  DeviceListResult *result = data;

  g_clear_pointer (&result->devices, g_ptr_array_unref);
  g_clear_pointer (&result->notes, g_ptr_array_unref);
  g_free (result);
}

static void
list_devices_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  DeviceListResult *result = g_new0 (DeviceListResult, 1);

  result->notes = g_ptr_array_new_with_free_func (g_free);
  result->devices = temper_devices_list (result->notes);
  g_task_return_pointer (task, result, device_list_result_free);
}

void
temper_device_list_async (GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, temper_device_list_async);
  /* A cancelled listing must not be delivered as a result. */
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, list_devices_thread);
}

GPtrArray *
temper_device_list_finish (GAsyncResult  *result,
                           GPtrArray    **notes,
                           GError       **error)
{
  DeviceListResult *list;
  GPtrArray *devices;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  list = g_task_propagate_pointer (G_TASK (result), error);
  if (list == NULL)
    return NULL;
  devices = g_steal_pointer (&list->devices);
  if (notes != NULL)
    *notes = g_steal_pointer (&list->notes);
  device_list_result_free (list);
  return devices;
}

char *
temper_device_id (const TemperDeviceInfo *device)
{
  g_return_val_if_fail (device != NULL, NULL);
  return g_strdup_printf ("%s:%d", temper_backend_kind_name (device->backend), device->index);
}

char *
temper_device_self_test_note (const TemperDeviceInfo *device)
{
  g_return_val_if_fail (device != NULL, NULL);
  if (device->self_test != TEMPER_SELF_TEST_FAILED)
    return NULL;
  /* Translators: %s says which computation went wrong, e.g. "Attention gave
   * results 12.0% away from the processor's" */
  return g_strdup_printf (_("Not used for training: this device failed Temper’s check of its "
                            "results (%s). Training uses the next device instead, usually the "
                            "processor. Updating its graphics driver may fix this."),
                          device->self_test_reason != NULL ? device->self_test_reason : "");
}

char *
temper_device_model_note (const TemperDeviceInfo *device, const temper_model_t *model)
{
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (device != NULL, NULL);
  if (model == NULL || temper_backend_kind_check_model (device->backend, model, TRUE, &error))
    return NULL;
  return g_strdup (error->message);
}
