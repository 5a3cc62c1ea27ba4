/* spawn_vm (spawn.h): a child that runs on its parent's memory until it
 * execs or exits.  Its own file, with no other dependency, so that plugins
 * (the overlay driver's mount child) link it too. */
#include "spawn.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static __thread sigset_t spawn_saved_mask;

pid_t spawn_vm(int (*fn)(void *), void *arg) {
#if defined(__SANITIZE_THREAD__)
  /* ThreadSanitizer's runtime cannot follow a child that runs on the
   * parent's memory (its interceptors take the child for the parent's
   * thread and it dies): the tsan build forks, as posix_spawn's fallback */
  pid_t f = fork();
  if (f == 0) _exit(fn(arg));
  return f;
#endif
  size_t size = 64 * 1024;
  char *stack = malloc(size);
  if (!stack) return -1;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &spawn_saved_mask);
  pid_t p = clone(fn, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &spawn_saved_mask, NULL);
  free(stack);
  errno = e;
  return p;
}

void spawn_vm_unblock(void) {
  /* a handler of berthd's run here would run on berthd's memory */
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction sa;
    if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0) continue;
    if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) signal(sig, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, &spawn_saved_mask, NULL);
}
