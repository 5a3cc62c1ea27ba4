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

/* Run berth-shim with argv (a shim's or "exec ..."), fds[i] at descriptor i
 * (i < nfds <= SHIM_SPARE_MAX_FDS; -1: /dev/null for 0-2, closed above),
 * in a session of its own, as berthd's child: the spare's pid when one is
 * ready (never for dl), else a new clone's that execs the sealed copy.
 * The pid, or -code. */
pid_t shim_launch(bool dl, char **argv, const int *fds, int nfds, struct berth_err *err);
/* Keep one spare berth-shim ready (protocol.h) from now on: a thread makes
 * one at start-up and another each time one is taken.  Once, at start-up. */
void shim_spare_start(void);
/* A berth-shim berthd started, exited and reaped: the cgroup it made
 * ahead as a spare, if it left it (an exec helper does), goes, removed by
 * the spares' thread (not on the exec's path). */
void shim_spare_exited(pid_t pid);
/* End the spare (at shutdown; a spare also ends when berthd's end of its
 * socket closes). */
void shim_spare_stop(void);

#endif
