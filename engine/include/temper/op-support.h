/* SPDX-License-Identifier: MIT */
/* op-support.h — what each backend computes (engine/nn/temper-op-support.c). */
#pragma once

#include <glib.h>

#include "temper/device-info.h"
#include "temper/model.h"

G_BEGIN_DECLS

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
