/* How berthd starts berth-shim: always from one sealed memfd copy of the
 * binary (runtime/sealed.c), made the first time it is needed and shared by
 * every shim and exec helper this berthd starts. */
#ifndef BERTH_SHIM_LAUNCH_H
#define BERTH_SHIM_LAUNCH_H

#include "../util/util.h"

/* A helper installed next to berthd ("berth-shim", "berth-init"). */
char *helper_path(const char *name);
/* The sealed copy of berth-shim (close-on-exec; owned here), or -code;
 * dl: of berth-shim-dl, the build that can dlopen a log driver (berth-shim
 * is a static PIE where the build could make one). */
int shim_exe_fd(bool dl, struct berth_err *err);
/* In a forked child: exec the sealed shim.  Async-signal-safe; returns only
 * on failure. */
void shim_exec_sealed(int fd, char **argv);

#endif
