/* POST /build (the classic builder's endpoint) and POST /build/prune: the
 * context tar streamed into a scratch directory while it arrives, the
 * query parsed into build_opts, the build's text rendered as docker's JSON
 * message stream ({"stream":…}, {"aux":{"ID":…}}, {"errorDetail":…}).  The
 * work is core/build's. */
#include <fcntl.h>

#include "../build/builder.h"
#include "api.h"
#include "jsonmessage.h"
#include "routes.h"

struct build_job {
  struct daemon *d;
  char *ctx; /* the context's directory, unpacked here (removed after) */
  int ctxfd; /* that directory, or the client's own (berthcontext) */
  struct build_opts o;
  json_t *tags, *buildargs, *labels;
  char *dockerfile, *target, *network;
  int fd; /* the reply */
};

static void job_free(void *p) {
  struct build_job *j = p;
  if (!j) return;
  if (j->ctxfd >= 0) close(j->ctxfd);
  if (j->ctx) rm_rf(j->ctx);
  free(j->ctx);
  json_decref(j->tags);
  json_decref(j->buildargs);
  json_decref(j->labels);
  free(j->dockerfile);
  free(j->target);
  free(j->network);
  free(j);
}

/* berth's CLI on this host, as root, names its context directory instead
 * of sending it (berthcontext=PATH): read in place, nothing copied (socket
 * access is root's anyway; other clients send the tar) */
static int context_by_reference(struct api_request *req, struct build_job *j, const char *path) {
  pid_t pid;
  uid_t uid;
  if (api_peer(req, &pid, &uid) < 0 || uid != 0)
    return berth_err_set(&req->consume_err, BERTH_EFORBIDDEN, 0,
                         "berthcontext: only a root client on this host may name its context");
  j->ctxfd = build_context_of(pid, path, &req->consume_err);
  return j->ctxfd < 0 ? j->ctxfd : 0;
}

static int build_consume(struct api_request *req, int fd) {
  struct build_job *j = xcalloc(1, sizeof *j);
  j->d = req->d;
  j->ctxfd = -1;
  req->ctx = j;
  req->ctx_free = job_free;
  const char *ref = api_query(req, "berthcontext");
  if (ref && *ref) return context_by_reference(req, j, ref);
  j->ctx = build_receive(req->d, fd, &req->consume_err);
  if (!j->ctx) return -req->consume_err.code;
  j->ctxfd = open(j->ctx, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return j->ctxfd >= 0 ? 0 : err_sys(&req->consume_err, BERTH_EINTERNAL, "open %s", j->ctx);
}

static void out_text(void *ctx, const char *s, size_t len) {
  struct build_job *j = ctx;
  stream_json(j->fd, json_pack("{s:s%}", "stream", s, len));
}

static void out_aux(void *ctx, json_t *aux) {
  struct build_job *j = ctx;
  stream_json(j->fd, json_pack("{s:o}", "aux", aux));
}

static bool out_gone(void *ctx) {
  struct build_job *j = ctx;
  return api_stream_gone(j->fd);
}

static void build_producer(int fd, void *p) {
  struct build_job *j = p;
  j->fd = fd;
  struct build_out out = {out_text, out_aux, out_gone, j};
  char id[DIGEST_LEN + 1];
  struct berth_err err = {0};
  if (build_image(j->d, j->ctxfd, &j->o, &out, id, &err) < 0)
    jsonmessage_error(fd, err.msg);
  else if (j->o.quiet)
    stream_json(fd, json_pack("{s:s+}", "stream", id, "\n"));
  job_free(j);
}

/* a JSON object of strings given in the query (buildargs, labels) */
static int query_map(struct api_request *req, const char *key, json_t **out,
                     struct berth_err *err) {
  const char *v = api_query(req, key);
  *out = json_object();
  if (!v || !*v) return 0;
  json_t *j = json_loads(v, 0, NULL);
  const char *k;
  json_t *x;
  bool ok = json_is_object(j);
  json_object_foreach(j, k, x) ok = ok && (json_is_string(x) || json_is_null(x));
  if (!ok) {
    json_decref(j);
    return berth_err_set(err, BERTH_EINVAL, 0, "%s: a JSON object of strings, not %s", key, v);
  }
  json_object_foreach(j, k, x) if (json_is_string(x)) json_object_set(*out, k, x);
  json_decref(j);
  return 0;
}

static int build(struct api_request *req) {
  if (req->consume_ret < 0) return api_reply_err(req, &req->consume_err);
  struct build_job *j = req->ctx;
  const char *remote = api_query(req, "remote");
  if (remote && *remote)
    return api_reply_error(
        req, 400, "remote build contexts (%s) are not supported: send the context tar", remote);
  struct berth_err err = {0};
  size_t n = 0;
  const char **t = api_query_all(req, "t", &n);
  j->tags = json_array();
  for (size_t i = 0; i < n; i++)
    if (*t[i]) json_array_append_new(j->tags, json_string(t[i]));
  free(t);
  if (query_map(req, "buildargs", &j->buildargs, &err) < 0 ||
      query_map(req, "labels", &j->labels, &err) < 0)
    return api_reply_err(req, &err);
  j->dockerfile = xstrdup(api_query(req, "dockerfile") ?: "Dockerfile");
  j->target = xstrdup(api_query(req, "target") ?: "");
  j->network = xstrdup(api_query(req, "networkmode") ?: "");
  if (!strcmp(j->network, "default")) j->network[0] = 0;
  j->o = (struct build_opts){j->dockerfile,
                             j->tags,
                             j->buildargs,
                             j->labels,
                             j->target,
                             j->network,
                             api_query_bool(req, "nocache", false),
                             api_query_bool(req, "pull", false),
                             api_query_bool(req, "q", false),
                             api_query_bool(req, "forcerm", false)};
  if (build_check(j->ctxfd, &j->o, &err) < 0) return api_reply_err(req, &err);
  req->ctx = NULL; /* the producer owns it now */
  req->ctx_free = NULL;
  return api_reply_stream(req, 200, "application/json", build_producer, j);
}

/* the classic builder's cache is its intermediate images (image prune
 * -a removes them); BuildKit's cache, which this endpoint prunes in
 * docker, does not exist here */
static int build_prune(struct api_request *req) {
  return api_reply_json(req, 200, json_pack("{s:[],s:i}", "CachesDeleted", "SpaceReclaimed", 0));
}

const struct api_route build_routes[] = {
    {"POST", "/build", build, BODY_STREAM, build_consume},
    {"POST", "/build/prune", build_prune, BODY_BUFFER, NULL},
};
const size_t n_build_routes = ARRAY_SIZE(build_routes);
