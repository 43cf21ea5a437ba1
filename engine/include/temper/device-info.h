/* SPDX-License-Identifier: MIT */
/* device-info.h — what Temper knows about a compute device, and the memory
 * of its GPU self-test (engine/core/).  The registry lists devices
 * (temper/devices.h); the op tables say what each backend runs
 * (temper/op-support.h). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  TEMPER_BACKEND_CPU,
  TEMPER_BACKEND_VULKAN,
  TEMPER_BACKEND_CUDA,
} TemperBackendKind;

typedef enum {
  TEMPER_DEVICE_CPU,
  TEMPER_DEVICE_DISCRETE_GPU,
  TEMPER_DEVICE_INTEGRATED_GPU,
  TEMPER_DEVICE_VIRTUAL_GPU,
  TEMPER_DEVICE_SOFTWARE,      /* a CPU pretending to be a GPU (lavapipe, llvmpipe) */
  TEMPER_DEVICE_OTHER,
} TemperDeviceType;

/* Whether a GPU computed a few small training ops as the CPU does (see
 * temper_device_self_test_lookup).  The CPU itself is never tested. */
typedef enum {
  TEMPER_SELF_TEST_NOT_RUN,
  TEMPER_SELF_TEST_PASSED,
  TEMPER_SELF_TEST_FAILED,    /* the device is not used for training */
} TemperSelfTestResult;

typedef struct {
  TemperBackendKind backend;
  int               index;          /* within its backend, as passed to --device */
  char             *name;           /* "NVIDIA GeForce RTX 4070", "AMD Ryzen 7 …" */
  char             *driver;         /* driver name and version, "" if unknown */
  TemperDeviceType  type;
  guint64           memory_total;   /* bytes usable for work (device-local heap, or RAM) */
  guint64           memory_free;    /* bytes free now (budget), 0 if unknown */
  char             *details;        /* one line: compute capability, 16-bit storage, cooperative matrix, … */
  TemperSelfTestResult self_test;   /* as remembered for this device and driver */
  char             *self_test_reason; /* for FAILED: which op went wrong, in words; else NULL */
} TemperDeviceInfo;

void temper_device_info_free (TemperDeviceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperDeviceInfo, temper_device_info_free)

const char *temper_backend_kind_name (TemperBackendKind kind);   /* "cpu", "vulkan", "cuda" */
const char *temper_device_type_name  (TemperDeviceType type);    /* "discrete GPU", … */

/* ---- The GPU self-test's memory ------------------------------------------
 * Before a GPU first trains, a few small ops run on it and on the CPU and are
 * compared (engine/registry/temper-self-test.c).  The outcome is remembered in the
 * user's cache folder (temper/device-self-test.ini) per backend and device
 * name, with the driver it ran under: a new driver runs it again. */

/* Fills @info->self_test and ->self_test_reason from that memory; NOT_RUN
 * when there is none for this device and driver. */
void temper_device_self_test_lookup (TemperDeviceInfo *info);
/* Remembers @result (and @reason for a failure) for @info's device and driver,
 * and sets them in @info. */
void temper_device_self_test_store  (TemperDeviceInfo *info, TemperSelfTestResult result,
                                     const char *reason);
/* "passed", "failed", "not run". */
const char *temper_self_test_result_name (TemperSelfTestResult result);

G_END_DECLS
