/* The exec endpoints: parse, call container/exec.c, render. */
#include <pthread.h>

#include "../container/container.h"
#include "../container/exec.h"
#include "../daemon.h"
#include "routes.h"

static int exec_create_h(struct api_request *req) {
  struct container *c = ctr_get(api_param(req, 0));
  if (!c) return api_reply_error(req, 404, "No such container: %s", api_param(req, 0));
  json_t *body = api_body_json(req);
  if (!body) {
    ctr_put(c);
    return 0;
  }
  struct exec_opts o = {
      .cmd = json_object_get(body, "Cmd"),
      .env = json_object_get(body, "Env"),
      .user = json_string_value(json_object_get(body, "User")),
      .workdir = json_string_value(json_object_get(body, "WorkingDir")),
      .tty = json_is_true(json_object_get(body, "Tty")),
      .attach_stdin = json_is_true(json_object_get(body, "AttachStdin")),
      .attach_stdout = json_is_true(json_object_get(body, "AttachStdout")),
      .attach_stderr = json_is_true(json_object_get(body, "AttachStderr")),
      .privileged = json_is_true(json_object_get(body, "Privileged")),
      .detach_keys = json_string_value(json_object_get(body, "DetachKeys")),
      .ref = api_param(req, 0),
  };
  struct berth_err err = {0};
  char id[65];
  int r = json_array_size(o.cmd)
              ? exec_create(c, &o, id, &err)
              : berth_err_set(&err, BERTH_EINVAL, 0, "No exec command specified");
  json_decref(body);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_json(req, 201, json_pack("{s:s}", "Id", id));
}

struct session {
  struct exec_proc *e;
  struct exec_io io;
  bool raw;    /* tty: no framing */
  char *error; /* the start failed: only this message goes to the client */
};

static void session_free(void *p) {
  struct session *s = p;
  exec_put(s->e);
  free(s->error);
  free(s);
}

static void run(int sock, const char *extra, size_t extra_len, struct session *s, bool hijacked) {
  if (s->error)
    exec_session_error(sock, s->error, s->raw);
  else
    exec_session(sock, extra, extra_len, s->e, &s->io, s->raw, hijacked);
}

static void session_hijack(int sock, const char *extra, size_t extra_len, void *p) {
  run(sock, extra, extra_len, p, true);
}

static void session_stream(int fd, void *p) {
  run(fd, NULL, 0, p, false);
  session_free(p);
}

static void *detached_waiter(void *p) {
  struct session *s = p;
  exec_finish(s->e, &s->io);
  session_free(s);
  return NULL;
}

static int exec_start_h(struct api_request *req) {
  struct exec_proc *e = exec_get(api_param(req, 0));
  if (!e) return api_reply_error(req, 404, "No such exec instance: %s", api_param(req, 0));
  json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
  bool detach = json_is_true(json_object_get(body, "Detach"));
  json_t *tty = json_object_get(body, "Tty"); /* docker-py sends it here */
  if (json_is_boolean(tty)) exec_set_tty(e, json_is_true(tty));
  json_decref(body);
  struct session *s = xcalloc(1, sizeof *s);
  s->e = e;
  s->raw = e->tty;
  struct berth_err err = {0};
  if (exec_start(e, !detach, &s->io, &err) < 0) {
    if (detach || err.code == BERTH_ECONFLICT) {
      session_free(s);
      return api_reply_err(req, &err);
    }
    /* a user or group the container does not know is dockerd's own
     * finding, before any runtime: its words alone, as docker's */
    s->error = err.code == BERTH_EINVAL
                   ? xasprintf("%s\r\n", err.msg)
                   : xasprintf("OCI runtime exec failed: exec failed: unable to start container "
                               "process: %s: unknown%s\r\n",
                               err.msg, ctr_enotdir_hint(err.msg));
  }
  if (detach) {
    pthread_t t;
    if (pthread_create(&t, NULL, detached_waiter, s) == 0)
      pthread_detach(t);
    else
      detached_waiter(s);
    return api_reply_empty(req, 200);
  }
  const char *ct = e->tty || req->version < 142 ? "application/vnd.docker.raw-stream"
                                                : "application/vnd.docker.multiplexed-stream";
  if (req->upgrade) return api_reply_hijack(req, ct, session_hijack, s, session_free);
  return api_reply_stream(req, 200, "application/vnd.docker.raw-stream", session_stream, s);
}

static int exec_inspect_h(struct api_request *req) {
  struct exec_proc *e = exec_get(api_param(req, 0));
  if (!e) return api_reply_error(req, 404, "No such exec instance: %s", api_param(req, 0));
  json_t *j = exec_inspect_json(e);
  exec_put(e);
  return api_reply_json(req, 200, j);
}

static int exec_resize_h(struct api_request *req) {
  struct exec_proc *e = exec_get(api_param(req, 0));
  if (!e) return api_reply_error(req, 404, "No such exec instance: %s", api_param(req, 0));
  exec_resize(e, (int)api_query_int(req, "h", 0), (int)api_query_int(req, "w", 0));
  exec_put(e);
  return api_reply_empty(req, 200);
}

const struct api_route exec_routes[] = {
    {"POST", "/containers/{id}/exec", exec_create_h, BODY_BUFFER, NULL},
    {"POST", "/exec/{id}/start", exec_start_h, BODY_BUFFER, NULL},
    {"GET", "/exec/{id}/json", exec_inspect_h, BODY_BUFFER, NULL},
    {"POST", "/exec/{id}/resize", exec_resize_h, BODY_BUFFER, NULL},
};
const size_t n_exec_routes = ARRAY_SIZE(exec_routes);
