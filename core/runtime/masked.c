/* The paths masked and made read-only in a container that is not
 * privileged: docker's defaults, applied by the init (runtime.c) and shown
 * by inspect's HostConfig.MaskedPaths and ReadonlyPaths (container.c). */
#include "runtime.h"

const char *const rt_masked_paths[] = {"/proc/asound",
                                       "/proc/acpi",
                                       "/proc/kcore",
                                       "/proc/keys",
                                       "/proc/latency_stats",
                                       "/proc/timer_list",
                                       "/proc/timer_stats",
                                       "/proc/sched_debug",
                                       "/proc/scsi",
                                       "/sys/firmware",
                                       "/sys/devices/virtual/powercap",
                                       NULL};
const char *const rt_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
