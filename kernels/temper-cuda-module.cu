/* SPDX-License-Identifier: MIT */
// temper-cuda-module.cu — the module's one exported symbol, its function
// table, and the device and memory functions.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

static thread_local char last_error_message[512];

static const char *
last_error (void)
{
  return last_error_message;
}

TemperCudaStatus
temper_cuda_fail (TemperCudaStatus status, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vsnprintf (last_error_message, sizeof last_error_message, format, args);
  va_end (args);
  return status;
}

TemperCudaStatus
temper_cuda_status (cudaError_t error, const char *what)
{
  int driver = 0;

  switch (error)
    {
    case cudaSuccess:
      return TEMPER_CUDA_OK;
    case cudaErrorInsufficientDriver:
      cudaDriverGetVersion (&driver);
      if (driver == 0)
        return temper_cuda_fail (TEMPER_CUDA_NO_DRIVER,
                                 "no NVIDIA driver found (libcuda.so.1 could not be loaded)");
      return temper_cuda_fail (TEMPER_CUDA_NO_DRIVER,
                               "the NVIDIA driver is too old: it supports CUDA %d.%d and Temper "
                               "was built with CUDA %d.%d. Install a newer NVIDIA driver",
                               driver / 1000, driver % 1000 / 10,
                               CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    case cudaErrorNoDevice:
      return temper_cuda_fail (TEMPER_CUDA_NO_DEVICE,
                               "the NVIDIA driver is installed but sees no GPU");
    case cudaErrorMemoryAllocation:
      return temper_cuda_fail (TEMPER_CUDA_OUT_OF_MEMORY,
                               "the GPU ran out of memory while %s", what);
    case cudaErrorNoKernelImageForDevice:
      return temper_cuda_fail (TEMPER_CUDA_FAILED,
                               "this GPU is older than the ones Temper's CUDA code was built for "
                               "(compute capability 7.5 or newer); use the Vulkan backend");
    case cudaErrorInvalidValue:
    case cudaErrorInvalidDevice:
      return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "%s: %s", what,
                               cudaGetErrorString (error));
    default:
      return temper_cuda_fail (TEMPER_CUDA_FAILED, "%s: %s", what, cudaGetErrorString (error));
    }
}

static TemperCudaStatus
device_count (int *count)
{
  cudaError_t error = cudaGetDeviceCount (count);

  if (error != cudaSuccess)
    *count = 0;
  return temper_cuda_status (error, "counting GPUs");
}

static TemperCudaStatus
device_props (int device, TemperCudaDeviceProps *props)
{
  cudaDeviceProp prop;
  size_t free_bytes = 0, total_bytes = 0;
  int previous = 0;
  TemperCudaStatus status;

  memset (props, 0, sizeof *props);
  status = temper_cuda_status (cudaGetDeviceProperties (&prop, device), "reading GPU properties");
  if (status != TEMPER_CUDA_OK)
    return status;
  snprintf (props->name, sizeof props->name, "%s", prop.name);
  props->memory_total = prop.totalGlobalMem;
  props->compute_major = prop.major;
  props->compute_minor = prop.minor;
  props->multiprocessors = prop.multiProcessorCount;
  props->integrated = prop.integrated;
  cudaDriverGetVersion (&props->driver_version);
  cudaRuntimeGetVersion (&props->runtime_version);

  // Free memory is only known from inside a context on that device.
  cudaGetDevice (&previous);
  status = temper_cuda_status (cudaSetDevice (device), "selecting the GPU");
  if (status == TEMPER_CUDA_OK)
    status = temper_cuda_status (cudaMemGetInfo (&free_bytes, &total_bytes),
                                 "reading free GPU memory");
  cudaSetDevice (previous);
  props->memory_free = free_bytes;
  return status;
}

static TemperCudaStatus
set_device (int device)
{
  return temper_cuda_status (cudaSetDevice (device), "selecting the GPU");
}

static TemperCudaStatus
synchronize (void)
{
  return temper_cuda_status (cudaStreamSynchronize (cudaStreamPerThread), "running GPU work");
}

static TemperCudaStatus
alloc (void **d_ptr, size_t bytes)
{
  *d_ptr = NULL;
  return temper_cuda_status (cudaMalloc (d_ptr, bytes), "allocating GPU memory");
}

static TemperCudaStatus
release (void *d_ptr)
{
  return temper_cuda_status (cudaFree (d_ptr), "freeing GPU memory");
}

// Copies run on the calling thread's stream, so they are ordered with the
// kernels queued before them; the host side returns once the copy is done.
static TemperCudaStatus
upload (void *d_dst, const void *h_src, size_t bytes)
{
  TemperCudaStatus status = temper_cuda_status (
    cudaMemcpyAsync (d_dst, h_src, bytes, cudaMemcpyHostToDevice, cudaStreamPerThread),
    "copying to the GPU");

  return status != TEMPER_CUDA_OK ? status : synchronize ();
}

static TemperCudaStatus
download (void *h_dst, const void *d_src, size_t bytes)
{
  TemperCudaStatus status = temper_cuda_status (
    cudaMemcpyAsync (h_dst, d_src, bytes, cudaMemcpyDeviceToHost, cudaStreamPerThread),
    "copying from the GPU");

  return status != TEMPER_CUDA_OK ? status : synchronize ();
}

static TemperCudaStatus
zero (void *d_dst, size_t bytes)
{
  return temper_cuda_status (cudaMemsetAsync (d_dst, 0, bytes, cudaStreamPerThread),
                             "clearing GPU memory");
}

static const TemperCudaModule module_table = {
  TEMPER_CUDA_ABI_VERSION,
  sizeof (TemperCudaModule),
  last_error,
  device_count,
  device_props,
  set_device,
  synchronize,
  alloc,
  release,
  upload,
  download,
  zero,
  temper_cuda_dequantize,
  temper_cuda_embedding_forward,
  temper_cuda_rmsnorm_forward,
  temper_cuda_rmsnorm_backward,
  temper_cuda_swiglu_forward,
  temper_cuda_swiglu_backward,
  temper_cuda_rope,
  temper_cuda_adamw,
  temper_cuda_add,
  temper_cuda_scale,
  temper_cuda_sum_squares,
  temper_cuda_gemm,
  temper_cuda_linear_forward,
  temper_cuda_linear_backward_input,
  temper_cuda_attention_forward,
  temper_cuda_attention_backward,
  temper_cuda_lm_head_cross_entropy,
  temper_cuda_dropout,
  temper_cuda_geglu_forward,
  temper_cuda_geglu_backward,
  temper_cuda_softcap,
  temper_cuda_rope_table,
  temper_cuda_lm_head_cross_entropy_softcap,
  temper_cuda_moe_forward,
  temper_cuda_moe_backward,
};

extern "C" __attribute__ ((visibility ("default"))) const TemperCudaModule *
temper_cuda_module_entry (uint32_t abi_version)
{
  return abi_version == TEMPER_CUDA_ABI_VERSION ? &module_table : NULL;
}
