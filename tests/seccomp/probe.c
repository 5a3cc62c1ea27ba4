/* What a container's seccomp filter lets through: one line per call,
 * name=ok, name=EPERM, name=ENOSYS or the kernel's own error name (the
 * call got past the filter).  Built static by tests/integration/seccomp.sh and bind
 * mounted into containers.  int80_getpid is the i386 getpid through
 * int 0x80, in a child: "ok", its error, or the signal that ended it — SIGSYS from a
 * filter without x86 in its architectures, SIGSEGV from a machine that
 * cannot run it at all (a kernel without IA32 emulation, some VMs).
 * x32_getpid is getpid through the x32 ABI, in a child too: "ok", the
 * error (ENOSYS where the kernel has no x32) or the signal (SIGSYS: a
 * filter killed it).  "probe int80" / "probe x32" print that line alone
 * (run on the host to compare). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>
static void show(const char *name, long r) {
  printf("%s=%s\n", name, r >= 0 ? "ok" : strerrorname_np(errno));
}
/* the i386 getpid through int 0x80: the raw return, -errno as errno */
static long int80_getpid(void) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
  if (r < 0) errno = (int)-r;
  return r;
}
static long x32_getpid(void) {
  return syscall(0x40000000L | SYS_getpid);
}
/* call in a child: "ok", "ENOSYS", "fail", or the signal that ended it */
static const char *in_child(long (*call)(void)) {
  pid_t p = fork();
  if (p == 0) _exit(call() > 0 ? 0 : errno == ENOSYS ? 2 : 1);
  int st = 0;
  if (p < 0 || waitpid(p, &st, 0) < 0) return "nofork";
  if (WIFEXITED(st)) return WEXITSTATUS(st) == 0 ? "ok" : WEXITSTATUS(st) == 2 ? "ENOSYS" : "fail";
  return WTERMSIG(st) == SIGSYS ? "SIGSYS" : WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "signal";
}
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "x32")) {
    printf("x32_getpid=%s\n", in_child(x32_getpid));
    return 0;
  }
  printf("int80_getpid=%s\n", in_child(int80_getpid));
  if (argc > 1 && !strcmp(argv[1], "int80")) return 0;
  printf("x32_getpid=%s\n", in_child(x32_getpid));
  show("personality_rie", personality(0x0400000));
  show("personality_query", personality(0xffffffff));
  struct timex tx = {0};
  show("adjtimex_read", adjtimex(&tx));
  show("pidfd_getfd", syscall(SYS_pidfd_getfd, 0, 0, 0));
  show("process_madvise", syscall(SYS_process_madvise, 0, 0, 0, 0, 0));
  show("fanotify_init", syscall(SYS_fanotify_init, 0, 0));
  show("sysfs", syscall(SYS_sysfs, 3, 0, 0));
  show("io_uring_setup", syscall(SYS_io_uring_setup, 1, 0));
  show("clone3", syscall(SYS_clone3, 0, 0));
  show("listmount", syscall(458, 0, 0, 0, 0));
  mkdir("/tmp/m", 0755);
  show("mount_tmpfs", mount("none", "/tmp/m", "tmpfs", 0, NULL));
  show("syslog", syscall(SYS_syslog, 10, 0, 0));
  show("settimeofday", syscall(SYS_settimeofday, 0, 0));
  show("unshare_user", unshare(CLONE_NEWUSER)); /* last: it leaves the process unprivileged */
  return 0;
}
