/* exec: processes started inside a running container.  berthd builds the
 * spec and starts berth-shim's exec helper from the sealed copy of the
 * shim (shim/launch.c); the helper joins the container and runs the
 * process (shim/shim_exec.c).  berthd itself never enters a container. */
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "../container/container.h"
#include "../daemon.h"
#include "../runtime/runtime.h"
#include "../shim/launch.h"
#include "../shim/protocol.h"

static struct exec_proc **execs;
static size_t n_execs;

struct exec_proc *exec_get(const char *id) {
  for (size_t i = 0; i < n_execs; i++)
    if (!strcmp(execs[i]->id, id) || (strlen(id) >= 12 && str_has_prefix(execs[i]->id, id)))
      return execs[i];
  return NULL;
}

static int exec_create(struct api_request *req) {
  struct container *c = ctr_get(api_param(req, 0));
  if (!c) return api_reply_error(req, 404, "No such container: %s", api_param(req, 0));
  json_t *body = api_body_json(req);
  if (!body) {
    ctr_put(c);
    return 0;
  }
  json_t *cmd = json_object_get(body, "Cmd");
  if (!json_array_size(cmd)) {
    json_decref(body);
    ctr_put(c);
    return api_reply_error(req, 400, "No exec command specified");
  }
  ctr_lock();
  bool running = c->status == CTR_RUNNING;
  bool paused = c->status == CTR_PAUSED;
  ctr_unlock();
  if (!running) {
    json_decref(body);
    char id[65];
    memcpy(id, c->id, 65);
    ctr_put(c);
    if (paused)
      return api_reply_error(req, 409, "Container %s is paused, unpause the container before exec",
                             id);
    return api_reply_error(req, 409, "container %s is not running", id);
  }
  struct exec_proc *e = xcalloc(1, sizeof *e);
  random_hex(e->id, 32);
  e->c = c; /* the exec keeps its reference */
  e->cmd = json_incref(cmd);
  e->env = json_incref(json_object_get(body, "Env"));
  e->user = xstrdup(json_string_value(json_object_get(body, "User")));
  e->workdir = xstrdup(json_string_value(json_object_get(body, "WorkingDir")));
  e->tty = json_is_true(json_object_get(body, "Tty"));
  e->attach_stdin = json_is_true(json_object_get(body, "AttachStdin"));
  e->attach_stdout = json_is_true(json_object_get(body, "AttachStdout"));
  e->attach_stderr = json_is_true(json_object_get(body, "AttachStderr"));
  e->privileged = json_is_true(json_object_get(body, "Privileged"));
  e->pty = -1;
  e->created_ns = now_ns();
  json_decref(body);
  ctr_lock();
  execs = xrealloc(execs, (n_execs + 1) * sizeof *execs);
  execs[n_execs++] = e;
  ctr_unlock();
  return api_reply_json(req, 201, json_pack("{s:s}", "Id", e->id));
}

struct exec_io {
  int in_w, out_r, err_r, pty, errp_r;
  pid_t pid;
};

static const char *env_get(json_t *env, const char *key) {
  size_t n = strlen(key), i;
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *s = json_string_value(v);
    if (s && !strncmp(s, key, n) && s[n] == '=') return s + n + 1;
  }
  return NULL;
}

/* The exec's rt_spec: identity looked up inside the container's root,
 * env merged over the container's, the container's security settings. */
static int exec_build_spec(struct exec_proc *e, pid_t cpid, json_t *cfg, json_t *hc, json_t **out,
                           struct berth_err *err) {
  struct rt_spec s = {0};
  char root[64];
  snprintf(root, sizeof root, "/proc/%d/root", (int)cpid);
  const char *user =
      e->user && *e->user ? e->user : json_string_value(json_object_get(cfg, "User"));
  struct rt_user ru;
  cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return err_sys(err, BERTH_ECONFLICT, "container %s is not running", e->c->id);
  int r = rt_resolve_user_at(rootfd, user, &ru, err);
  if (r < 0) return r;
  s.uid = ru.uid;
  s.gid = ru.gid;
  s.groups = ru.groups;
  s.n_groups = ru.n_groups;
  json_t *env = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "Env"), i, v) if (strchr(json_string_value(v) ?: "", '='))
      json_array_append(env, v);
  json_array_foreach(e->env, i, v) {
    const char *sv = json_string_value(v);
    if (!sv || !strchr(sv, '=')) continue;
    size_t kl = strcspn(sv, "=");
    size_t k;
    json_t *x;
    bool done = false;
    json_array_foreach(env, k, x) if (!strncmp(json_string_value(x), sv, kl) &&
                                      json_string_value(x)[kl] == '=') {
      json_array_set(env, k, v);
      done = true;
      break;
    }
    if (!done) json_array_append(env, v);
  }
  if (!env_get(env, "PATH"))
    json_array_insert_new(
        env, 0, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  if (!env_get(env, "HOSTNAME"))
    json_array_append_new(
        env, json_sprintf("HOSTNAME=%s", json_string_value(json_object_get(cfg, "Hostname"))));
  if (!env_get(env, "HOME")) json_array_append_new(env, json_sprintf("HOME=%s", ru.home));
  if (e->tty && !env_get(env, "TERM")) json_array_append_new(env, json_string("TERM=xterm"));
  size_t na = json_array_size(e->cmd), ne = json_array_size(env);
  s.args = xcalloc(na + 1, sizeof(char *));
  for (i = 0; i < na; i++)
    s.args[i] = (char *)json_string_value(json_array_get(e->cmd, i));
  s.env = xcalloc(ne + 1, sizeof(char *));
  for (i = 0; i < ne; i++)
    s.env[i] = (char *)json_string_value(json_array_get(env, i));
  const char *wd = e->workdir && *e->workdir
                       ? e->workdir
                       : json_string_value(json_object_get(cfg, "WorkingDir"));
  s.rootfs = root;
  s.id = e->c->id;
  s.cwd = (char *)(wd && *wd ? wd : "/");
  s.privileged = e->privileged || json_is_true(json_object_get(hc, "Privileged"));
  rt_spec_security(&s, hc);
  s.tty = e->tty;
  *out = rt_spec_to_json(&s);
  free(s.args);
  free(s.env);
  rt_user_free(&ru);
  json_decref(env);
  return 0;
}

/* In the forked child: put each fd at its number in the helper's layout
 * (protocol.h) and exec the sealed shim.  Async-signal-safe only. */
__attribute__((noreturn)) static void exec_child(int exe, char **argv, int fds[6]) {
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 6; i++) {
    if (fds[i] < 0 && i < 3) fds[i] = nul;
    /* out of the way of the numbers 0..5 first */
    if (fds[i] >= 0) fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
  }
  for (int i = 0; i < 6; i++)
    if (fds[i] >= 0 && dup2(fds[i], i) < 0) _exit(126);
  /* nothing else of berthd's reaches the helper (the sealed exe is
   * close-on-exec too, and execveat still runs it) */
  syscall(SYS_close_range, fds[5] >= 0 ? 6U : 5U, ~0U, CLOSE_RANGE_CLOEXEC);
  shim_exec_sealed(exe, argv);
  static const char msg[] = "cannot run the sealed berth-shim";
  if (write(SHIM_EXEC_ERR_FD, msg, sizeof msg - 1) < 0) {
  }
  _exit(126);
}

static int exec_spawn(struct daemon *d, struct exec_proc *e, bool attach, struct exec_io *io,
                      struct berth_err *err) {
  (void)d;
  struct container *c = e->c;
  ctr_lock();
  pid_t cpid = c->pid;
  bool running = c->status == CTR_RUNNING;
  json_t *cfg = json_deep_copy(c->config);
  json_t *hc = json_deep_copy(c->host_config);
  ctr_unlock();
  json_t *spec = NULL;
  int r = running ? exec_build_spec(e, cpid, cfg, hc, &spec, err)
                  : berth_err_set(err, BERTH_ECONFLICT, 0, "container %s is not running", c->id);
  json_decref(cfg);
  json_decref(hc);
  int exe = r == 0 ? shim_exe_fd(err) : -1;
  if (r == 0 && exe < 0) r = err_wrap(err, "berth-shim");
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
      ptys[2] = {-1, -1};
  io->pty = -1;
  if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(sp, O_CLOEXEC) < 0)
    r = err_sys(err, BERTH_EINTERNAL, "pipe");
  else if (attach && e->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ptys) < 0)
    r = err_sys(err, BERTH_EINTERNAL, "socketpair");
  else if (attach && !e->tty &&
           (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0))
    r = err_sys(err, BERTH_EINTERNAL, "pipe");
  pid_t p = r == 0 ? fork() : -1;
  if (r == 0 && p < 0) r = err_sys(err, BERTH_EINTERNAL, "fork");
  if (p == 0) {
    int fds[6] = {e->attach_stdin ? in[0] : -1, out[1], er[1], sp[0], ep[1], ptys[1]};
    exec_child(exe, argv, fds);
  }
  int child_ends[] = {in[0], out[1], er[1], sp[0], ep[1], ptys[1]};
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
  io->pid = p;
  if (r < 0) {
    int rest[] = {in[1], out[0], er[0], ep[0]};
    for (size_t k = 0; k < ARRAY_SIZE(rest); k++)
      if (rest[k] >= 0) close(rest[k]);
    return r;
  }
  ctr_lock();
  e->starting = false;
  e->running = true;
  e->pid = p;
  e->pty = io->pty;
  ctr_unlock();
  return 0;
}

static void exec_finish(struct exec_proc *e, struct exec_io *io) {
  int st = 0;
  while (waitpid(io->pid, &st, 0) < 0 && errno == EINTR) {
  }
  ctr_lock();
  e->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  e->running = false;
  e->done = true;
  e->pty = -1;
  ctr_broadcast();
  ctr_unlock();
  close(io->errp_r);
}

struct exec_session {
  struct daemon *d;
  struct exec_proc *e;
  struct exec_io io;
  bool raw;    /* tty: no framing */
  char *error; /* the start failed: only this message goes to the client */
};

static void session_free(void *p) {
  struct exec_session *s = p;
  free(s->error);
  free(s);
}

struct stdin_copy {
  int from, to;
  const char *extra;
  size_t extra_len;
  bool close_to;
};

static void *copy_thread(void *p) {
  struct stdin_copy *c = p;
  if (c->extra_len) write_all_fd(c->to, c->extra, c->extra_len);
  char buf[32768];
  ssize_t n;
  while ((n = read(c->from, buf, sizeof buf)) > 0)
    if (write_all_fd(c->to, buf, (size_t)n) < 0) break;
  if (c->close_to) close(c->to);
  return NULL;
}

static void send_output(int sock, int type, const char *buf, size_t n, bool raw) {
  if (!raw) {
    unsigned char h[8] = {(unsigned char)type,
                          0,
                          0,
                          0,
                          (unsigned char)(n >> 24),
                          (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8),
                          (unsigned char)n};
    write_all_fd(sock, h, 8);
  }
  write_all_fd(sock, buf, n);
}

/* Stream the process's output to sock until it ends; stdin from sock. */
static void run_session(int sock, const char *extra, size_t extra_len, struct exec_session *s,
                        bool hijacked) {
  struct exec_io *io = &s->io;
  if (s->error) {
    /* as dockerd: after the upgrade, the error on stdout; ExitCode 126 */
    send_output(sock, 1, s->error, strlen(s->error), s->raw);
    shutdown(sock, SHUT_WR);
    return;
  }
  pthread_t t;
  bool have_stdin = hijacked && s->e->attach_stdin;
  struct stdin_copy sc = {sock, io->pty >= 0 ? io->pty : io->in_w, extra, extra_len, io->pty < 0};
  if (have_stdin)
    pthread_create(&t, NULL, copy_thread, &sc);
  else if (io->in_w >= 0)
    close(io->in_w);
  int fds[2] = {io->pty >= 0 ? io->pty : io->out_r, io->pty >= 0 ? -1 : io->err_r};
  char buf[32768];
  for (;;) {
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (fds[0] < 0 && fds[1] < 0) break;
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    for (int k = 0; k < 2; k++) {
      if (fds[k] < 0 || !p[k].revents) continue;
      ssize_t n = read(fds[k], buf, sizeof buf);
      if (n <= 0) {
        if (io->pty < 0) close(fds[k]);
        fds[k] = -1;
        continue;
      }
      bool want = k == 0 ? s->e->attach_stdout : s->e->attach_stderr;
      if (io->pty >= 0 || want) send_output(sock, k + 1, buf, (size_t)n, s->raw);
    }
  }
  /* the exec error (exec: "x": executable file not found) goes to stderr */
  char msg[1024];
  ssize_t n = read(io->errp_r, msg, sizeof msg - 2);
  if (n > 0) {
    msg[n++] = '\n';
    char *full =
        xasprintf("OCI runtime exec failed: exec failed: unable to start container process: %.*s",
                  (int)n, msg);
    send_output(sock, 2, full, strlen(full), s->raw);
    free(full);
  }
  exec_finish(s->e, io); /* exit code recorded before the stream closes */
  if (io->pty >= 0) close(io->pty);
  shutdown(sock, SHUT_WR);
  if (have_stdin) {
    shutdown(sock, SHUT_RD);
    pthread_join(t, NULL);
  }
}

static void exec_hijack(int sock, const char *extra, size_t extra_len, void *p) {
  run_session(sock, extra, extra_len, p, true);
}

static void exec_stream(int fd, void *p) {
  run_session(fd, NULL, 0, p, false);
  session_free(p);
}

static void *detached_waiter(void *p) {
  struct exec_session *s = p;
  exec_finish(s->e, &s->io);
  free(s);
  return NULL;
}

static int exec_start(struct api_request *req) {
  ctr_lock();
  struct exec_proc *e = exec_get(api_param(req, 0));
  bool started = e && (e->running || e->done || e->starting);
  if (e && !started) e->starting = true; /* one start wins */
  ctr_unlock();
  if (!e) return api_reply_error(req, 404, "No such exec instance: %s", api_param(req, 0));
  if (started) return api_reply_error(req, 409, "Exec command %s is already running", e->id);
  json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
  bool detach = json_is_true(json_object_get(body, "Detach"));
  json_decref(body);
  struct exec_session *s = xcalloc(1, sizeof *s);
  s->d = req->d;
  s->e = e;
  s->raw = e->tty;
  struct berth_err err = {0};
  if (exec_spawn(req->d, e, !detach, &s->io, &err) < 0) {
    ctr_lock();
    e->starting = false;
    e->done = true;
    e->exit_code = 126;
    ctr_broadcast();
    ctr_unlock();
    if (detach) {
      free(s);
      return api_reply_err(req, &err);
    }
    s->error = xasprintf(
        "OCI runtime exec failed: exec failed: unable to start container process: %s: unknown\r\n",
        err.msg);
  }
  if (detach) {
    pthread_t t;
    pthread_create(&t, NULL, detached_waiter, s);
    pthread_detach(t);
    return api_reply_empty(req, 200);
  }
  const char *ct = e->tty || req->version < 142 ? "application/vnd.docker.raw-stream"
                                                : "application/vnd.docker.multiplexed-stream";
  if (req->upgrade) return api_reply_hijack(req, ct, exec_hijack, s, session_free);
  return api_reply_stream(req, 200, "application/vnd.docker.raw-stream", exec_stream, s);
}

static int exec_inspect(struct api_request *req) {
  ctr_lock();
  struct exec_proc *e = exec_get(api_param(req, 0));
  if (!e) {
    ctr_unlock();
    return api_reply_error(req, 404, "No such exec instance: %s", api_param(req, 0));
  }
  json_t *args = json_array();
  for (size_t i = 1; i < json_array_size(e->cmd); i++)
    json_array_append(args, json_array_get(e->cmd, i));
  json_t *j =
      json_pack("{s:s,s:b,s:i,s:i,s:s,s:b,s:b,s:b,s:b,s:s,s:{s:b,s:s,s:o,s:b,s:s}}", "ID", e->id,
                "Running", e->running, "ExitCode", e->exit_code, "Pid", (int)e->pid, "ContainerID",
                e->c->id, "OpenStdin", e->attach_stdin, "OpenStdout", e->attach_stdout,
                "OpenStderr", e->attach_stderr, "CanRemove", 0, "DetachKeys", "", "ProcessConfig",
                "tty", e->tty, "entrypoint", json_string_value(json_array_get(e->cmd, 0)),
                "arguments", args, "privileged", e->privileged, "user", e->user ? e->user : "");
  if (!e->done && !e->running) json_object_set_new(j, "ExitCode", json_null());
  ctr_unlock();
  return api_reply_json(req, 200, j);
}

static int exec_resize(struct api_request *req) {
  ctr_lock();
  struct exec_proc *e = exec_get(api_param(req, 0));
  if (!e) {
    ctr_unlock();
    return api_reply_error(req, 404, "No such exec instance: %s", api_param(req, 0));
  }
  struct winsize ws = {(unsigned short)api_query_int(req, "h", 0),
                       (unsigned short)api_query_int(req, "w", 0), 0, 0};
  if (e->pty >= 0) ioctl(e->pty, TIOCSWINSZ, &ws);
  ctr_unlock();
  return api_reply_empty(req, 200);
}

const struct api_route exec_routes[] = {
    {"POST", "/containers/{id}/exec", exec_create, BODY_BUFFER, NULL},
    {"POST", "/exec/{id}/start", exec_start, BODY_BUFFER, NULL},
    {"GET", "/exec/{id}/json", exec_inspect, BODY_BUFFER, NULL},
    {"POST", "/exec/{id}/resize", exec_resize, BODY_BUFFER, NULL},
};
const size_t n_exec_routes = ARRAY_SIZE(exec_routes);
