#include "launch.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"
#include "protocol.h"

char *helper_path(const char *name) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return xstrdup(name);
  self[n] = 0;
  *strrchr(self, '/') = 0;
  return xasprintf("%s/%s", self, name);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int sealed_fd[2] = {-1, -1};

int shim_exe_fd(bool dl, struct berth_err *err) {
  static const char *const names[2] = {"berth-shim", "berth-shim-dl"};
  pthread_mutex_lock(&mu);
  if (sealed_fd[dl] < 0) {
    cleanup_free char *path = helper_path(names[dl]);
    /* a tree without the dynamic build (one copied by hand): the one shim */
    if (dl && !path_exists(path)) {
      pthread_mutex_unlock(&mu);
      return shim_exe_fd(false, err);
    }
    sealed_fd[dl] = rt_sealed_copy(path, names[dl], err);
  }
  int fd = sealed_fd[dl];
  if (fd < 0) sealed_fd[dl] = -1; /* try again next time: the error is in err */
  pthread_mutex_unlock(&mu);
  return fd;
}

void shim_exec_sealed(int fd, char **argv) {
  extern char **environ;
  syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
}

/* ---- starting one: a spare's, or a clone and an exec ---- */

struct launch_args {
  int exe;
  char **argv;
  const int *fds;
  int nfds;
  int exec_errno; /* the child's, when its exec failed (CLONE_VM: shared) */
};

/* In the child (spawn_vm: berthd's memory until the exec, so system calls
 * only): in a session of its own, each fd at its slot, nothing else of
 * berthd's, then the sealed shim. */
static int launch_child(void *p) {
  struct launch_args *a = p;
  setsid();
  /* berthd's priority, not the launching thread's (a start made ahead runs
   * at nice 10: its shim and container must not) */
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, (id_t)getppid());
  if (errno == 0) setpriority(PRIO_PROCESS, 0, nice);
  int fds[SHIM_SPARE_MAX_FDS];
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < a->nfds; i++) {
    int f = a->fds[i] < 0 && i < 3 ? nul : a->fds[i];
    /* out of the way of the slot numbers first */
    fds[i] = f >= 0 ? fcntl(f, F_DUPFD_CLOEXEC, SHIM_SPARE_MAX_FDS + 8) : -1;
  }
  for (int i = 0; i < a->nfds; i++) {
    if (fds[i] >= 0 && dup2(fds[i], i) < 0) _exit(127);
    if (fds[i] < 0) close(i);
  }
  /* the sealed exe is close-on-exec too, and execveat still runs it */
  syscall(SYS_close_range, (unsigned)a->nfds, ~0U, CLOSE_RANGE_CLOEXEC);
  spawn_vm_unblock();
  shim_exec_sealed(a->exe, a->argv);
  a->exec_errno = errno ? errno : ENOEXEC;
  _exit(127);
}

static pid_t launch_new(bool dl, char **argv, const int *fds, int nfds, struct berth_err *err) {
  int exe = shim_exe_fd(dl, err);
  if (exe < 0) return err_wrap(err, "berth-shim");
  struct launch_args a = {exe, argv, fds, nfds, 0};
  pid_t p = spawn_vm(launch_child, &a);
  if (p < 0) return err_sys(err, BERTH_EINTERNAL, "clone");
  if (a.exec_errno) {
    while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
    }
    return berth_err_set(err, BERTH_EINTERNAL, a.exec_errno, "cannot run the sealed berth-shim: %s",
                         strerror(a.exec_errno));
  }
  return p;
}

/* One spare at a time: taken by a launch, made again by a thread of its
 * own, off the request's path.  pid 0: one is wanted; -1: making one
 * failed (tried again at the next launch, which clones and execs).  gone:
 * exited helpers whose cgroup made ahead the same thread removes. */
#define SPARE_GONE_MAX 16
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pid_t pid;
  int ctl;
  bool run;
  pid_t gone[SPARE_GONE_MAX];
  int n_gone;
} spare = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, false, {0}, 0};

/* a long blank argument: room for the role's command line (shim_spare.c) */
#define SPARE_TITLE_ROOM 1023

static pid_t spare_make(int *ctl) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -1;
  static char room[SPARE_TITLE_ROOM + 1];
  memset(room, ' ', SPARE_TITLE_ROOM);
  cleanup_free char *shim = helper_path("berth-shim");
  char *argv[] = {shim, (char *)"spare", room, NULL};
  int fds[] = {-1, -1, -1, sv[1]};
  struct berth_err err = {0};
  pid_t p = launch_new(false, argv, fds, 4, &err);
  close(sv[1]);
  if (p < 0) {
    log_debug("no spare berth-shim: %s", err.msg);
    close(sv[0]);
    return -1;
  }
  *ctl = sv[0];
  return p;
}

/* EOF on its socket: it removes its cgroup and exits (SIGKILL after 1 s) */
static void spare_end(pid_t pid, int ctl) {
  close(ctl);
  for (int i = 0; i < 100; i++) {
    pid_t r = waitpid(pid, NULL, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

/* where a spare's cgroup made ahead ("spare-<pid>", shim_spare.c) is
 * seen, on the cgroup v1 hierarchies that can adopt one */
#define SPARE_CG_DIR "/sys/fs/cgroup/memory/berth"

/* the cgroups of spares that died without removing them (killed -9):
 * "spare-<pid>" of a pid that is gone */
static void spare_sweep_cgroups(void) {
  const struct cgroup_ops *cg = cgroup_ops();
  cleanup_dir DIR *d = cg->adopt ? opendir(SPARE_CG_DIR) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    int pid = 0;
    if (sscanf(de->d_name, "spare-%d", &pid) == 1 && pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
      cg->destroy(de->d_name);
  }
}

static void spare_cgroup_remove(pid_t pid) {
  char name[32], probe[96];
  snprintf(name, sizeof name, "spare-%d", (int)pid);
  snprintf(probe, sizeof probe, SPARE_CG_DIR "/%s", name);
  if (access(probe, F_OK) == 0) cgroup_ops()->destroy(name);
}

/* eight rmdirs (~0.2 ms): by the keeper, not before an exec's stream ends */
void shim_spare_exited(pid_t pid) {
  if (!cgroup_ops()->adopt || pid <= 0) return;
  pthread_mutex_lock(&spare.mu);
  bool queued = spare.run && spare.n_gone < SPARE_GONE_MAX;
  if (queued) {
    spare.gone[spare.n_gone++] = pid;
    pthread_cond_signal(&spare.cv);
  }
  pthread_mutex_unlock(&spare.mu);
  if (!queued) spare_cgroup_remove(pid);
}

/* with spare.mu held: remove the queued cgroups (the lock let go meanwhile) */
static void spare_drain_gone(void) {
  while (spare.n_gone > 0) {
    pid_t g = spare.gone[--spare.n_gone];
    pthread_mutex_unlock(&spare.mu);
    spare_cgroup_remove(g);
    pthread_mutex_lock(&spare.mu);
  }
}

static void *spare_keeper(void *arg) {
  (void)arg;
  pthread_mutex_lock(&spare.mu);
  while (spare.run) {
    if (spare.pid != 0) {
      if (spare.n_gone > 0)
        spare_drain_gone(); /* the next spare first: an exec may be waiting for it */
      else
        pthread_cond_wait(&spare.cv, &spare.mu);
      continue;
    }
    pthread_mutex_unlock(&spare.mu);
    int ctl = -1;
    pid_t p = spare_make(&ctl);
    pthread_mutex_lock(&spare.mu);
    if (!spare.run && p > 0) { /* stopped while it was being made */
      spare_end(p, ctl);
      break;
    }
    spare.pid = p;
    spare.ctl = ctl;
  }
  pthread_mutex_unlock(&spare.mu);
  return NULL;
}

void shim_spare_start(void) {
  spare_sweep_cgroups();
  pthread_mutex_lock(&spare.mu);
  pthread_t t;
  spare.run = pthread_create(&t, NULL, spare_keeper, NULL) == 0;
  if (spare.run) pthread_detach(t);
  pthread_mutex_unlock(&spare.mu);
}

void shim_spare_stop(void) {
  pthread_mutex_lock(&spare.mu);
  spare.run = false;
  spare_drain_gone();
  if (spare.pid > 0) spare_end(spare.pid, spare.ctl);
  spare.pid = -1; /* a spare the keeper is making now: it ends it */
  pthread_cond_signal(&spare.cv);
  pthread_mutex_unlock(&spare.mu);
}

/* the spare, if one is ready (and a new one wanted), else 0 */
static pid_t spare_take(int *ctl) {
  pthread_mutex_lock(&spare.mu);
  pid_t p = spare.pid > 0 ? spare.pid : 0;
  *ctl = spare.ctl;
  if (spare.run && spare.pid != 0) {
    spare.pid = 0;
    pthread_cond_signal(&spare.cv);
  }
  pthread_mutex_unlock(&spare.mu);
  return p;
}

/* hand the role to a spare: its pid, or 0 (none, or it is gone) */
static pid_t spare_hand(char **argv, const int *fds, int nfds) {
  struct shim_spare_hdr h = {(uint32_t)nfds, 0, 0};
  char buf[SHIM_SPARE_MAX_MSG];
  size_t len = sizeof h;
  int pass[SHIM_SPARE_MAX_FDS], npass = 0;
  for (; argv[h.argc]; h.argc++) {
    size_t n = strlen(argv[h.argc]) + 1;
    if (len + n > sizeof buf) return 0;
    memcpy(buf + len, argv[h.argc], n);
    len += n;
  }
  for (int i = 0; i < nfds; i++)
    if (fds[i] >= 0) {
      h.mask |= 1u << i;
      pass[npass++] = fds[i];
    }
  memcpy(buf, &h, sizeof h);
  int ctl;
  pid_t p = spare_take(&ctl);
  if (p <= 0) return 0;
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(SHIM_SPARE_MAX_FDS * sizeof(int))];
  } cm;
  memset(&cm, 0, sizeof cm);
  struct iovec iov = {buf, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (npass) {
    m.msg_control = cm.b;
    m.msg_controllen = CMSG_SPACE((size_t)npass * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    *c = (struct cmsghdr){.cmsg_len = CMSG_LEN((size_t)npass * sizeof(int)),
                          .cmsg_level = SOL_SOCKET,
                          .cmsg_type = SCM_RIGHTS};
    memcpy(CMSG_DATA(c), pass, (size_t)npass * sizeof(int));
  }
  ssize_t n;
  while ((n = sendmsg(ctl, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n == (ssize_t)len) {
    close(ctl);
    return p;
  }
  spare_end(p, ctl); /* it died waiting */
  return 0;
}

pid_t shim_launch(bool dl, char **argv, const int *fds, int nfds, struct berth_err *err) {
  if (nfds > SHIM_SPARE_MAX_FDS)
    return berth_err_set(err, BERTH_EINTERNAL, 0, "berth-shim: %d descriptors", nfds);
  pid_t p = dl ? 0 : spare_hand(argv, fds, nfds);
  return p > 0 ? p : launch_new(dl, argv, fds, nfds, err);
}
