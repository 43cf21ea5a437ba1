/* SPDX-License-Identifier: MIT */
/* test-cuda-train.c — the GPU training and generation tests of
 * tests/vulkan/test-vk-train.c, on the CUDA backend.  Without an NVIDIA GPU
 * (or without the CUDA module) each test reports itself skipped. */
#define TEST_BACKEND TEMPER_BACKEND_CUDA
#include "../vulkan/test-vk-train.c"
