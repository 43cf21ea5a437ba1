/* SPDX-License-Identifier: MIT */
/* temper-vk-ops-coopmat.c — choosing between the tiled matmul shader and the
 * cooperative-matrix one (shaders/matmul-coopmat.comp), which the build
 * includes only when it found a shader compiler that knows
 * GL_KHR_cooperative_matrix. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-vk-backend-private.h"

/* Under this many multiply-adds (M·N·K), one 64×64×64 tile's worth, the
 * product is a few workgroups on either shader, and the tiled one keeps
 * fp32 inputs. */
#define COOPMAT_MIN_WORK (G_GUINT64_CONSTANT (64) * 64 * 64)
/* Up to this many rows (generation: one token at a time) a matvec shader
 * beats any tile.  Matches temper-vk-ops-matmul.c. */
#define COOPMAT_MIN_ROWS 17u

gboolean
temper_vk_backend_has_coopmat (TemperBackend *backend, char **why_not)
{
  const TemperVkDeviceCaps *caps;
  const char *reason = NULL;

  g_return_val_if_fail (backend != NULL && backend->kind == TEMPER_BACKEND_VULKAN, FALSE);
  caps = &((TemperVkBackend *) backend)->device->caps;
  if (!TEMPER_HAVE_VK_COOPMAT)
    reason = _("this build of Temper has no cooperative-matrix shaders (its shader compiler "
             "could not compile them; build-aux/setup.sh installs one that can)");
  else if (!caps->cooperative_matrix)
    reason = _("the device does not offer VK_KHR_cooperative_matrix");
  else if (!caps->shader_float16 || !caps->vulkan_memory_model)
    reason = _("the device lacks float16 arithmetic or the Vulkan memory model");
  else if (caps->coopmat_size == 0)
    reason = _("the device offers no 16×16 or 8×8 float16 cooperative multiply at subgroup "
             "scope, or its subgroups are too wide");
  if (reason != NULL && why_not != NULL)
    *why_not = g_strdup_printf (_("No cooperative matrices on “%s”: %s."), caps->name, reason);
  return reason == NULL;
}

gboolean
temper_vk_backend_set_matmul_path (TemperBackend      *backend,
                                   TemperVkMatmulPath  path,
                                   GError            **error)
{
  g_autofree char *why_not = NULL;

  g_return_val_if_fail (backend != NULL && backend->kind == TEMPER_BACKEND_VULKAN, FALSE);
  if (path == TEMPER_VK_MATMUL_COOPMAT && !temper_vk_backend_has_coopmat (backend, &why_not))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("%s Unset %s to use the tiled matrix multiply."), why_not,
                   TEMPER_VK_MATMUL_ENV);
      return FALSE;
    }
  ((TemperVkBackend *) backend)->matmul_path = path;
  return TRUE;
}

/* Reads TEMPER_VK_MATMUL when a backend opens. */
gboolean
temper_vk_backend_apply_matmul_env (TemperBackend *backend, GError **error)
{
  const char *value = g_getenv (TEMPER_VK_MATMUL_ENV);
  TemperVkMatmulPath path;

  if (value == NULL || value[0] == '\0' || strcmp (value, "auto") == 0)
    path = TEMPER_VK_MATMUL_AUTO;
  else if (strcmp (value, "tiled") == 0)
    path = TEMPER_VK_MATMUL_TILED;
  else if (strcmp (value, "coopmat") == 0)
    path = TEMPER_VK_MATMUL_COOPMAT;
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s is “%s”; it must be “tiled”, “coopmat” or “auto”."),
                   TEMPER_VK_MATMUL_ENV, value);
      return FALSE;
    }
  return temper_vk_backend_set_matmul_path (backend, path, error);
}

#if TEMPER_HAVE_VK_COOPMAT
static gboolean
coopmat_shader (int type, TemperVkShaderId *shader)
{
  switch (type)
    {
    case TEMPER_TYPE_F32: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_F32; return TRUE;
    case TEMPER_TYPE_F16: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_F16; return TRUE;
    case TEMPER_TYPE_BF16: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_BF16; return TRUE;
    case TEMPER_TYPE_Q4_0: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q4_0; return TRUE;
    case TEMPER_TYPE_Q4_1: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q4_1; return TRUE;
    case TEMPER_TYPE_Q5_0: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q5_0; return TRUE;
    case TEMPER_TYPE_Q5_1: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q5_1; return TRUE;
    case TEMPER_TYPE_Q8_0: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q8_0; return TRUE;
    case TEMPER_TYPE_Q4_K: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q4_K; return TRUE;
    case TEMPER_TYPE_Q5_K: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q5_K; return TRUE;
    case TEMPER_TYPE_Q6_K: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q6_K; return TRUE;
    case TEMPER_TYPE_NF4: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_NF4; return TRUE;
    case TEMPER_TYPE_Q2_K: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q2_K; return TRUE;
    case TEMPER_TYPE_Q3_K: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_Q3_K; return TRUE;
    case TEMPER_TYPE_IQ4_NL: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_IQ4_NL; return TRUE;
    case TEMPER_TYPE_IQ4_XS: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_IQ4_XS; return TRUE;
    case TEMPER_TYPE_TQ2_0: *shader = TEMPER_VK_SHADER_MATMUL_COOPMAT_TQ2_0; return TRUE;
    default: return FALSE;
    }
}
#endif

gboolean
temper_vk_use_coopmat (TemperVkBackend *vk, int weight_type,
                       guint32 M, guint32 N, guint32 K, TemperVkShaderId *shader)
{
#if TEMPER_HAVE_VK_COOPMAT
  if (vk->matmul_path == TEMPER_VK_MATMUL_TILED || vk->device->caps.coopmat_size == 0)
    return FALSE;
  if (!coopmat_shader (weight_type, shader))
    return FALSE;
  if (vk->matmul_path == TEMPER_VK_MATMUL_COOPMAT)
    return TRUE;
  return M >= COOPMAT_MIN_ROWS && (guint64) M * N * K >= COOPMAT_MIN_WORK;
#else
  (void) vk; (void) weight_type; (void) M; (void) N; (void) K; (void) shader;
  return FALSE;
#endif
}

/* The workgroup grid: one 4S×4S tile of C per workgroup. */
void
temper_vk_coopmat_grid (TemperVkBackend *vk, guint32 M, guint32 N,
                        guint32 *gx, guint32 *gy)
{
  guint32 tile = 4 * vk->device->caps.coopmat_size;

  *gx = (N + tile - 1) / tile;
  *gy = (M + tile - 1) / tile;
}
