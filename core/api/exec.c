/* exec: processes started inside a running container by berthd itself
 * (fork, join the container's cgroup and namespaces, fork again so the pid
 * namespace applies, then identity, caps, seccomp, execve). */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

#include "../container/container.h"
#include "../daemon.h"
#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"

static struct exec_proc **execs;
static size_t n_execs;

struct exec_proc *exec_get(const char *id) {
  for (size_t i = 0; i < n_execs; i++)
    if (!strcmp(execs[i]->id, id) || (strlen(id) >= 12 && str_has_prefix(execs[i]->id, id))) return execs[i];
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
    if (paused) return api_reply_error(req, 409, "Container %s is paused, unpause the container before exec", id);
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

static int exec_spawn(struct daemon *d, struct exec_proc *e, bool attach, struct exec_io *io, struct berth_err *err) {
  struct container *c = e->c;
  ctr_lock();
  pid_t cpid = c->pid;
  bool running = c->status == CTR_RUNNING;
  json_t *cfg = json_deep_copy(c->config);
  json_t *hc = json_deep_copy(c->host_config);
  ctr_unlock();
  if (!running) {
    json_decref(cfg);
    json_decref(hc);
    return berth_err_set(err, BERTH_ECONFLICT, 0, "container %s is not running", c->id);
  }
  struct rt_spec s = {0};
  char root[64];
  snprintf(root, sizeof root, "/proc/%d/root", (int)cpid);
  const char *user = e->user && *e->user ? e->user : json_string_value(json_object_get(cfg, "User"));
  char *home = NULL;
  int r = rt_resolve_user(root, user, &s.uid, &s.gid, &s.groups, &s.n_groups, &home, err);
  if (r < 0) {
    json_decref(cfg);
    json_decref(hc);
    return r;
  }
  json_t *env = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "Env"), i, v) if (strchr(json_string_value(v) ?: "", '=')) json_array_append(env, v);
  json_array_foreach(e->env, i, v) {
    const char *sv = json_string_value(v);
    if (!sv || !strchr(sv, '=')) continue;
    size_t kl = strcspn(sv, "=");
    size_t k;
    json_t *x;
    bool done = false;
    json_array_foreach(env, k, x) if (!strncmp(json_string_value(x), sv, kl) && json_string_value(x)[kl] == '=') {
      json_array_set(env, k, v);
      done = true;
      break;
    }
    if (!done) json_array_append(env, v);
  }
  if (!env_get(env, "PATH")) json_array_insert_new(env, 0, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  if (!env_get(env, "HOSTNAME")) json_array_append_new(env, json_sprintf("HOSTNAME=%s", json_string_value(json_object_get(cfg, "Hostname"))));
  if (!env_get(env, "HOME")) json_array_append_new(env, json_sprintf("HOME=%s", home ? home : "/root"));
  if (e->tty && !env_get(env, "TERM")) json_array_append_new(env, json_string("TERM=xterm"));
  free(home);
  size_t na = json_array_size(e->cmd), ne = json_array_size(env);
  s.args = xcalloc(na + 1, sizeof(char *));
  for (i = 0; i < na; i++) s.args[i] = (char *)json_string_value(json_array_get(e->cmd, i));
  s.env = xcalloc(ne + 1, sizeof(char *));
  for (i = 0; i < ne; i++) s.env[i] = (char *)json_string_value(json_array_get(env, i));
  const char *wd = e->workdir && *e->workdir ? e->workdir : json_string_value(json_object_get(cfg, "WorkingDir"));
  s.cwd = (char *)(wd && *wd ? wd : "/");
  s.privileged = e->privileged || json_is_true(json_object_get(hc, "Privileged"));
  s.seccomp = true;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
    const char *so = json_string_value(v);
    if (so && strstr(so, "seccomp") && strstr(so, "unconfined")) s.seccomp = false;
    else if (so && str_has_prefix(so, "seccomp=")) s.seccomp_profile = (char *)so + 8;
    if (so && str_has_prefix(so, "no-new-privileges")) s.no_new_privs = true;
  }
  uint64_t caps = rt_default_caps();
  json_array_foreach(json_object_get(hc, "CapAdd"), i, v) {
    const char *n = json_string_value(v);
    if (n && !strcasecmp(n, "ALL")) caps = rt_all_caps();
    else if (n && rt_cap_from_name(n) >= 0) caps |= 1ull << rt_cap_from_name(n);
  }
  json_array_foreach(json_object_get(hc, "CapDrop"), i, v) {
    const char *n = json_string_value(v);
    if (n && !strcasecmp(n, "ALL")) caps = 0;
    else if (n && rt_cap_from_name(n) >= 0) caps &= ~(1ull << rt_cap_from_name(n));
  }
  s.caps = caps;
  s.tty = e->tty;

  int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, ep[2], ptys[2] = {-1, -1};
  io->pty = -1;
  pipe2(ep, O_CLOEXEC);
  if (attach && e->tty) {
    /* the pty comes from the container's own devpts: the child opens it
     * after joining the namespaces and passes the master back */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ptys) < 0) r = err_sys(err, BERTH_EINTERNAL, "socketpair");
  } else if (attach) {
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0)
      r = err_sys(err, BERTH_EINTERNAL, "pipe");
  }
  pid_t p = r == 0 ? fork() : -1;
  if (r == 0 && p < 0) r = err_sys(err, BERTH_EINTERNAL, "fork");
  if (p == 0) {
    /* nothing of berthd's stays open here: other sessions' sockets, and
     * the far ends of our pipes (stdin EOF must reach the process) */
    int keep[] = {ep[1], in[0], out[1], er[1], ptys[1]};
    close_fds_except(keep, ARRAY_SIZE(keep));
    struct berth_err je = {0};
    setsid();
    cgroup_ops()->add_pid(c->id, getpid(), &je);
    if (rt_join(cpid, &je) < 0) {
      dprintf(ep[1], "%s", je.msg);
      _exit(126);
    }
    int slave = -1;
    if (ptys[1] >= 0) {
      int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
      int unlock = 0, n = -1;
      if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) {
        dprintf(ep[1], "open pty in the container: %s", strerror(errno));
        _exit(126);
      }
      char name[64];
      snprintf(name, sizeof name, "/dev/pts/%d", n);
      slave = open(name, O_RDWR | O_NOCTTY);
      if (slave < 0 || send_fd(ptys[1], master) < 0) {
        dprintf(ep[1], "open %s: %s", name, strerror(errno));
        _exit(126);
      }
      close(master);
      close(ptys[1]);
    }
    pid_t g = fork();
    if (g == 0) {
      int nul = open("/dev/null", O_RDWR);
      if (slave >= 0) {
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
      } else if (attach) {
        dup2(e->attach_stdin ? in[0] : nul, 0);
        dup2(out[1], 1);
        dup2(er[1], 2);
      } else {
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
      }
      rt_exec_process(&s, ep[1]);
    }
    close(ep[1]);
    int st = 0;
    if (g < 0) _exit(126);
    while (waitpid(g, &st, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
  close(ep[1]);
  if (ptys[1] >= 0) {
    close(ptys[1]);
    if (p > 0) io->pty = recv_fd(ptys[0]);
    close(ptys[0]);
    if (p > 0 && io->pty < 0) {
      /* the child's reason is on the error pipe; the caller reads it */
      io->pty = -1;
    }
  }
  if (in[0] >= 0) close(in[0]);
  if (out[1] >= 0) close(out[1]);
  if (er[1] >= 0) close(er[1]);
  io->in_w = in[1];
  io->out_r = out[0];
  io->err_r = er[0];
  io->errp_r = ep[0];
  io->pid = p;
  free(s.args);
  free(s.env);
  free(s.groups);
  json_decref(env);
  json_decref(cfg);
  json_decref(hc);
  if (r < 0) {
    if (io->pty >= 0) close(io->pty);
    return r;
  }
  ctr_lock();
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
  bool raw; /* tty: no framing */
};

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
    unsigned char h[8] = {(unsigned char)type, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    write_all_fd(sock, h, 8);
  }
  write_all_fd(sock, buf, n);
}

/* Stream the process's output to sock until it ends; stdin from sock. */
static void run_session(int sock, const char *extra, size_t extra_len, struct exec_session *s, bool hijacked) {
  struct exec_io *io = &s->io;
  pthread_t t;
  bool have_stdin = hijacked && s->e->attach_stdin;
  struct stdin_copy sc = {sock, io->pty >= 0 ? io->pty : io->in_w, extra, extra_len, io->pty < 0};
  if (have_stdin) pthread_create(&t, NULL, copy_thread, &sc);
  else if (io->in_w >= 0) close(io->in_w);
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
    char *full = xasprintf("OCI runtime exec failed: exec failed: unable to start container process: %.*s", (int)n, msg);
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
  free(p);
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
  bool started = e && (e->running || e->done);
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
    free(s);
    return api_reply_err(req, &err);
  }
  if (detach) {
    pthread_t t;
    pthread_create(&t, NULL, detached_waiter, s);
    pthread_detach(t);
    return api_reply_empty(req, 200);
  }
  const char *ct = e->tty || req->version < 142 ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  if (req->upgrade) return api_reply_hijack(req, ct, exec_hijack, s, free);
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
  for (size_t i = 1; i < json_array_size(e->cmd); i++) json_array_append(args, json_array_get(e->cmd, i));
  json_t *j = json_pack("{s:s,s:b,s:i,s:i,s:s,s:b,s:b,s:b,s:b,s:s,s:{s:b,s:s,s:o,s:b,s:s}}", "ID", e->id, "Running",
                        e->running, "ExitCode", e->exit_code, "Pid", (int)e->pid, "ContainerID", e->c->id,
                        "OpenStdin", e->attach_stdin, "OpenStdout", e->attach_stdout, "OpenStderr",
                        e->attach_stderr, "CanRemove", 0, "DetachKeys", "", "ProcessConfig", "tty", e->tty,
                        "entrypoint", json_string_value(json_array_get(e->cmd, 0)), "arguments", args,
                        "privileged", e->privileged, "user", e->user ? e->user : "");
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
  struct winsize ws = {(unsigned short)api_query_int(req, "h", 0), (unsigned short)api_query_int(req, "w", 0), 0, 0};
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
