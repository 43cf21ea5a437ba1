/* devices.h — the compute devices Temper can train and generate on. */
#pragma once

#include <glib.h>

#include "temper/model.h"

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

/* Every device of every backend built in, best first (discrete GPUs, then
 * integrated, then the CPU; software Vulkan drivers last).  Never fails: a
 * backend that can't be reached (no driver, no module) adds nothing and its
 * reason is appended to @notes (one human sentence each) when @notes is
 * non-NULL.  Returns a GPtrArray of TemperDeviceInfo. */
GPtrArray *temper_devices_list (GPtrArray *notes);

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

/* ---- What each backend computes -----------------------------------------
 * One table per backend says which ops it runs and which weight types its
 * ops that read a frozen weight decode (engine/nn/temper-backend.h).  The
 * backend choice, the op test and the device lists all ask it; none of
 * these needs a device. */

guint       temper_backend_n_ops             (void);
/* "matmul", "rmsnorm_backward", … */
const char *temper_backend_op_name           (guint op);
/* Whether @op's weight operand may be any supported type (else F32 only). */
gboolean    temper_backend_op_reads_weight   (guint op);
/* FALSE when this build of Temper has no such backend (Vulkan off). */
gboolean    temper_backend_kind_is_built     (TemperBackendKind kind);
gboolean    temper_backend_kind_supports_op  (TemperBackendKind kind, guint op, int weight_type);
/* Whether backend @kind can generate with @model (and train it, when
 * @training): FALSE with an error that names the operation, the tensor and
 * its weight type, or the family feature the backend lacks. */
gboolean    temper_backend_kind_check_model  (TemperBackendKind kind, const temper_model_t *model,
                                              gboolean training, GError **error);

G_END_DECLS
