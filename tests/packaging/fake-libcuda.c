/* SPDX-License-Identifier: MIT */
/* fake-libcuda.c — an empty libcuda.so.1: the CUDA loader's first check
 * (is an NVIDIA driver there?) passes, so the tests reach what follows it
 * on a machine without NVIDIA hardware. */
int temper_fake_libcuda_marker (void);

int
temper_fake_libcuda_marker (void)
{
  return 1;
}
