/* berth-shim exec: the only way a process enters a running container.
 *
 * berthd never forks itself into a container: it starts this helper from
 * its sealed memfd copy of berth-shim (see runtime/sealed.c), so even a
 * "#!/proc/self/exe" script run by the exec finds only that sealed copy,
 * and the helper is non-dumpable until the final execve, so the container
 * cannot open its /proc/<pid>/exe or memory while it sets up.  The fd
 * layout is described in protocol.h. */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"
#include "../util/spawn.h"
#include "protocol.h"

#define SPEC_MAX (64u << 20)

#define fail(...) (rt_report(SHIM_EXEC_ERR_FD, __VA_ARGS__), 126)

static json_t *read_spec(void) {
  size_t cap = 65536, got = 0;
  char *buf = xmalloc(cap);
  ssize_t n;
  while ((n = read(SHIM_EXEC_SPEC_FD, buf + got, cap - got)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || got + (size_t)n >= SPEC_MAX) {
      free(buf);
      return NULL;
    }
    got += (size_t)n;
    if (got == cap) buf = xrealloc(buf, cap *= 2);
  }
  json_t *j = json_loadb(buf, got, 0, NULL);
  free(buf);
  close(SHIM_EXEC_SPEC_FD);
  return j;
}

/* Open a pty in the container's own devpts (we are in its mount namespace)
 * and hand the master to berthd; returns the slave. */
static int container_pty(void) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  int unlock = 0, n = -1;
  if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
    return -fail("open pty in the container: %s", strerror(errno));
  char name[64];
  snprintf(name, sizeof name, "/dev/pts/%d", n);
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0 || send_fd(SHIM_EXEC_PTY_FD, master) < 0)
    return -fail("open %s: %s", name, strerror(errno));
  close(master);
  close(SHIM_EXEC_PTY_FD);
  return slave;
}

struct exec_child {
  const struct rt_spec *s;
  int slave;
};

static int exec_child(void *p) {
  const struct exec_child *c = p;
  if (c->slave >= 0) {
    setsid();
    ioctl(c->slave, TIOCSCTTY, 0);
    for (int fd = 0; fd < 3; fd++)
      dup2(c->slave, fd);
  }
  /* no spawn_vm_unblock(): rt_exec_process resets every handler and the
   * mask first (64 system calls fewer) */
  rt_exec_process(c->s, SHIM_EXEC_ERR_FD);
}

int shim_exec_main(int argc, char **argv) {
  const char *id = NULL;
  pid_t pid = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--container"))
      id = argv[i + 1];
    else if (!strcmp(argv[i], "--pid"))
      pid = (pid_t)atoi(argv[i + 1]);
  }
  fcntl(SHIM_EXEC_ERR_FD, F_SETFD, FD_CLOEXEC); /* EOF on it: the process was exec'd */
  fcntl(SHIM_EXEC_STATUS_FD, F_SETFD, FD_CLOEXEC);
  /* a spare's cgroup is no use to an exec: berthd removes it once this
   * helper has exited (eight rmdirs, ~0.8 ms, off the exec's path) */
  shim_spare_cgroup_taken();
  if (!id || pid <= 0) return fail("usage: berth-shim exec --container ID --pid PID");
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return fail("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
  json_t *j = read_spec();
  if (!j) return fail("exec spec: unreadable");
  struct rt_spec s;
  struct berth_err err = {0};
  int r = rt_spec_from_json(j, &s, &err);
  json_decref(j);
  if (r < 0) return fail("exec spec: %s", err.msg);
  setsid();
  /* in the container's cgroup already: berthd put it there before the
   * spec's end */
  if (rt_join(pid, &err) < 0) return fail("%s", err.msg);
  int slave = -1;
  if (s.tty && (slave = container_pty()) < 0) return -slave;
  /* no fork: a copy of this process's page tables, and the faults of
   * copying every page either side writes after, cost more than the rest
   * of the helper on a VM (spawn_vm: this process waits, frozen, until
   * the child has exec'd; it is single-threaded, so the child's few
   * allocations on the way to the exec meet no lock) */
  struct exec_child c = {&s, slave};
#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer warns, on the process's stderr, of a noreturn call
   * on a stack that is not the thread's: the sanitizer build forks */
  pid_t child = fork();
  if (child == 0) _exit(exec_child(&c));
#else
  pid_t child = spawn_vm(exec_child, &c);
#endif
  if (child < 0) return fail("clone: %s", strerror(errno));
  close(SHIM_EXEC_ERR_FD);
  if (slave >= 0) close(slave);
  /* the process has the stdio now; berthd must see EOF when it is done */
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && nul >= 0; fd++)
    dup2(nul, fd);
  int st = 0;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  /* before this process's own exit (its teardown is ~0.2 ms of the
   * exec's wall time otherwise) */
  if (write(SHIM_EXEC_STATUS_FD, &st, sizeof st) < 0) {
  } /* berthd is gone, or waits for the exit instead */
  rt_spec_free(&s);
  /* _exit: processes of the container may outlive the exec, so this one
   * stays non-dumpable to the end and runs no exit handlers (a sanitizer
   * build's leak check would fork into the container's pid namespace) */
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}
