/* berth-init: the --init process.  Bind-mounted read-only at /sbin/docker-init and
 * run as PID 1 of the container ("/sbin/docker-init -- CMD ARGS..."; a subreaper
 * where the container shares the host's pid namespace): it starts the
 * command, forwards every signal it can to it, reaps orphaned zombies and
 * exits with the command's status (128+N when a signal ended it).  Linked
 * statically so it runs on any image. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && !strcmp(argv[first], "--")) first++;
  if (first >= argc) {
    fprintf(stderr, "usage: berth-init [--] COMMAND [ARG...]\n");
    return 2;
  }
  /* not PID 1 (--pid host): orphans still come here to be reaped */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 126;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[first], argv + first);
    int e = errno;
    fprintf(stderr, "berth-init: exec %s failed: %s\n", argv[first], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      /* SIGKILL and SIGSTOP never reach us; the rest go to the command */
      kill(child, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != child) continue; /* an orphan, reaped */
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
}
