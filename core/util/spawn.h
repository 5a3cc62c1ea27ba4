/* Starting a child without copying the caller's page tables (spawn.c). */
#ifndef BERTH_UTIL_SPAWN_H
#define BERTH_UTIL_SPAWN_H

#include <sys/types.h>

/* Start fn(arg) in a child process that shares the caller's memory until
 * it execs or exits (clone CLONE_VM|CLONE_VFORK, as posix_spawn): no page
 * tables are copied, so starting a shim or an exec helper does not get
 * slower as berthd grows (1,000 containers: 1,000 threads and stacks).
 * fn runs on a stack of its own with every signal blocked and berthd's
 * handlers reset; it may only make system calls and write its own locals,
 * and must exec or _exit.  The caller resumes once it has.  -1 on error. */
pid_t spawn_vm(int (*fn)(void *), void *arg);
/* in fn, just before its exec: the signal mask berthd's thread had */
void spawn_vm_unblock(void);

#endif
