/* SPDX-License-Identifier: MIT */
/* machine.h — the processor a benchmark or an estimate ran on: what makes
 * two speed figures comparable (or not).  English: bench output. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *cpu_name;        /* "model name" of /proc/cpuinfo; "unknown" if none */
  int   logical_cores;   /* g_get_num_processors() */
  int   physical_cores;  /* distinct (package, core) pairs; 0 if unknown */
  /* The vector extensions that matter to the kernels that the processor
   * reports ("avx2 fma f16c avx512f avx512_vnni avx512_bf16 amx_tile…"), and
   * those of them this process may use: the operating system must save
   * their registers (XCR0), and for AMX also grant them (a VM may not). */
  char *flags;
  char *usable_flags;
  char *affinity;        /* the CPUs this process may run on, "0-3,8" */
  int   affinity_count;
} TemperMachineInfo;

/* Fills @info; the first call runs one AMX instruction in a child process
 * (where the processor reports AMX) to learn whether it traps. */
void temper_machine_info_get   (TemperMachineInfo *info);
/* Only the processor's name ("unknown" if none), without trying anything. */
char *temper_machine_cpu_name  (void);
void temper_machine_info_clear (TemperMachineInfo *info);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TemperMachineInfo, temper_machine_info_clear)

G_END_DECLS
