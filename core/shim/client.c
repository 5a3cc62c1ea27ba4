#include "client.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "launch.h"
#include "protocol.h"

/* The processes berthd reaps — the shims it starts, and the container init
 * a dead shim leaves to berthd, its subreaper — reaped the moment they
 * exit: a reaper thread waits in epoll on a pidfd of each (readable once
 * the process is a zombie), the pid and the pidfd in the event's data, so
 * that an exit costs the same with 1,000 shims as with one (a poll of
 * every pidfd at each new shim cost ~1 ms of berthd's CPU at 1,000).
 * Without pidfds (kernel < 5.3), a sweep every 10 s. */
static struct {
  pthread_mutex_t mu;
  pid_t *swept; /* no pidfd: waited for by the sweep */
  size_t n, cap;
  int ep; /* epoll of the pidfds, or -1: no reaper */
} reap = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, -1};

static void sweep_later(pid_t pid) {
  if (reap.n == reap.cap) {
    reap.cap = reap.cap ? reap.cap * 2 : 16;
    reap.swept = xrealloc(reap.swept, reap.cap * sizeof *reap.swept);
  }
  reap.swept[reap.n++] = pid;
}

void shim_reap_later(pid_t pid) {
  pthread_mutex_lock(&reap.mu);
  if (reap.ep >= 0) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec, always */
    struct epoll_event e = {.events = EPOLLIN,
                            .data.u64 = (uint64_t)(uint32_t)fd << 32 | (uint32_t)pid};
    if (fd >= 0 && epoll_ctl(reap.ep, EPOLL_CTL_ADD, fd, &e) < 0) {
      close(fd);
      fd = -1;
    }
    if (fd < 0) sweep_later(pid);
  }
  pthread_mutex_unlock(&reap.mu);
}

/* reaped, or not berthd's child (ECHILD); false: still running */
static bool reaped(pid_t pid) {
  pid_t r = waitpid(pid, NULL, WNOHANG);
  return r != 0 && !(r < 0 && errno == EINTR);
}

static void sweep(void) {
  pthread_mutex_lock(&reap.mu);
  size_t kept = 0;
  for (size_t i = 0; i < reap.n; i++)
    if (!reaped(reap.swept[i])) reap.swept[kept++] = reap.swept[i];
  reap.n = kept;
  pthread_mutex_unlock(&reap.mu);
}

static void *reaper(void *arg) {
  (void)arg;
  for (;;) {
    struct epoll_event ev[64];
    int n = epoll_wait(reap.ep, ev, (int)ARRAY_SIZE(ev), 10000);
    for (int i = 0; i < n; i++) {
      int fd = (int)(ev[i].data.u64 >> 32);
      if (!reaped((pid_t)(uint32_t)ev[i].data.u64)) continue;
      epoll_ctl(reap.ep, EPOLL_CTL_DEL, fd, NULL);
      close(fd);
    }
    if (n == 0) sweep();
  }
  return NULL;
}

void shim_reaper_start(void) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    log_warn("cannot be the shims' subreaper: %s", strerror(errno));
    return;
  }
  pthread_t t;
  pthread_mutex_lock(&reap.mu);
  reap.ep = epoll_create1(EPOLL_CLOEXEC);
  if (reap.ep >= 0 && pthread_create(&t, NULL, reaper, NULL) == 0) {
    pthread_detach(t);
  } else if (reap.ep >= 0) {
    close(reap.ep);
    reap.ep = -1;
  }
  pthread_mutex_unlock(&reap.mu);
}

int shim_spawn(const char *bundle, const char *sock, const char *plugin_dir, bool dl, int mntns_fd,
               int netns_fd, pid_t *pid, struct berth_err *err) {
  /* argv[0] is berth-shim for both builds: what ps shows and pgrep finds */
  cleanup_free char *shim = helper_path("berth-shim");
  cleanup_free char *logf = xasprintf("%s/shim.log", bundle);
  int rp[2];
  if (pipe2(rp, O_CLOEXEC) < 0) return err_sys(err, BERTH_EINTERNAL, "pipe");
  int lf = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  char *argv[16] = {shim,
                    (char *)"--bundle",
                    (char *)bundle,
                    (char *)"--socket",
                    (char *)sock,
                    (char *)"--ready-fd",
                    (char *)"3",
                    (char *)"--plugin-dir",
                    (char *)plugin_dir};
  int na = 9;
  if (mntns_fd >= 0) {
    argv[na++] = (char *)"--mntns-fd";
    argv[na++] = (char *)"4";
  }
  if (netns_fd >= 0) {
    argv[na++] = (char *)"--netns-fd";
    argv[na++] = (char *)"5";
  }
  /* berthd's own child (no double fork): it outlives berthd all the same,
   * and berthd reaps it (the reaper, below); stdio to shim.log, the ready
   * pipe at 3, the namespace to clone the init from at 4, a network
   * namespace made ahead for it at 5 */
  int fds[] = {-1, lf, lf, rp[1], mntns_fd, netns_fd};
  pid_t p = shim_launch(dl, argv, fds, netns_fd >= 0 ? 6 : mntns_fd >= 0 ? 5 : 4, err);
  if (lf >= 0) close(lf);
  close(rp[1]);
  if (p < 0) {
    close(rp[0]);
    return (int)p;
  }
  /* a pidfd before the reaper can take it: a shim that fails is waited
   * for below */
  int pfd = (int)syscall(SYS_pidfd_open, p, 0);
  shim_reap_later(p);
  char buf[1200];
  size_t got = 0;
  ssize_t n;
  /* one line; EOF without one means the shim died */
  while (got < sizeof buf - 1 && !memchr(buf, '\n', got) &&
         (n = read(rp[0], buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)n;
  close(rp[0]);
  buf[got] = 0;
  buf[strcspn(buf, "\n")] = 0;
  if (str_has_prefix(buf, "OK ")) {
    if (pfd >= 0) close(pfd);
    *pid = (pid_t)atoi(buf + 3);
    return 0;
  }
  /* gone before the caller goes on: its clean-up (the container's cgroup
   * removed) must not meet the next start's shim making it again */
  struct pollfd pf = {pfd, POLLIN, 0};
  if (pfd >= 0) {
    while (poll(&pf, 1, 2000) < 0 && errno == EINTR) {
    }
    close(pfd);
  }
  return berth_err_set(err, BERTH_EINTERNAL, 0, "%s",
                       str_has_prefix(buf, "ERR ") ? buf + 4 : "berth-shim failed to start");
}

int shim_connect(const char *sock, const char *cmd) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(sock) >= sizeof sa.sun_path) return -1;
  strcpy(sa.sun_path, sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      write_all_fd(fd, cmd, strlen(cmd)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* one reply line, without its newline */
static void read_line(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len - 1) {
    ssize_t n = read(fd, buf + got, 1);
    if (n <= 0 || buf[got] == '\n') break;
    got++;
  }
  buf[got] = 0;
}

static void request(const char *sock, const char *cmd, char *reply, size_t len) {
  reply[0] = 0;
  int fd = shim_connect(sock, cmd);
  if (fd < 0) return;
  read_line(fd, reply, len);
  close(fd);
}

enum shim_state shim_status(const char *sock, int *pid) {
  char line[128];
  int fd = shim_connect(sock, "STATUS\n");
  if (fd < 0) return SHIM_GONE;
  read_line(fd, line, sizeof line);
  close(fd);
  int v = 0;
  if (sscanf(line, "RUNNING %d", &v) == 1) {
    if (pid) *pid = v;
    return SHIM_RUNNING;
  }
  return SHIM_EXITED;
}

int shim_start(const char *sock, char *reason, size_t len) {
  char line[1200];
  request(sock, "START\n", line, sizeof line);
  if (str_has_prefix(line, "OK")) return 0;
  snprintf(reason, len, "%s", str_has_prefix(line, "ERR ") ? line + 4 : "");
  return -1;
}

void shim_resize(const char *sock, int h, int w) {
  char cmd[64], line[16];
  snprintf(cmd, sizeof cmd, "RESIZE %d %d\n", h, w);
  request(sock, cmd, line, sizeof line);
}

/* the exit frame's payload, "<code> <oom>" (len < 64) */
static bool exit_payload(const void *data, uint32_t len, int *code, bool *oom) {
  char payload[64];
  memcpy(payload, data, len);
  payload[len] = 0;
  int o = 0;
  bool got = sscanf(payload, "%d %d", code, &o) == 2;
  *oom = o != 0;
  return got;
}

static bool watch_fd(int fd, int *code, bool *oom) {
  unsigned char h[8];
  char payload[64];
  uint32_t len;
  while (shim_read_frame(fd, h, payload, sizeof payload - 1, &len) == 1)
    if (h[0] == SHIM_F_EXIT) return exit_payload(payload, len, code, oom);
  return false;
}

/* ---- the watcher: every WATCH connection on one epoll thread ---- */

struct watch {
  struct watch *prev, *next; /* the watches open: berthd holds them (not only the kernel) */
  int fd;
  shim_exit_fn *done;
  void *arg;
  bool framed, oom;
  bool blocking; /* no watcher thread: read on the done thread */
  int code;
  unsigned char buf[8 + 64]; /* a frame at most (the exit frame's payload is short) */
  size_t got;
};

static int watch_ep = -1;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static struct watch *watching;
static pthread_mutex_t watching_mu = PTHREAD_MUTEX_INITIALIZER;

static void watching_add(struct watch *w) {
  pthread_mutex_lock(&watching_mu);
  w->next = watching;
  if (watching) watching->prev = w;
  watching = w;
  pthread_mutex_unlock(&watching_mu);
}

static void watching_del(struct watch *w) {
  pthread_mutex_lock(&watching_mu);
  if (w->prev) w->prev->next = w->next;
  if (w->next) w->next->prev = w->prev;
  if (watching == w) watching = w->next;
  w->prev = w->next = NULL;
  pthread_mutex_unlock(&watching_mu);
}

static void *watch_done_main(void *p) {
  struct watch *w = p;
  if (w->blocking) { /* the frame read here, blocking */
    w->framed = watch_fd(w->fd, &w->code, &w->oom);
    close(w->fd);
  }
  w->done(w->arg, w->framed, w->code, w->oom);
  free(w);
  return NULL;
}

/* done on a thread of its own (the watcher never waits for it) */
static void watch_finish(struct watch *w) {
  watching_del(w);
  if (w->fd >= 0 && !w->blocking) {
    epoll_ctl(watch_ep, EPOLL_CTL_DEL, w->fd, NULL);
    close(w->fd);
    w->fd = -1;
  }
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  while (pthread_create(&t, &at, watch_done_main, w) != 0)
    usleep(10000); /* out of threads for a moment: the exit must still be handled */
  pthread_attr_destroy(&at);
}

/* what arrived: frames other than the exit frame are dropped; 1 when the
 * connection is done with (the exit frame, end of file, an error) */
static bool watch_read(struct watch *w) {
  for (;;) {
    ssize_t n = read(w->fd, w->buf + w->got, sizeof w->buf - w->got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n <= 0) return true;
    w->got += (size_t)n;
    while (w->got >= 8) {
      uint32_t len = shim_frame_len(w->buf);
      if (len > sizeof w->buf - 9) return true; /* not a frame a shim sends on WATCH */
      if (w->got < 8 + len) break;
      if (w->buf[0] == SHIM_F_EXIT) {
        w->framed = exit_payload(w->buf + 8, len, &w->code, &w->oom);
        return true;
      }
      memmove(w->buf, w->buf + 8 + len, w->got - 8 - len);
      w->got -= 8 + len;
    }
  }
}

static void *watcher_main(void *unused) {
  (void)unused;
  struct epoll_event ev[64];
  for (;;) {
    int n = epoll_wait(watch_ep, ev, 64, -1);
    for (int i = 0; i < n; i++) {
      struct watch *w = ev[i].data.ptr;
      if (watch_read(w)) watch_finish(w);
    }
    if (n < 0 && errno != EINTR) usleep(10000);
  }
  return NULL;
}

static void watcher_start(void) {
  watch_ep = epoll_create1(EPOLL_CLOEXEC);
  pthread_t t;
  if (watch_ep >= 0 && pthread_create(&t, NULL, watcher_main, NULL) == 0)
    pthread_detach(t);
  else if (watch_ep >= 0) {
    close(watch_ep);
    watch_ep = -1;
  }
}

void shim_watch_async(const char *sock, shim_exit_fn *done, void *arg) {
  pthread_once(&watch_once, watcher_start);
  struct watch *w = xcalloc(1, sizeof *w);
  w->done = done;
  w->arg = arg;
  w->fd = shim_connect(sock, "WATCH\n");
  if (w->fd >= 0 && watch_ep < 0) { /* no watcher thread: a thread of its own */
    w->blocking = true;
    watch_finish(w);
    return;
  }
  if (w->fd < 0 || fcntl(w->fd, F_SETFL, O_NONBLOCK) < 0) {
    watch_finish(w);
    return;
  }
  watching_add(w);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = w};
  if (epoll_ctl(watch_ep, EPOLL_CTL_ADD, w->fd, &ev) < 0) watch_finish(w);
}

bool shim_wait_gone(const char *sock, int ms) {
  /* a shim that sent its exit frame is gone within a millisecond or two
   * (its log closed, its cgroup removed): look every 0.5 ms at first,
   * then every 10 ms (10 ms steps were most of `stop -t 0`) */
  int64_t until = now_ns() + (int64_t)ms * 1000000;
  for (int i = 0; now_ns() < until; i++) {
    if (!path_exists(sock)) return true;
    usleep(i < 40 ? 500 : 10000);
  }
  return !path_exists(sock);
}

static bool read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += (size_t)n;
  }
  return true;
}

int shim_read_frame(int fd, unsigned char h[8], char *buf, uint32_t cap, uint32_t *len) {
  if (!read_full(fd, h, 8)) return 0;
  *len = shim_frame_len(h);
  if (*len > cap || !read_full(fd, buf, *len)) return 0;
  return 1;
}

int shim_send_frame(int fd, int type, const void *data, uint32_t len) {
  unsigned char h[8];
  shim_frame_header(h, type, len);
  if (write_all_fd(fd, h, 8) < 0) return -1;
  return len ? write_all_fd(fd, data, len) : 0;
}
