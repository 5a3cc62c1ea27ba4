/* /containers/...: create, list, inspect, start, stop, restart, kill,
 * wait, remove, pause, rename, attach, logs, resize, top, stats, update. */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../container/config.h"
#include "../container/container.h"
#include "../container/exec.h"
#include "../container/stream.h"
#include "../daemon.h"
#include "../image/reference.h"
#include "../runtime/cgroup.h"
#include "../shim/client.h"
#include "../shim/protocol.h"
#include "../util/filters.h"
#include "routes.h"

#define WITH_CONTAINER(req, c)                                                                     \
  struct container *c = ctr_get(api_param(req, 0));                                                \
  if (!c) return api_reply_error(req, 404, "No such container: %s", api_param(req, 0));

static int create(struct api_request *req) {
  json_t *body = api_body_json(req);
  if (!body) return 0;
  char id[65];
  struct berth_err err = {0};
  const char *image = json_string_value(json_object_get(body, "Image"));
  if (image && store_check_platform(&req->d->images, image, api_query(req, "platform"), &err) < 0) {
    json_decref(body);
    return api_reply_err(req, &err);
  }
  json_t *warnings = json_array();
  int r = ctr_create(req->d, api_query(req, "name"), body, id, warnings, &err);
  json_decref(body);
  if (r < 0) {
    json_decref(warnings);
    return api_reply_err(req, &err);
  }
  return api_reply_json(req, 201, json_pack("{s:s,s:o}", "Id", id, "Warnings", warnings));
}

static int list(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  if (filters_parse(api_query(req, "filters"), &f, &err) < 0) return api_reply_err(req, &err);
  struct ctr_list_query q = {.all = api_query_bool(req, "all", false),
                             .size = api_query_bool(req, "size", false),
                             .limit = api_query_int(req, "limit", -1),
                             .f = &f};
  char *text = ctr_listing(req->d, &q, &err);
  filters_free(&f);
  return text ? api_reply_json_text(req, 200, text) : api_reply_err(req, &err);
}

static int inspect(struct api_request *req) {
  WITH_CONTAINER(req, c);
  json_t *j = ctr_inspect_json(req->d, c, api_query_bool(req, "size", false));
  ctr_put(c);
  return api_reply_json(req, 200, j);
}

static int changes(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  json_t *j = ctr_changes(req->d, c, &err);
  ctr_put(c);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
}

/* POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=, a
 * Config (or nothing) as the body */
static int commit(struct api_request *req) {
  const char *ref_q = api_query(req, "container");
  struct container *c = ref_q ? ctr_get(ref_q) : NULL;
  if (!c) return api_reply_error(req, 404, "No such container: %s", ref_q ? ref_q : "");
  struct berth_err err = {0};
  json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
  struct image_ref ref = {0};
  bool named;
  int r = api_repo_tag(req, &ref, &named, &err);
  size_t n = 0;
  const char **changes = api_query_all(req, "changes", &n);
  struct ctr_commit o = {json_is_object(body) ? body : NULL,
                         changes,
                         n,
                         api_query(req, "author") ?: "",
                         api_query(req, "comment") ?: "",
                         api_query_bool(req, "pause", true),
                         named ? &ref : NULL};
  char id[DIGEST_LEN + 1] = "";
  if (r == 0) r = ctr_commit(req->d, c, &o, id, &err);
  free(changes);
  json_decref(body);
  if (named) ref_free(&ref);
  ctr_put(c);
  return r < 0 ? api_reply_err(req, &err) : api_reply_json(req, 201, json_pack("{s:s}", "Id", id));
}

static int export_(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  ctr_producer_fn producer = NULL;
  void *ctx = NULL;
  int r = ctr_export(req->d, c, &producer, &ctx, &err);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_stream(req, 200, "application/x-tar", producer, ctx);
}

static int start(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  int r = ctr_start(req->d, c, &err);
  struct ctr_opts *o = ctr_opts_get(c);
  bool autoremove = o->auto_remove;
  ctr_opts_put(o);
  if (r < 0 && autoremove) {
    struct berth_err e2 = {0};
    ctr_remove(req->d, c, true, true, &e2);
  }
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, r == 1 ? 304 : 204);
}

static int stop(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  int r = ctr_stop(req->d, c, (int)api_query_int(req, "t", -1), api_query(req, "signal"), &err);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, r == 1 ? 304 : 204);
}

static int restart(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  int r = ctr_restart(req->d, c, (int)api_query_int(req, "t", -1), api_query(req, "signal"), &err);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, 204);
}

static int kill_h(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  int r = ctr_kill(req->d, c, api_query(req, "signal"), &err);
  ctr_put(c);
  /* docker's words name the container as the client did */
  if (r < 0 && err.code != BERTH_EINVAL)
    err_wrap(&err, "Cannot kill container: %s", api_param(req, 0));
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, 204);
}

static int remove_h(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  int r = ctr_remove(req->d, c, api_query_bool(req, "force", false),
                     api_query_bool(req, "v", false), &err);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, 204);
}

static int pause_h(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  int r = ctr_pause(req->d, c, strstr(req->path, "/unpause") == NULL, &err);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, 204);
}

static int rename_h(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err err = {0};
  int r = ctr_rename(req->d, c, api_query(req, "name"), &err);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, 204);
}

/* ---------------- wait ---------------- */

struct wait_ctx {
  struct container *c;
  int condition; /* 0 not-running, 1 next-exit, 2 removed */
  uint64_t exits;
};

static void wait_producer(int fd, void *p) {
  struct wait_ctx *w = p;
  struct container *c = w->c;
  ctr_lock();
  for (;;) {
    bool running = ctr_is_running(c) || c->status == CTR_RESTARTING || c->start_in_progress;
    if (w->condition == 2 && c->removed) break;
    if (w->condition == 1 && (c->exits != w->exits || c->removed)) break;
    if (w->condition == 0 && (!running || c->removed)) break;
    if (ctr_stopping) break;
    ctr_wait(1000);
    if (api_stream_gone(fd)) break;
  }
  if (ctr_stopping) {
    /* no status to give: the connection just ends, as with dockerd */
    ctr_unlock();
    ctr_put(c);
    free(w);
    return;
  }
  int code = c->exit_code;
  char error[512];
  /* removed: docker's answer carries no error (a --rm container whose
   * start failed: its CLI has printed the reason already) */
  snprintf(error, sizeof error, "%s", c->removed ? "" : c->error);
  ctr_unlock();
  /* dockerd's member order: Error, then StatusCode */
  json_t *j =
      json_pack("{s:o,s:i}", "Error", *error ? json_pack("{s:s}", "Message", error) : json_null(),
                "StatusCode", code);
  stream_json(fd, j);
  ctr_put(c);
  free(w);
}

static int wait_h(struct api_request *req) {
  WITH_CONTAINER(req, c);
  const char *cond = api_query(req, "condition");
  struct wait_ctx *w = xcalloc(1, sizeof *w);
  w->c = c;
  /* any other word is not-running, as dockerd 20.10's router has it */
  w->condition = !cond ? 0 : !strcmp(cond, "next-exit") ? 1 : !strcmp(cond, "removed") ? 2 : 0;
  ctr_lock();
  w->exits = c->exits;
  ctr_unlock();
  return api_reply_stream(req, 200, "application/json", wait_producer, w);
}

static int resize(struct api_request *req) {
  WITH_CONTAINER(req, c);
  ctr_resize(req->d, c, (int)api_query_int(req, "h", 0), (int)api_query_int(req, "w", 0));
  ctr_put(c);
  return api_reply_empty(req, 200);
}

/* ---------------- logs ---------------- */

static int64_t parse_time_arg(const char *s) {
  if (!s || !*s) return 0;
  char *end;
  double v = strtod(s, &end);
  if (!*end) return (int64_t)(v * 1e9);
  int64_t t = parse_rfc3339(s);
  return t == INT64_MIN ? 0 : t;
}

static int logs(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct ctr_logs *l = xcalloc(1, sizeof *l);
  l->d = req->d;
  l->c = c;
  l->follow = api_query_bool(req, "follow", false);
  l->out = api_query_bool(req, "stdout", false);
  l->err = api_query_bool(req, "stderr", false);
  l->timestamps = api_query_bool(req, "timestamps", false);
  l->details = api_query_bool(req, "details", false);
  l->since = parse_time_arg(api_query(req, "since"));
  l->until = parse_time_arg(api_query(req, "until"));
  const char *tail = api_query(req, "tail");
  /* docker's: "all", or a count; anything else (a word, a negative
   * number) is all of it */
  char *end = NULL;
  long long n = tail && *tail ? strtoll(tail, &end, 10) : -1;
  l->tail = !end || *end || n < 0 ? -1 : n;
  l->gone = api_stream_gone; /* a quiet container's reader still sees its client go */
  struct ctr_opts *o = ctr_opts_get(c);
  l->tty = o->tty;
  ctr_opts_put(o);
  struct berth_err err = {0};
  if (ctr_logs_check(req->d, c, l, &err) < 0) {
    ctr_put(c);
    free(l);
    return api_reply_err(req, &err);
  }
  return api_reply_stream(req, 200,
                          l->tty ? "application/vnd.docker.raw-stream"
                                 : "application/vnd.docker.multiplexed-stream",
                          ctr_logs_stream, l);
}

/* logs=1: what the container wrote so far, first; stream=0: only that */
struct attach_job {
  struct ctr_attach *a; /* NULL: stream=0 */
  struct ctr_logs *l;   /* NULL: logs=0 */
};

static void attach_session(int sock, const char *extra, size_t extra_len, void *p) {
  struct attach_job *j = p;
  if (j->l) ctr_logs_stream(sock, j->l); /* frees it */
  j->l = NULL;
  if (j->a) ctr_attach_run(sock, extra, extra_len, j->a);
}

static void attach_job_free(void *p) {
  struct attach_job *j = p;
  if (j->a) ctr_attach_free(j->a);
  if (j->l) {
    ctr_put(j->l->c);
    free(j->l);
  }
  free(j);
}

static int attach(struct api_request *req) {
  WITH_CONTAINER(req, c);
  if (!req->upgrade) {
    ctr_put(c);
    return api_reply_error(req, 400,
                           "attach needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)");
  }
  json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
  bool in = api_query_bool(req, "stdin", json_is_true(json_object_get(body, "stdin")));
  bool out = api_query_bool(req, "stdout", json_is_true(json_object_get(body, "stdout")));
  bool er = api_query_bool(req, "stderr", json_is_true(json_object_get(body, "stderr")));
  bool logs = api_query_bool(req, "logs", false), stream = api_query_bool(req, "stream", true);
  json_decref(body);
  struct berth_err err = {0};
  struct attach_job *j = xcalloc(1, sizeof *j);
  struct ctr_opts *o = ctr_opts_get(c);
  bool tty = o->tty;
  ctr_opts_put(o);
  if (logs) {
    j->l = xcalloc(1, sizeof *j->l);
    *j->l = (struct ctr_logs){.d = req->d, .c = c, .out = out, .err = er, .tty = tty, .tail = -1};
    if (ctr_logs_check(req->d, c, j->l, &err) < 0) {
      free(j->l);
      j->l = NULL; /* a driver that cannot be read: no replay, as docker's */
    } else {
      ctr_lock();
      c->refs++; /* the replay's own, put by ctr_logs_stream */
      ctr_unlock();
    }
  }
  /* ctr_attach_new takes over this request's reference to c */
  if (stream) j->a = ctr_attach_new(req->d, c, in, out, er, api_query(req, "detachKeys"), &err);
  if (!j->a) ctr_put(c);
  if (stream && !j->a) {
    attach_job_free(j);
    return api_reply_err(req, &err);
  }
  const char *ct = tty || req->version < 142 ? "application/vnd.docker.raw-stream"
                                             : "application/vnd.docker.multiplexed-stream";
  return api_reply_hijack(req, ct, attach_session, j, attach_job_free);
}

/* ---------------- top, stats, update, prune ---------------- */

static int top(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct berth_err e = {0};
  json_t *j = ctr_top(c, api_query(req, "ps_args"), &e);
  ctr_put(c);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &e);
}

struct stats_ctx {
  struct daemon *d;
  struct container *c;
  bool stream;
};

static json_t *sample(struct container *c, json_t *prev) {
  json_t *s = ctr_cgroup_stats(c);
  char now[64];
  format_rfc3339(now_ns(), now, sizeof now);
  json_t *cpu = json_object_get(s, "cpu_stats");
  json_object_set_new(cpu, "system_cpu_usage", json_integer((json_int_t)cgroup_system_cpu_ns()));
  json_object_set_new(cpu, "online_cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  json_object_set_new(
      cpu, "throttling_data",
      json_pack("{s:i,s:i,s:i}", "periods", 0, "throttled_periods", 0, "throttled_time", 0));
  json_object_set_new(s, "read", json_string(now));
  json_object_set_new(s, "name", json_string(c->name));
  json_object_set_new(s, "id", json_string(c->id));
  json_object_set_new(s, "num_procs", json_integer(0));
  json_object_set_new(s, "storage_stats", json_object());
  if (prev) {
    json_object_set(s, "precpu_stats", json_object_get(prev, "cpu_stats"));
    json_object_set(s, "preread", json_object_get(prev, "read"));
  } else {
    json_object_set_new(s, "precpu_stats",
                        json_pack("{s:{s:i},s:i,s:i,s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage",
                                  0, "system_cpu_usage", 0, "online_cpus", 0, "throttling_data",
                                  "periods", 0, "throttled_periods", 0, "throttled_time", 0));
    json_object_set_new(s, "preread", json_string("0001-01-01T00:00:00Z"));
  }
  return s;
}

static void stats_producer(int fd, void *p) {
  struct stats_ctx *st = p;
  json_t *prev = NULL;
  for (int i = 0;; i++) {
    ctr_lock();
    bool running = ctr_is_running(st->c);
    ctr_unlock();
    json_t *s;
    if (!running) {
      char now[64];
      format_rfc3339(now_ns(), now, sizeof now);
      s = json_pack("{s:s,s:s,s:s,s:{},s:{},s:{},s:{},s:{}}", "read", now, "name", st->c->name,
                    "id", st->c->id, "cpu_stats", "precpu_stats", "memory_stats", "pids_stats",
                    "blkio_stats");
    } else {
      s = sample(st->c, prev);
    }
    if (!st->stream && running && !prev) {
      prev = s;
      usleep(1000000);
      continue;
    }
    json_decref(prev);
    prev = json_incref(s);
    if (stream_json(fd, s) < 0 || !st->stream || !running) break;
    (void)i;
    usleep(1000000);
  }
  json_decref(prev);
  ctr_put(st->c);
  free(st);
}

static int stats(struct api_request *req) {
  WITH_CONTAINER(req, c);
  struct stats_ctx *s = xcalloc(1, sizeof *s);
  s->d = req->d;
  s->c = c;
  s->stream = api_query_bool(req, "stream", true) && !api_query_bool(req, "one-shot", false);
  return api_reply_stream(req, 200, "application/json", stats_producer, s);
}

static int update(struct api_request *req) {
  WITH_CONTAINER(req, c);
  json_t *body = api_body_json(req);
  if (!body) {
    ctr_put(c);
    return 0;
  }
  struct berth_err err = {0};
  json_t *warnings = json_array();
  int r = ctr_update(req->d, c, body, warnings, &err);
  json_decref(body);
  ctr_put(c);
  if (r < 0) {
    json_decref(warnings);
    return api_reply_err(req, &err);
  }
  return api_reply_json(req, 200, json_pack("{s:o}", "Warnings", warnings));
}

static int prune(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  json_t *j =
      filters_parse(api_query(req, "filters"), &f, &err) == 0 ? ctr_prune(req->d, &f, &err) : NULL;
  filters_free(&f);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
}

const struct api_route container_routes[] = {
    {"POST", "/containers/create", create, BODY_BUFFER, NULL},
    {"GET", "/containers/json", list, BODY_BUFFER, NULL},
    {"POST", "/containers/prune", prune, BODY_BUFFER, NULL},
    {"GET", "/containers/{id}/json", inspect, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/start", start, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/stop", stop, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/restart", restart, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/kill", kill_h, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/wait", wait_h, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/pause", pause_h, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/unpause", pause_h, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/rename", rename_h, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/attach", attach, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/resize", resize, BODY_BUFFER, NULL},
    {"GET", "/containers/{id}/logs", logs, BODY_BUFFER, NULL},
    {"GET", "/containers/{id}/top", top, BODY_BUFFER, NULL},
    {"GET", "/containers/{id}/changes", changes, BODY_BUFFER, NULL},
    {"POST", "/commit", commit, BODY_BUFFER, NULL},
    {"GET", "/containers/{id}/export", export_, BODY_BUFFER, NULL},
    {"GET", "/containers/{id}/stats", stats, BODY_BUFFER, NULL},
    {"POST", "/containers/{id}/update", update, BODY_BUFFER, NULL},
    {"DELETE", "/containers/{id}", remove_h, BODY_BUFFER, NULL},
};
const size_t n_container_routes = ARRAY_SIZE(container_routes);
