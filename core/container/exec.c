#include "exec.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "../daemon.h"
#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"
#include "../shim/launch.h"
#include "../shim/protocol.h"
#include "config.h"
#include "container.h"
#include "stream.h"

/* The table: its own lock, never held while ctr_lock is taken. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct exec_proc **execs;
static size_t n_execs;

static void exec_free(struct exec_proc *e) {
  ctr_put(e->c);
  json_decref(e->cmd);
  json_decref(e->env);
  free(e->user);
  free(e->workdir);
  free(e->detach_keys);
  free(e);
}

void exec_put(struct exec_proc *e) {
  if (!e) return;
  pthread_mutex_lock(&mu);
  bool last = --e->refs == 0;
  pthread_mutex_unlock(&mu);
  if (last) exec_free(e);
}

static void table_remove_locked(size_t i) {
  struct exec_proc *e = execs[i];
  memmove(execs + i, execs + i + 1, (n_execs - i - 1) * sizeof *execs);
  n_execs--;
  e->refs--; /* the table's */
}

/* Past EXEC_KEEP_DONE finished execs of c, the oldest go; those no one
 * holds any more are appended to *gone (freed once the lock is dropped). */
static void trim_locked(const struct container *c, struct exec_proc ***gone, size_t *n_gone) {
  size_t done = 0;
  for (size_t i = n_execs; i-- > 0;) {
    if (execs[i]->c != c || execs[i]->state != EXEC_DONE || ++done <= EXEC_KEEP_DONE) continue;
    struct exec_proc *e = execs[i];
    table_remove_locked(i);
    if (e->refs == 0) {
      *gone = xrealloc(*gone, (*n_gone + 1) * sizeof **gone);
      (*gone)[(*n_gone)++] = e;
    }
  }
}

static void free_all(struct exec_proc **gone, size_t n) {
  for (size_t i = 0; i < n; i++)
    exec_free(gone[i]);
  free(gone);
}

/* exec_create/exec_start carry the command, as docker's ("exec_start: sh -c
 * true"; the program and its arguments joined by a blank, so a command
 * without arguments ends in one: "exec_start: true "); every one the
 * execID */
static void exec_event(struct exec_proc *e, const char *action, bool with_cmd, json_t *attrs) {
  size_t len = strlen(action) + 3, i;
  json_t *a;
  json_array_foreach(e->cmd, i, a) len += strlen(json_string_value(a)) + 1;
  cleanup_free char *name = xmalloc(len);
  strcpy(name, action);
  json_array_foreach(e->cmd, i, a) {
    if (!with_cmd) break;
    strcat(name, i ? " " : ": ");
    strcat(name, json_string_value(a));
  }
  if (with_cmd && json_array_size(e->cmd) == 1) strcat(name, " ");
  if (!attrs) attrs = json_object();
  json_object_set_new(attrs, "execID", json_string(e->id));
  ctr_event(e->c, name, attrs);
}

int exec_create(struct container *c, const struct exec_opts *o, char id_out[65],
                struct berth_err *err) {
  cgroup_prime(); /* for the start that follows (exec_start) */
  ctr_lock();
  enum ctr_status st = c->status;
  c->refs++; /* the exec's reference */
  ctr_unlock();
  if (st != CTR_RUNNING) {
    ctr_put(c);
    if (st == CTR_PAUSED)
      return berth_err_set(err, BERTH_ECONFLICT, 0,
                           "Container %s is paused, unpause the container before exec",
                           o->ref ? o->ref : c->id); /* docker's: as the client named it */
    return berth_err_set(err, BERTH_ECONFLICT, 0, "Container %s is not running", c->id);
  }
  unsigned char keys[16];
  size_t n_keys = 0;
  const char *dk = o->detach_keys && *o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q";
  if (!parse_detach_keys(dk, keys, &n_keys)) {
    ctr_put(c);
    return berth_err_set(err, BERTH_EINVAL, 0, "Invalid detach keys (%s) provided", dk);
  }
  struct exec_proc *e = xcalloc(1, sizeof *e);
  random_hex(e->id, 32);
  memcpy(e->keys, keys, sizeof keys);
  e->n_keys = n_keys;
  e->detach_keys = xstrdup(o->detach_keys ? o->detach_keys : "");
  e->c = c;
  /* its own copies: json_incref races (TSan) with another thread's on a
   * shared value, and nothing of an exec's is shared */
  e->cmd = json_deep_copy(o->cmd);
  e->env = o->env ? json_deep_copy(o->env) : NULL;
  e->user = xstrdup(o->user ? o->user : "");
  e->workdir = xstrdup(o->workdir ? o->workdir : "");
  e->tty = o->tty;
  e->attach_stdin = o->attach_stdin;
  e->attach_stdout = o->attach_stdout;
  e->attach_stderr = o->attach_stderr;
  e->privileged = o->privileged;
  e->pty = -1;
  e->created_ns = now_ns();
  e->refs = 1;
  memcpy(id_out, e->id, 65);
  pthread_mutex_lock(&mu);
  execs = xrealloc(execs, (n_execs + 1) * sizeof *execs);
  execs[n_execs++] = e;
  struct exec_proc **gone = NULL;
  size_t n_gone = 0;
  trim_locked(c, &gone, &n_gone);
  pthread_mutex_unlock(&mu);
  free_all(gone, n_gone);
  exec_event(e, "exec_create", true, NULL);
  return 0;
}

int exec_exit_code(struct exec_proc *e) {
  pthread_mutex_lock(&mu);
  int code = e->exit_code;
  pthread_mutex_unlock(&mu);
  return code;
}

struct exec_proc *exec_get(const char *id) {
  size_t l = strlen(id);
  pthread_mutex_lock(&mu);
  struct exec_proc *found = NULL;
  for (size_t i = 0; i < n_execs && !found; i++)
    if (!strcmp(execs[i]->id, id) || (l >= 12 && str_has_prefix(execs[i]->id, id)))
      found = execs[i];
  if (found) found->refs++;
  pthread_mutex_unlock(&mu);
  return found;
}

void exec_forget_container(const struct container *c) {
  struct exec_proc **gone = NULL;
  size_t n_gone = 0;
  pthread_mutex_lock(&mu);
  for (size_t i = n_execs; i-- > 0;) {
    if (execs[i]->c != c) continue;
    struct exec_proc *e = execs[i];
    table_remove_locked(i);
    if (e->refs == 0) {
      gone = xrealloc(gone, (n_gone + 1) * sizeof *gone);
      gone[n_gone++] = e;
    }
  }
  pthread_mutex_unlock(&mu);
  free_all(gone, n_gone);
}

size_t exec_count(void) {
  pthread_mutex_lock(&mu);
  size_t n = n_execs;
  pthread_mutex_unlock(&mu);
  return n;
}

json_t *exec_inspect_json(struct exec_proc *e) {
  json_t *args = json_array();
  for (size_t i = 1; i < json_array_size(e->cmd); i++) /* copies, not increfs: see above */
    json_array_append_new(args, json_string(json_string_value(json_array_get(e->cmd, i)) ?: ""));
  pthread_mutex_lock(&mu);
  enum exec_state st = e->state;
  int code = e->exit_code;
  pid_t pid = e->pid;
  pthread_mutex_unlock(&mu);
  /* ProcessConfig.user: omitted when not set, as docker's omitempty */
  json_t *j = json_pack("{s:s,s:b,s:i,s:i,s:s,s:b,s:b,s:b,s:b,s:s,s:{s:b,s:s,s:o,s:b,s:s*}}", "ID",
                        e->id, "Running", st == EXEC_RUNNING, "ExitCode", code, "Pid", (int)pid,
                        "ContainerID", e->c->id, "OpenStdin", e->attach_stdin, "OpenStdout",
                        e->attach_stdout, "OpenStderr", e->attach_stderr, "CanRemove", 0,
                        "DetachKeys", e->detach_keys, "ProcessConfig", "tty", e->tty, "entrypoint",
                        json_string_value(json_array_get(e->cmd, 0)), "arguments", args,
                        "privileged", e->privileged, "user", *e->user ? e->user : NULL);
  if (st == EXEC_CREATED || st == EXEC_STARTING) json_object_set_new(j, "ExitCode", json_null());
  return j;
}

void exec_resize(struct exec_proc *e, int h, int w) {
  struct winsize ws = {(unsigned short)h, (unsigned short)w, 0, 0};
  pthread_mutex_lock(&mu);
  if (e->pty >= 0) ioctl(e->pty, TIOCSWINSZ, &ws);
  pthread_mutex_unlock(&mu);
}

/* The exec's rt_spec: identity looked up inside the container's root,
 * its -e over the container's Env, the container's security settings. */
static int exec_build_spec(struct exec_proc *e, pid_t cpid, const struct ctr_opts *o, json_t **out,
                           struct berth_err *err) {
  struct rt_spec s = {0};
  char root[64];
  snprintf(root, sizeof root, "/proc/%d/root", (int)cpid);
  struct rt_user ru;
  cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return err_sys(err, BERTH_ECONFLICT, "Container %s is not running", e->c->id);
  int r = rt_resolve_user_at(rootfd, *e->user ? e->user : o->user, &ru, err);
  if (r < 0) return r;
  if ((r = ctr_add_groups(rootfd, o, &ru, err)) < 0) { /* docker's execs have them too */
    rt_user_free(&ru);
    return r;
  }
  s.uid = ru.uid;
  s.gid = ru.gid;
  s.groups = ru.groups;
  s.n_groups = ru.n_groups;
  size_t n_extra = 0, ne = 0;
  char **extra = NULL;
  for (size_t i = 0; i < json_array_size(e->env); i++) {
    const char *kv = json_string_value(json_array_get(e->env, i));
    if (!kv) continue;
    extra = xrealloc(extra, (n_extra + 1) * sizeof *extra);
    extra[n_extra++] = (char *)kv;
  }
  s.env = ctr_env(o, extra, n_extra, ru.home, e->tty, &ne);
  free(extra);
  size_t na = json_array_size(e->cmd);
  s.args = xcalloc(na + 1, sizeof(char *));
  for (size_t i = 0; i < na; i++)
    s.args[i] = (char *)json_string_value(json_array_get(e->cmd, i));
  s.rootfs = root;
  s.id = e->c->id;
  s.cwd = *e->workdir ? e->workdir : *o->workdir ? o->workdir : "/";
  s.privileged = e->privileged || o->privileged;
  ctr_spec_security(&s, o);
  s.tty = e->tty;
  *out = rt_spec_to_json(&s);
  free(s.args);
  ctr_env_free(s.env, ne);
  rt_user_free(&ru);
  return 0;
}

/* a helper's end: its wait status, once reaped, and the cgroup it made
 * ahead as a spare goes */
static int reap_helper(pid_t p) {
  int st = 0;
  while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
  }
  shim_spare_exited(p);
  return st;
}

static int exec_spawn(struct exec_proc *e, bool attach, struct exec_io *io, struct berth_err *err) {
  struct container *c = e->c;
  ctr_lock();
  pid_t cpid = c->pid;
  bool running = c->status == CTR_RUNNING;
  ctr_unlock();
  struct ctr_opts *o = ctr_opts_get(c);
  json_t *spec = NULL;
  int r = running ? exec_build_spec(e, cpid, o, &spec, err)
                  : berth_err_set(err, BERTH_ECONFLICT, 0, "Container %s is not running", c->id);
  ctr_opts_put(o);
  if (r < 0) {
    json_decref(spec);
    return r;
  }
  cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
  json_decref(spec);
  cleanup_free char *shim = helper_path("berth-shim");
  char pidnum[16];
  snprintf(pidnum, sizeof pidnum, "%d", (int)cpid);
  char *argv[] = {shim, "exec", "--container", c->id, "--pid", pidnum, NULL};
  int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, ep[2] = {-1, -1}, sp[2] = {-1, -1},
      ptys[2] = {-1, -1}, stp[2] = {-1, -1};
  io->pty = io->status_r = -1;
  if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(sp, O_CLOEXEC) < 0 || pipe2(stp, O_CLOEXEC) < 0)
    r = err_sys(err, BERTH_EINTERNAL, "pipe");
  else if (attach && e->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ptys) < 0)
    r = err_sys(err, BERTH_EINTERNAL, "socketpair");
  else if (attach && !e->tty &&
           (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0))
    r = err_sys(err, BERTH_EINTERNAL, "pipe");
  /* the helper's descriptors: protocol.h */
  int fds[] = {e->attach_stdin ? in[0] : -1, out[1], er[1], sp[0], ep[1], ptys[1], stp[1]};
  pid_t p = r == 0 ? shim_launch(false, argv, fds, (int)ARRAY_SIZE(fds), err) : -1;
  if (r == 0 && p < 0) r = (int)p;
  /* berthd puts the helper in the container's cgroup while it wakes (the
   * two at once, on two cores: ~0.2 ms of cgroup v1 writes off its path);
   * the helper reads the spec, which comes after, before it forks */
  if (r == 0 && cgroup_ops()->add_pid(c->id, p, err) < 0) {
    kill(p, SIGKILL); /* it sees no spec and would say so: nobody listens */
    reap_helper(p);
    r = -err->code;
    p = -1;
  }
  int child_ends[] = {in[0], out[1], er[1], sp[0], ep[1], ptys[1], stp[1]};
  for (size_t k = 0; k < ARRAY_SIZE(child_ends); k++)
    if (child_ends[k] >= 0) close(child_ends[k]);
  /* the helper reads the spec to EOF before anything else */
  if (p > 0) write_all_fd(sp[1], text, strlen(text));
  if (sp[1] >= 0) close(sp[1]);
  if (ptys[0] >= 0) {
    if (p > 0) io->pty = recv_fd(ptys[0]); /* -1: the reason is on the error pipe */
    close(ptys[0]);
  }
  io->in_w = in[1];
  io->out_r = out[0];
  io->err_r = er[0];
  io->errp_r = ep[0];
  io->status_r = stp[0];
  io->pid = p;
  if (r < 0) {
    int rest[] = {in[1], out[0], er[0], ep[0], stp[0]};
    for (size_t k = 0; k < ARRAY_SIZE(rest); k++)
      if (rest[k] >= 0) close(rest[k]);
    return r;
  }
  pthread_mutex_lock(&mu);
  e->state = EXEC_RUNNING;
  e->pid = p;
  e->pty = io->pty;
  pthread_mutex_unlock(&mu);
  return 0;
}

/* with mu held: e's helper is alive, in c's cgroup */
static bool helper_running(const struct exec_proc *e, const struct container *c) {
  return e->c == c && e->state == EXEC_RUNNING && e->pid > 0;
}

bool exec_is_helper(const struct container *c, pid_t pid) {
  bool found = false;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < n_execs && !found; i++)
    found = helper_running(execs[i], c) && execs[i]->pid == pid;
  pthread_mutex_unlock(&mu);
  return found;
}

size_t exec_helpers_running(const struct container *c) {
  size_t n = 0;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < n_execs; i++)
    n += helper_running(execs[i], c);
  pthread_mutex_unlock(&mu);
  return n;
}

void exec_set_tty(struct exec_proc *e, bool tty) {
  pthread_mutex_lock(&mu);
  if (e->state == EXEC_CREATED) e->tty = tty;
  pthread_mutex_unlock(&mu);
}

/* the process's wait status: the helper's report, or (it died before it
 * wrote one: killed) the helper's own, reaped here */
static int exit_status(struct exec_io *io) {
  int st = 0;
  ssize_t n = -1;
  if (io->status_r >= 0) {
    while ((n = read(io->status_r, &st, sizeof st)) < 0 && errno == EINTR) {
    }
    close(io->status_r);
    io->status_r = -1;
  }
  if (n == (ssize_t)sizeof st || io->pid <= 0) return st;
  st = reap_helper(io->pid);
  io->pid = 0;
  return st;
}

void exec_record(struct exec_proc *e, struct exec_io *io) {
  int st = exit_status(io);
  trace_phase(e->id, "exec spawned to the process's exit", io->trace_t0);
  pthread_mutex_lock(&mu);
  e->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  e->state = EXEC_DONE;
  e->pty = -1;
  int code = e->exit_code;
  pthread_mutex_unlock(&mu);
  close(io->errp_r);
  char num[16];
  snprintf(num, sizeof num, "%d", code);
  exec_event(e, "exec_die", false, json_pack("{s:s}", "exitCode", num));
}

void exec_reap(struct exec_io *io) {
  if (io->pid <= 0) return;
  reap_helper(io->pid);
  io->pid = 0;
}

void exec_finish(struct exec_proc *e, struct exec_io *io) {
  exec_record(e, io);
  exec_reap(io);
}

int exec_start(struct exec_proc *e, bool attach, struct exec_io *io, struct berth_err *err) {
  pthread_mutex_lock(&mu);
  bool claimed = e->state == EXEC_CREATED;
  if (claimed) e->state = EXEC_STARTING; /* one start wins */
  pthread_mutex_unlock(&mu);
  if (!claimed)
    return berth_err_set(err, BERTH_ECONFLICT, 0, "Exec command %s is already running", e->id);
  cgroup_prime(); /* berthd moves the helper into the container's cgroup */
  int64_t t = trace_phase(e->id, "", 0);
  if (exec_spawn(e, attach, io, err) == 0) {
    io->trace_t0 = trace_phase(e->id, "exec spawn", t);
    exec_event(e, "exec_start", true, NULL);
    return 0;
  }
  pthread_mutex_lock(&mu);
  e->state = EXEC_DONE;
  e->exit_code = 126;
  pthread_mutex_unlock(&mu);
  return -err->code;
}

/* ---- the session: the process's stdio over a client's socket ---- */

struct stdin_copy {
  int from, to;
  const char *extra;
  size_t extra_len;
  bool close_to;
  struct detach_match m;
};

/* false: detached (the client's stream ends; the process runs on) or the
 * process's stdin is gone */
static bool copy_in(struct stdin_copy *c, const char *buf, size_t n) {
  unsigned char out[32768 + 32];
  bool hit = false;
  for (size_t off = 0; off < n && !hit; off += 32768) {
    size_t len = n - off < 32768 ? n - off : 32768;
    size_t o = detach_scan(&c->m, (const unsigned char *)buf + off, len, out, &hit);
    if (write_all_fd(c->to, out, o) < 0) return false;
  }
  if (hit) shutdown(c->from, SHUT_RDWR);
  return !hit;
}

static void *copy_thread(void *p) {
  struct stdin_copy *c = p;
  bool ok = !c->extra_len || copy_in(c, c->extra, c->extra_len);
  char buf[32768];
  ssize_t n;
  while (ok && (n = read(c->from, buf, sizeof buf)) > 0)
    ok = copy_in(c, buf, (size_t)n);
  if (c->close_to) close(c->to);
  return NULL;
}

static void send_output(int sock, int type, const char *buf, size_t n, bool raw) {
  if (!raw) {
    unsigned char h[8];
    shim_frame_header(h, type, (uint32_t)n);
    write_all_fd(sock, h, 8);
  }
  write_all_fd(sock, buf, n);
}

void exec_session_error(int sock, const char *msg, bool raw) {
  /* as dockerd: after the upgrade, the error on stdout; ExitCode 126 */
  send_output(sock, 1, msg, strlen(msg), raw);
  shutdown(sock, SHUT_WR);
}

/* stdout and stderr (or the pty) to sock until both end.  false: berthd
 * stops and shut the client's socket; the process goes on, unwaited.  A
 * client gone before that is not watched (its hang-up stays raised): its
 * process is waited for its exit code, berthd's stop seen within a second. */
static bool pump_output(int sock, struct exec_proc *e, struct exec_io *io, bool raw) {
  int fds[2] = {io->pty >= 0 ? io->pty : io->out_r, io->pty >= 0 ? -1 : io->err_r};
  char buf[32768];
  int client = sock;
  while (fds[0] >= 0 || fds[1] >= 0) {
    struct pollfd p[3] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}, {client, 0, 0}};
    if (poll(p, 3, client < 0 ? 1000 : -1) < 0 && errno != EINTR) break;
    if (p[2].revents & (POLLHUP | POLLERR)) client = -1;
    if (client < 0 && ctr_stopping) {
      for (int k = 0; k < 2 && io->pty < 0; k++)
        if (fds[k] >= 0) close(fds[k]);
      return false;
    }
    for (int k = 0; k < 2; k++) {
      if (fds[k] < 0 || !p[k].revents) continue;
      ssize_t n = read(fds[k], buf, sizeof buf);
      if (n <= 0) {
        if (io->pty < 0) close(fds[k]);
        fds[k] = -1;
        continue;
      }
      bool want = k == 0 ? e->attach_stdout : e->attach_stderr;
      if (io->pty >= 0 || want) send_output(sock, k + 1, buf, (size_t)n, raw);
    }
  }
  return true;
}

void exec_session(int sock, const char *extra, size_t extra_len, struct exec_proc *e,
                  struct exec_io *io, bool raw, bool with_stdin) {
  pthread_t t;
  struct stdin_copy sc = {sock,        io->pty >= 0 ? io->pty : io->in_w,
                          extra,       extra_len,
                          io->pty < 0, {.n_keys = e->n_keys}};
  memcpy(sc.m.keys, e->keys, sizeof sc.m.keys);
  bool have_stdin =
      with_stdin && e->attach_stdin && pthread_create(&t, NULL, copy_thread, &sc) == 0;
  if (!have_stdin && io->in_w >= 0) close(io->in_w);
  if (!pump_output(sock, e, io, raw)) {
    if (have_stdin) pthread_join(t, NULL); /* its read of sock ends: shut by berthd */
    if (io->pty >= 0) close(io->pty);
    return;
  }
  /* the exec error (exec: "x": executable file not found) goes to stderr */
  char msg[1024];
  ssize_t n = read(io->errp_r, msg, sizeof msg - 2);
  if (n > 0) {
    while (n > 0 && msg[n - 1] == '\n')
      n--;
    msg[n] = 0;
    cleanup_free char *full = xasprintf("OCI runtime exec failed: exec failed: unable to start "
                                        "container process: %s: unknown%s\r\n",
                                        msg, ctr_enotdir_hint(msg));
    send_output(sock, 2, full, strlen(full), raw);
  }
  exec_record(e, io); /* exit code recorded before the stream closes */
  if (n > 0) {        /* it never ran: docker's exec says 126 (run keeps 127) */
    pthread_mutex_lock(&mu);
    e->exit_code = 126;
    pthread_mutex_unlock(&mu);
  }
  shutdown(sock, SHUT_WR);
  exec_reap(io); /* the helper's exit: after the client has its EOF */
  if (have_stdin) {
    /* the copy thread ends before the fd it writes to is closed: a number
     * closed under it could be reused by another thread's open */
    shutdown(sock, SHUT_RD);
    pthread_join(t, NULL);
  }
  if (io->pty >= 0) close(io->pty);
}
