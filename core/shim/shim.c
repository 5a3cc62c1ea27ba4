/* berth-shim: one per container.  Creates the container through the
 * runtime, owns its stdio (pipes, or the pty master), writes every line to
 * the log driver, serves attach clients, records the exit status
 * atomically.  It is started by berthd with a double fork and outlives it:
 * berthd finds it again through its socket. */
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/mount.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "../fault.h"
#include "../plugin.h"
#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"
#include "protocol.h"
#include "shim.h"

#define MAX_CLIENTS 64
#define LINE_MAX_LEN 16384

struct client {
  int fd;
  int mask; /* SHIM_ATTACH_* for attach clients, 0 until the command */
  bool watch;
  bool attached;
  char cmd[128];
  size_t cmd_len;
  unsigned char hdr[8];
  size_t hdr_len;
  char *payload;
  size_t payload_len, payload_want;
};

struct stream {
  int fd;
  int type; /* 1 stdout, 2 stderr */
  char line[LINE_MAX_LEN];
  size_t len;
};

static struct {
  struct rt_spec spec;
  json_t *extra;
  const char *socket_path;
  char *exit_path;
  int listen_fd;
  pid_t pid;
  int start_w, err_r;
  int stdin_w; /* -1 when closed */
  int pty;     /* master, -1 without tty */
  struct stream out, err;
  struct client clients[MAX_CLIENTS];
  size_t n_clients;
  bool started, exited, stdin_once;
  int exit_code;
  bool oom_killed; /* read once, at the exit */
  char error[1024];
  struct loaded_plugin *logger;
  void *sink;
  const struct cgroup_ops *cg;
  int ready_fd;
  int mntns_fd; /* --mntns-fd: the namespace to clone the init from, or -1 */
  int netns_fd; /* --netns-fd: a network namespace made ahead for the init, or -1 */
} S;

/* ---------------- logging ---------------- */

static void log_line(int type, const char *data, size_t len, bool partial) {
  if (!S.sink) return;
  struct berth_log_msg m = {sizeof m, (uint32_t)type, now_ns(), data, len, partial};
  struct berth_err e = {0};
  FAULT_CALL(S.logger, "log", &e, S.logger->ops.logger.log(S.sink, &m, &e));
}

static void feed_log(struct stream *st, const char *buf, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = buf[i];
    if (c == '\n') {
      size_t l = st->len;
      if (S.spec.tty && l && st->line[l - 1] == '\r') l--;
      log_line(st->type, st->line, l, false);
      st->len = 0;
      continue;
    }
    st->line[st->len++] = c;
    if (st->len == sizeof st->line) {
      log_line(st->type, st->line, st->len, true);
      st->len = 0;
    }
  }
}

static void flush_log(struct stream *st) {
  if (st->len) log_line(st->type, st->line, st->len, false);
  st->len = 0;
}

/* ---------------- clients ---------------- */

static void drop_client(size_t i) {
  close(S.clients[i].fd);
  free(S.clients[i].payload);
  S.clients[i] = S.clients[--S.n_clients];
}

static int send_frame(int fd, int type, const void *data, size_t len) {
  unsigned char h[8];
  shim_frame_header(h, type, (uint32_t)len);
  if (write_all_fd(fd, h, 8) < 0) return -1;
  return len ? write_all_fd(fd, data, len) : 0;
}

static void broadcast(int type, const char *data, size_t len) {
  int bit = type == SHIM_F_STDOUT ? SHIM_ATTACH_STDOUT : SHIM_ATTACH_STDERR;
  for (size_t i = 0; i < S.n_clients;) {
    struct client *c = &S.clients[i];
    if (c->attached && (c->mask & bit) && send_frame(c->fd, type, data, len) < 0) {
      drop_client(i);
      continue;
    }
    i++;
  }
}

static int reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reply(int fd, const char *fmt, ...) {
  char b[1200];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  return write_all_fd(fd, b, (size_t)(n < (int)sizeof b ? n : (int)sizeof b - 1));
}

/* Stdin EOF for the container.  With a tty there is nothing to close (the
 * master is also the output), and docker keeps it open so a later attach
 * can type again. */
static void close_stdin(void) {
  if (S.pty >= 0) return;
  if (S.stdin_w >= 0) close(S.stdin_w);
  S.stdin_w = -1;
}

static void do_start(int fd) {
  if (S.started) {
    reply(fd, "ERR container already started\n");
    return;
  }
  S.started = true;
  char go = 'G';
  /* the G may find the init gone (EPIPE): its message is on the pipe all
   * the same (a lookup that failed before the hold) */
  bool sent = !S.error[0] && write(S.start_w, &go, 1) == 1;
  if (!S.error[0]) {
    /* the init's NUL: all that can fail before the exec is done (it may
     * come before or after the G), and the START is answered, as runc's
     * start returns once its init has passed the exec fifo; or its
     * message, to the pipe's EOF */
    size_t got = 0;
    ssize_t n;
    while ((n = read(S.err_r, S.error + got, sizeof S.error - 1 - got)) > 0) {
      got += (size_t)n;
      if (!S.error[0]) break; /* ready */
    }
    bool ready = got > 0 && !S.error[0];
    S.error[ready ? 0 : got] = 0;
    close(S.err_r);
    S.err_r = -1;
    if (!S.error[0] && !(ready && sent))
      snprintf(S.error, sizeof S.error, "container init exited before start");
  }
  close(S.start_w);
  S.start_w = -1;
  if (S.error[0])
    reply(fd, "ERR %s\n", S.error);
  else
    reply(fd, "OK %d\n", (int)S.pid);
}

static void handle_command(size_t i) {
  struct client *c = &S.clients[i];
  c->cmd[c->cmd_len] = 0;
  int mask, h, w;
  if (!strcmp(c->cmd, "START")) {
    do_start(c->fd);
  } else if (sscanf(c->cmd, "ATTACH %d", &mask) == 1) {
    c->mask = mask;
    c->attached = true;
    if (S.exited) {
      char p[32];
      snprintf(p, sizeof p, "%d 0", S.exit_code);
      send_frame(c->fd, SHIM_F_EXIT, p, strlen(p));
    }
    return;
  } else if (!strcmp(c->cmd, "WATCH")) {
    c->watch = true;
    return;
  } else if (sscanf(c->cmd, "RESIZE %d %d", &h, &w) == 2) {
    struct winsize ws = {(unsigned short)h, (unsigned short)w, 0, 0};
    if (S.pty >= 0) ioctl(S.pty, TIOCSWINSZ, &ws);
    reply(c->fd, "OK\n");
  } else if (!strcmp(c->cmd, "STATUS")) {
    if (S.exited)
      reply(c->fd, "EXITED %d\n", S.exit_code);
    else
      reply(c->fd, "RUNNING %d\n", (int)S.pid);
  } else {
    reply(c->fd, "ERR unknown command\n");
  }
  drop_client(i);
}

static void handle_frame(struct client *c, int type) {
  if (type == SHIM_F_STDIN && (c->mask & SHIM_ATTACH_STDIN) && S.stdin_w >= 0) {
    if (write_all_fd(S.stdin_w, c->payload, c->payload_len) < 0) close_stdin();
  } else if (type == SHIM_F_STDIN_CLOSE && (c->mask & SHIM_ATTACH_STDIN)) {
    if (S.stdin_once) close_stdin();
  } else if (type == SHIM_F_RESIZE && S.pty >= 0) {
    int h, w;
    char b[64];
    snprintf(b, sizeof b, "%.*s", (int)c->payload_len, c->payload);
    if (sscanf(b, "%d %d", &h, &w) == 2) {
      struct winsize ws = {(unsigned short)h, (unsigned short)w, 0, 0};
      ioctl(S.pty, TIOCSWINSZ, &ws);
    }
  }
}

/* Returns false when the client is gone. */
static bool client_read(size_t i) {
  struct client *c = &S.clients[i];
  char buf[65536];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n <= 0) {
    /* an attach client that leaves closes stdin once, like docker */
    if (c->attached && (c->mask & SHIM_ATTACH_STDIN) && S.stdin_once) close_stdin();
    drop_client(i);
    return false;
  }
  size_t off = 0;
  while (off < (size_t)n) {
    if (!c->attached && !c->watch) {
      char ch = buf[off++];
      if (ch == '\n') {
        size_t before = S.n_clients;
        handle_command(i);
        if (S.n_clients < before) return false;
        continue;
      }
      if (c->cmd_len < sizeof c->cmd - 1) c->cmd[c->cmd_len++] = ch;
      continue;
    }
    if (c->watch) return true;
    if (c->hdr_len < 8) {
      c->hdr[c->hdr_len++] = (unsigned char)buf[off++];
      if (c->hdr_len == 8) {
        c->payload_want = shim_frame_len(c->hdr);
        c->payload_len = 0;
        c->payload = xrealloc(c->payload, c->payload_want + 1);
        if (c->payload_want == 0) {
          handle_frame(c, c->hdr[0]);
          c->hdr_len = 0;
        }
      }
      continue;
    }
    size_t take = c->payload_want - c->payload_len;
    if (take > (size_t)n - off) take = (size_t)n - off;
    memcpy(c->payload + c->payload_len, buf + off, take);
    c->payload_len += take;
    off += take;
    if (c->payload_len == c->payload_want) {
      handle_frame(c, c->hdr[0]);
      c->hdr_len = 0;
    }
  }
  return true;
}

/* ---------------- output ---------------- */

/* Returns false at EOF. */
static bool pump(struct stream *st) {
  char buf[65536];
  ssize_t n = read(st->fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) return false;
  feed_log(st, buf, (size_t)n);
  broadcast(st->type, buf, (size_t)n);
  return true;
}

static void record_exit(int status) {
  S.exited = true;
  if (!S.started && !S.error[0] && S.err_r >= 0) {
    /* init failed during set-up, before START: keep its reason for berthd */
    ssize_t n = read(S.err_r, S.error, sizeof S.error - 1);
    S.error[n > 0 ? n : 0] = 0;
  }
  S.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  S.oom_killed = S.cg->oom_kills(S.spec.id) > 0;
  char ts[64];
  format_rfc3339(now_ns(), ts, sizeof ts);
  json_t *j = json_pack("{s:i,s:b,s:s,s:s}", "exit_code", S.exit_code, "oom_killed", S.oom_killed,
                        "finished_at", ts, "error", S.started ? "" : S.error);
  char *text = json_dumps(j, JSON_COMPACT);
  /* berthd's record of the exit is the durable one (ctr_save before any
   * waiter hears of it); this file hands the code over, and a crash of
   * berthd keeps it (the page cache does).  A power cut ends the container
   * with the machine: no fsync here. */
  write_file_derived(S.exit_path, text, strlen(text), 0600);
  free(text);
  json_decref(j);
}

/* The log's last lines are written (readable by `logs`) before anyone
 * hears of the exit; the driver's close (json-file's fsync) comes after the
 * exit frame, off the path of wait, stop and run --rm. */
static void finish(void) {
  flush_log(&S.out);
  flush_log(&S.err);
  char p[32];
  snprintf(p, sizeof p, "%d %d", S.exit_code, S.oom_killed ? 1 : 0);
  for (size_t i = 0; i < S.n_clients; i++) {
    if (S.clients[i].attached || S.clients[i].watch)
      send_frame(S.clients[i].fd, SHIM_F_EXIT, p, strlen(p));
    shutdown(S.clients[i].fd, SHUT_WR);
  }
  if (S.sink) {
    struct berth_err e = {0};
    FAULT_CALL(S.logger, "close", &e, S.logger->ops.logger.close(S.sink, &e));
    S.sink = NULL;
  }
  S.cg->destroy(S.spec.id);
  unlink(S.socket_path);
  /* let clients read the exit frame before the sockets go */
  for (size_t i = 0; i < S.n_clients; i++) {
    struct pollfd pf = {S.clients[i].fd, POLLIN, 0};
    char sink[256];
    for (int k = 0; k < 20 && poll(&pf, 1, 50) > 0 && read(S.clients[i].fd, sink, sizeof sink) > 0;
         k++) {
    }
    close(S.clients[i].fd);
  }
}

/* ---------------- set-up ---------------- */

static int open_logger(const char *plugin_dir, struct berth_err *err) {
  json_t *log = json_object_get(S.extra, "log");
  const char *driver = json_string_value(json_object_get(log, "driver"));
  if (!driver || !strcmp(driver, "none")) return 0;
  static struct plugin_set set;
  static struct berth_config cfg;
  /* the very file berthd loaded (a path), or the built-in of that name */
  const char *file = json_string_value(json_object_get(log, "file"));
  bool by_path = file && file[0] == '/';
  int r = plugin_load(&set, plugin_dir, BERTH_KIND_LOGGER, by_path ? file : driver, &S.logger, err);
  if (r < 0) return r;
  if (strcmp(S.logger->name, driver))
    return berth_err_set(err, BERTH_EINVAL, 0, "log driver %s calls itself '%s', not '%s'",
                         by_path ? file : driver, S.logger->name, driver);
  /* and the configuration berthd resolved for it */
  shim_host_config(json_object_get(log, "config"));
  cfg.data_root = (char *)json_string_value(json_object_get(log, "root_dir"));
  cfg.exec_root = (char *)json_string_value(json_object_get(log, "run_dir"));
  if ((r = plugin_init(S.logger, &cfg, err)) < 0) return r;
  json_t *opts = json_object_get(log, "opts");
  size_t n = json_object_size(opts), k = 0;
  struct berth_kv *kv = xcalloc(n + 1, sizeof *kv);
  const char *key;
  json_t *v;
  json_object_foreach(opts, key, v) {
    kv[k].struct_size = sizeof kv[k];
    kv[k].key = key;
    kv[k].value = json_string_value(v);
    k++;
  }
  struct berth_log_info info = {sizeof info,
                                S.spec.id,
                                json_string_value(json_object_get(log, "container_name")),
                                json_string_value(json_object_get(log, "image_id")),
                                json_string_value(json_object_get(log, "image_name")),
                                now_ns(),
                                json_string_value(json_object_get(log, "path")),
                                kv,
                                n};
  r = FAULT_CALL(S.logger, "open", err,
                 S.logger->ops.logger.open(S.logger->drv, &info, &S.sink, err));
  free(kv);
  if (r < 0) err_wrap(err, "failed to initialize logging driver"); /* dockerd's words */
  return r;
}

static int listen_socket(struct berth_err *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(S.socket_path) >= sizeof sa.sun_path)
    return berth_err_set(err, BERTH_EINVAL, 0, "socket path too long: %s", S.socket_path);
  strcpy(sa.sun_path, S.socket_path);
  unlink(S.socket_path);
  S.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (S.listen_fd < 0 || bind(S.listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      listen(S.listen_fd, 16) < 0)
    return err_sys(err, BERTH_EINTERNAL, "listen on %s", S.socket_path);
  chmod(S.socket_path, 0600);
  return 0;
}

struct child_args {
  struct rt_child_io io;
  int close_fds[8];
  size_t n_close;
  int netns_fd; /* --network container:<id>: its namespace, or -1 */
};

static int child_main(void *p) {
  struct child_args *a = p;
  for (size_t i = 0; i < a->n_close; i++)
    close(a->close_fds[i]);
  /* nothing of the shim's may reach the container's process: berthd waits
   * for EOF on the ready pipe, and the log file is not the container's */
  if (S.ready_fd >= 0) close(S.ready_fd);
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  if (a->netns_fd >= 0 && setns(a->netns_fd, CLONE_NEWNET) < 0) {
    rt_report(a->io.err_fd, "join the network of %s: %s",
              S.spec.netns_path ? S.spec.netns_path : "the namespace made ahead", strerror(errno));
    _exit(125);
  }
  /* in a user namespace its maps come with the cgroup byte, and it opens
   * its sources while still host uid 0: all before anything else */
  if (S.spec.userns.size) {
    rt_enter_cgroup(a->io.cgroup_fd, a->io.err_fd);
    a->io.cgroup_fd = -1;
    rt_userns_open_sources(&S.spec, a->io.err_fd);
  }
  rt_container_init(&S.spec, &a->io);
}

/* the container's cgroup, with its limits and device rules (a spare's
 * cgroup not taken is dropped by main) */
static int make_cgroup(struct berth_err *err) {
  struct cg_limits l = cgroup_limits_parse(json_object_get(S.extra, "cgroup"));
  l.all_devices = S.spec.privileged;
  l.device_rules = json_object_get(S.spec.limits, "device_rules");
  /* the spare's, made ahead with docker's default devices, where it fits */
  const char *warm = shim_spare_cgroup();
  if (warm && !l.all_devices && json_array_size(l.device_rules) == 0) {
    int r = S.cg->adopt(warm, S.spec.id, &l, err);
    if (r <= 0) shim_spare_cgroup_taken();
    if (r <= 0) return r;
  }
  return S.cg->create(S.spec.id, &l, err);
}

/* In a user namespace the init cannot join a network namespace it does
 * not own (a bridge's sandbox, container:<id>): the shim joins it for the
 * clone, writing its net.* sysctls there, and goes back (to *own_net) after;
 * named volumes become id-mapped trees while the shim can still make them. */
static int userns_before_clone(struct child_args *a, int *own_net, struct berth_err *err) {
  *own_net = -1;
  if (!S.spec.userns.size) return 0;
  if (rt_userns_map_volumes(&S.spec, err) < 0) return -err->code;
  if (a->netns_fd < 0) return 0;
  *own_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*own_net < 0) return err_sys(err, BERTH_EINTERNAL, "open /proc/self/ns/net");
  if (setns(a->netns_fd, CLONE_NEWNET) < 0)
    return err_sys(err, BERTH_EINTERNAL, "join the network of %s", S.spec.netns_path);
  close(a->netns_fd);
  a->netns_fd = -1;
  return rt_apply_net_sysctls(&S.spec, err);
}

static void userns_after_clone(int own_net) {
  if (own_net >= 0) {
    if (setns(own_net, CLONE_NEWNET) < 0) log_warn("back to the shim's network: %m");
    close(own_net);
  }
  for (size_t i = 0; i < S.spec.n_mounts; i++)
    if (S.spec.mounts[i].fd >= 0) {
      close(S.spec.mounts[i].fd);
      S.spec.mounts[i].fd = -1;
    }
}

static void tmpl_drop_trees(void) {
  if (S.spec.rootfs_tree >= 0) close(S.spec.rootfs_tree);
  S.spec.rootfs_tree = -1;
  for (size_t i = 0; i < S.spec.n_mounts; i++) {
    struct rt_mount *m = &S.spec.mounts[i];
    if (!m->tree) continue;
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
    m->tree = false;
  }
}

static int tree_of(const char *path) {
  return (int)syscall(SYS_open_tree, AT_FDCWD, path,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
}

/* The init is cloned from berthd's template (rt_mntns_template) when
 * berthd gave one and the container has no user namespace: what it needs
 * of the mounts here (its rootfs, the bind sources) it gets as detached
 * trees made now, and the shim enters the template for the clone and goes
 * back after (*own, *cwd).  Whatever fails leaves the clone to the shim's
 * own namespace, as without a template. */
static void tmpl_before_clone(int *own, int *cwd) {
  *own = *cwd = -1;
  if (S.mntns_fd < 0 || S.spec.userns.size) return;
  bool ok = (S.spec.rootfs_tree = tree_of(S.spec.rootfs)) >= 0;
  for (size_t i = 0; ok && i < S.spec.n_mounts; i++) {
    struct rt_mount *m = &S.spec.mounts[i];
    if (m->type || m->fd >= 0) continue;
    m->tree = ok = (m->fd = tree_of(m->source)) >= 0;
  }
  if (ok) {
    *cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    *own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    /* a thread of a sanitizer's may share the fs: this thread's own first */
    ok = *own >= 0 && unshare(CLONE_FS) == 0 && setns(S.mntns_fd, CLONE_NEWNS) == 0;
  }
  if (ok) return;
  log_warn("the init is cloned from the shim's own mount namespace: %s", strerror(errno));
  tmpl_drop_trees();
  if (*own >= 0) close(*own);
  if (*cwd >= 0) close(*cwd);
  *own = *cwd = -1;
}

static int tmpl_after_clone(int own, int cwd, struct berth_err *err) {
  int r = 0;
  if (own >= 0 && setns(own, CLONE_NEWNS) < 0)
    r = err_sys(err, BERTH_EINTERNAL, "back to the shim's mount namespace");
  if (cwd >= 0 && fchdir(cwd) < 0) log_warn("back to the shim's directory: %m");
  if (own >= 0) close(own);
  if (cwd >= 0) close(cwd);
  tmpl_drop_trees();
  return r;
}

/* make_cgroup: a limit the kernel refuses is a start's error in runc's
 * words, as docker shows it */
static int make_limited_cgroup(struct berth_err *err) {
  int r = make_cgroup(err);
  if (r < 0 && err->code == BERTH_EINVAL) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    berth_err_set(err, BERTH_EINVAL, 0,
                  "failed to create task for container: failed to create shim task: OCI runtime "
                  "create failed: runc create failed: unable to start container process: error "
                  "during container init: error setting cgroup config for procHooks process: %s: "
                  "unknown",
                  why);
  }
  return r;
}

/* the init in its cgroup, then let on to its cgroup mounts; the user
 * namespace's maps first */
static int place_init(int cg_w, struct berth_err *err) {
  struct berth_err ce = {0};
  int mr = S.spec.userns.size ? idmap_write(S.pid, &S.spec.userns) : 0;
  if (mr < 0)
    berth_err_set(&ce, BERTH_EINTERNAL, -mr, "write the user namespace's maps: %s", strerror(-mr));
  /* the cgroup is made while the init makes its first mounts */
  if (mr < 0 || make_limited_cgroup(&ce) < 0 || S.cg->add_pid(S.spec.id, S.pid, &ce) < 0) {
    close(cg_w);
    kill(S.pid, SIGKILL);
    return berth_err_set(err, ce.code, ce.sys_errno, "%s", ce.msg);
  }
  ssize_t w = write(cg_w, "C", 1);
  close(cg_w);
  if (w != 1) {
    kill(S.pid, SIGKILL);
    return err_sys(err, BERTH_EINTERNAL, "release the container's init");
  }
  return 0;
}

/* another container's pid namespace: the shim's next child is born in it
 * (setns of a pid namespace moves only the children).  The host's pid
 * namespace: the container's orphans come to the shim. */
static int join_ns(const char *path, int type, const char *what, struct berth_err *err) {
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int r = fd < 0 ? -1 : setns(fd, type);
  int e = errno;
  if (fd >= 0) close(fd);
  return r < 0 ? err_sys_(err, BERTH_ECONFLICT, e, "join the %s namespace %s", what, path) : 0;
}

/* another container's ipc namespace: the shim's, so its child's (--ipc
 * container:) */
static int join_before_clone(struct berth_err *err) {
  if (S.spec.host_pid) prctl(PR_SET_CHILD_SUBREAPER, 1);
  int r = join_ns(S.spec.pidns_path, CLONE_NEWPID, "pid", err);
  return r < 0 ? r : join_ns(S.spec.ipcns_path, CLONE_NEWIPC, "ipc", err);
}

static int create_container(struct berth_err *err) {
  int start[2], errp[2], o[2] = {-1, -1}, e[2] = {-1, -1}, in[2] = {-1, -1}, pty[2] = {-1, -1};
  int cgs[2];
  if (pipe2(start, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(cgs, O_CLOEXEC) < 0)
    return err_sys(err, BERTH_EINTERNAL, "pipe");
  struct child_args a = {.io = {start[0], errp[1], cgs[0], -1, {-1, -1, -1}}, .netns_fd = -1};
  a.close_fds[a.n_close++] = cgs[1];
  if (join_before_clone(err) < 0) return -err->code;
  if (S.spec.netns_path && (a.netns_fd = open(S.spec.netns_path, O_RDONLY | O_CLOEXEC)) < 0)
    return err_sys(err, BERTH_EINTERNAL, "open %s", S.spec.netns_path);
  /* berthd's namespace made ahead (lo up), for a network of its own */
  if (!S.spec.netns_path && !S.spec.host_network && !S.spec.userns.size && S.netns_fd >= 0) {
    a.netns_fd = S.netns_fd;
    S.netns_fd = -1;
    S.spec.netns_ahead = true;
  }
  a.close_fds[a.n_close++] = start[1];
  a.close_fds[a.n_close++] = errp[0];
  if (S.spec.tty) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pty) < 0)
      return err_sys(err, BERTH_EINTERNAL, "socketpair");
    a.io.pty_sock = pty[1];
    a.close_fds[a.n_close++] = pty[0];
  } else {
    if (pipe(o) < 0 || pipe(e) < 0) return err_sys(err, BERTH_EINTERNAL, "pipe");
    if (S.spec.open_stdin) {
      if (pipe(in) < 0) return err_sys(err, BERTH_EINTERNAL, "pipe");
      a.io.stdio[0] = in[0];
      a.close_fds[a.n_close++] = in[1];
    } else {
      a.io.stdio[0] = open("/dev/null", O_RDONLY);
    }
    a.io.stdio[1] = o[1];
    a.io.stdio[2] = e[1];
    a.close_fds[a.n_close++] = o[0];
    a.close_fds[a.n_close++] = e[0];
  }
  int own_net = -1;
  if (userns_before_clone(&a, &own_net, err) < 0) {
    userns_after_clone(own_net);
    return -err->code;
  }
  int own_mnt, cwd;
  tmpl_before_clone(&own_mnt, &cwd);
  size_t stack_size = 1 << 20;
  char *stack = xmalloc(stack_size);
  S.pid = clone(child_main, stack + stack_size, rt_clone_flags(&S.spec) | SIGCHLD, &a);
  int clone_errno = errno;
  free(stack);
  int back = tmpl_after_clone(own_mnt, cwd, err);
  userns_after_clone(own_net);
  if (a.netns_fd >= 0) close(a.netns_fd);
  close(start[0]);
  close(errp[1]);
  close(cgs[0]);
  if (S.pid < 0) {
    close(cgs[1]);
    return back < 0 ? back : err_sys_(err, BERTH_EINTERNAL, clone_errno, "clone");
  }
  if (back < 0) { /* nowhere to listen for berthd: the init never runs */
    close(cgs[1]);
    kill(S.pid, SIGKILL);
    return back;
  }
  S.start_w = start[1];
  S.err_r = errp[0];
  if (place_init(cgs[1], err) < 0) return -err->code;
  if (S.spec.tty) {
    close(pty[1]);
    S.pty = recv_fd(pty[0]);
    close(pty[0]);
    if (S.pty < 0) {
      /* init died during set-up: its message is on the error pipe */
      ssize_t n = read(S.err_r, S.error, sizeof S.error - 1);
      S.error[n > 0 ? n : 0] = 0;
      if (!S.error[0]) snprintf(S.error, sizeof S.error, "container set-up failed");
      return berth_err_set(err, BERTH_EINTERNAL, 0, "%s", S.error);
    }
    S.out.fd = S.pty;
    S.stdin_w = S.pty;
    S.err.fd = -1;
  } else {
    close(o[1]);
    close(e[1]);
    if (in[0] >= 0)
      close(in[0]);
    else
      close(a.io.stdio[0]);
    S.out.fd = o[0];
    S.err.fd = e[0];
    S.stdin_w = in[1];
  }
  S.out.type = SHIM_F_STDOUT;
  S.err.type = SHIM_F_STDERR;
  return 0;
}

/* In the host's pid namespace (or another container's) nothing ends the
 * container's other processes when its own exits (a namespace's PID 1
 * takes them with it): they are killed, as runc's delete kills them, so
 * that their pipes close and the rootfs can go; the event loop reaps them
 * (the shim is their subreaper with the host's). */
static void kill_leftovers(void) {
  if (S.spec.host_pid || S.spec.pidns_path) S.cg->kill(S.spec.id);
}

static void event_loop(int sfd) {
  bool out_open = S.out.fd >= 0, err_open = S.err.fd >= 0;
  int status = 0;
  bool reaped = false;
  for (;;) {
    struct pollfd p[4 + MAX_CLIENTS];
    size_t n = 0;
    p[n++] = (struct pollfd){sfd, POLLIN, 0};
    p[n++] = (struct pollfd){S.listen_fd, POLLIN, 0};
    p[n++] = (struct pollfd){out_open ? S.out.fd : -1, POLLIN, 0};
    p[n++] = (struct pollfd){err_open ? S.err.fd : -1, POLLIN, 0};
    size_t nc = S.n_clients;
    for (size_t i = 0; i < nc; i++)
      p[n++] = (struct pollfd){S.clients[i].fd, POLLIN, 0};
    int timeout = reaped ? 200 : -1;
    int r = poll(p, n, timeout);
    if (r < 0 && errno != EINTR) break;
    if (r == 0 && reaped) break; /* output drained after exit */
    if (p[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0)
        if (w == S.pid) {
          status = st;
          reaped = true;
          kill_leftovers();
        }
    }
    if (p[1].revents & POLLIN) {
      int c = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0 && S.n_clients < MAX_CLIENTS) {
        memset(&S.clients[S.n_clients], 0, sizeof S.clients[0]);
        S.clients[S.n_clients++].fd = c;
      } else if (c >= 0) {
        close(c);
      }
    }
    if (p[2].revents && !pump(&S.out)) out_open = false;
    if (p[3].revents && !pump(&S.err)) err_open = false;
    for (size_t i = nc; i-- > 0;)
      if (p[4 + i].revents) client_read(i);
    if (reaped && !out_open && !err_open) break;
  }
  record_exit(status);
  finish();
}

/* The container's init has its own copy of the spec (clone): what only
 * the set-up needed goes, and malloc gives the pages back, so that each of
 * the long-lived shims costs less (the seccomp BPF alone is ~10 KB) */
static void shed_setup_memory(void) {
  static const char *const keys[] = {"seccomp_bpf_path", "seccomp_profile", "args",  "env",
                                     "mounts",           "limits",          "groups"};
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    json_object_del(S.extra, keys[i]);
  free(S.spec.seccomp_bpf);
  S.spec.seccomp_bpf = NULL;
  free(S.spec.seccomp_bpf_path);
  S.spec.seccomp_bpf_path = NULL;
  free(S.spec.seccomp_profile);
  S.spec.seccomp_profile = NULL;
  malloc_trim(0);
}

int main(int argc, char **argv) {
  /* never the binary on disk, never dumpable: see runtime/sealed.c */
  if (rt_ensure_sealed_self(argv, environ) < 0) return 125;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return 125;
  fault_install("berth-shim");
  /* a spare: exec'd ahead, it becomes a shim or an exec helper here */
  if (argc > 1 && !strcmp(argv[1], "spare") && shim_spare_wait(&argc, &argv) < 0) _exit(0);
  if (argc > 1 && !strcmp(argv[1], "exec")) return shim_exec_main(argc, argv);
  const char *bundle = NULL, *plugin_dir = "/nowhere";
  int ready_fd = -1;
  S.ready_fd = S.mntns_fd = S.netns_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--bundle"))
      bundle = argv[i + 1];
    else if (!strcmp(argv[i], "--socket"))
      S.socket_path = argv[i + 1];
    else if (!strcmp(argv[i], "--ready-fd"))
      ready_fd = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--plugin-dir"))
      plugin_dir = argv[i + 1];
    else if (!strcmp(argv[i], "--mntns-fd"))
      S.mntns_fd = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--netns-fd"))
      S.netns_fd = atoi(argv[i + 1]);
  }
  /* at their slots without close-on-exec: none of the shim's children keep them */
  if (S.mntns_fd >= 0) fcntl(S.mntns_fd, F_SETFD, FD_CLOEXEC);
  if (S.netns_fd >= 0) fcntl(S.netns_fd, F_SETFD, FD_CLOEXEC);
  S.ready_fd = ready_fd;
  if (!bundle || !S.socket_path || ready_fd < 0) {
    shim_spare_cgroup_drop();
    fprintf(stderr,
            "usage: berth-shim --bundle DIR --socket PATH --ready-fd N [--plugin-dir DIR]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct berth_err err = {0};
  S.pty = S.stdin_w = S.out.fd = S.err.fd = S.start_w = S.err_r = S.listen_fd = -1;
  S.cg = cgroup_ops();
  cleanup_free char *spec_path = xasprintf("%s/spec.json", bundle);
  S.exit_path = xasprintf("%s/exit.json", bundle);
  unlink(S.exit_path);
  int64_t t = trace_phase("shim", "", 0);
  int r = rt_spec_load(spec_path, &S.spec, &S.extra, &err); /* read and parsed once */
  t = trace_phase("shim", "spec", t);
  if (r == 0) S.stdin_once = json_is_true(json_object_get(S.extra, "stdin_once"));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  /* the init first: it sets up while the logger opens (it writes nothing
   * before START), and has no copy of the descriptors opened after */
  if (r == 0) r = create_container(&err);
  shim_spare_cgroup_drop(); /* a spare's cgroup, if create did not adopt it */
  t = trace_phase("shim", "container (clone to the cgroup)", t);
  if (r == 0) r = open_logger(plugin_dir, &err);
  t = trace_phase("shim", "logger", t);
  if (r == 0) r = listen_socket(&err);
  /* a berthd killed since it started this shim cannot read the pipe (EPIPE):
   * the restarted one may have looked for this shim before its socket was
   * there, so nothing would ever end it; it ends itself */
  if (r == 0 && reply(ready_fd, "OK %d %d\n", (int)S.pid, (int)getpid()) < 0)
    r = berth_err_set(&err, BERTH_EINTERNAL, errno, "berthd went away before the start");
  if (r < 0) {
    reply(ready_fd, "ERR %s\n", err.msg);
    if (S.pid > 0) {
      kill(S.pid, SIGKILL);
      waitpid(S.pid, NULL, 0);
    }
    if (S.sink) FAULT_CALL(S.logger, "close", &err, S.logger->ops.logger.close(S.sink, &err));
    S.cg->destroy(S.spec.id ? S.spec.id : "");
    unlink(S.socket_path);
    /* no exit handlers: a sanitizer build's leak check would stop the
     * world of a process that is not dumpable */
    _exit(1);
  }
  close(ready_fd);
  S.ready_fd = -1;
  shed_setup_memory();
  /* stderr stays shim.log: what the log driver says at run time, and a
   * fault report naming the driver (core/fault.c), land there */
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    if (devnull > 2) close(devnull);
  }
  event_loop(sfd);
  /* the container and everything in its pid namespace are gone: nothing
   * can reach this process any more (and LeakSanitizer, in sanitizer
   * builds, needs a dumpable process to stop the world at exit) */
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  return 0;
}
