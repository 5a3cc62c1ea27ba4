/* docker cp's endpoints: GET|HEAD|PUT /containers/{id}/archive.  The
 * path's stat travels base64-encoded in X-Docker-Container-Path-Stat on
 * GET and HEAD; PUT extracts the request's tar (streamed, never buffered)
 * below an existing directory.  The work is core/container/cp.c's. */
#include "../container/cp.h"
#include "../daemon.h"
#include "api.h"
#include "routes.h"

static void add_stat_header(struct api_request *req, const struct ctr_path_stat *st) {
  json_t *j = ctr_path_stat_json(st);
  cleanup_free char *raw = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  cleanup_free char *b64 = base64_encode(raw, strlen(raw), false);
  api_add_header(req, "X-Docker-Container-Path-Stat", b64);
}

static int archive_get(struct api_request *req) {
  const char *ref = api_param(req, 0), *path = api_query(req, "path") ?: "";
  struct container *c = ctr_get(ref);
  if (!c) return api_reply_error(req, 404, "No such container: %s", ref);
  struct berth_err err = {0};
  struct ctr_path_stat st;
  int r = ctr_path_stat(req->d, c, ref, path, &st, &err);
  if (r < 0) {
    ctr_put(c);
    /* HEAD: docker's 404 has no body either */
    return strcmp(req->method, "HEAD") ? api_reply_err(req, &err)
                                       : api_reply_empty(req, (unsigned)err_http_status(err.code));
  }
  ctr_producer_fn producer = NULL;
  void *ctx = NULL;
  if (strcmp(req->method, "HEAD")) r = ctr_archive_get(req->d, c, path, &producer, &ctx, &err);
  ctr_put(c);
  if (r < 0) return api_reply_err(req, &err);
  add_stat_header(req, &st);
  if (!producer) return api_reply_empty(req, 200); /* HEAD */
  return api_reply_stream(req, 200, "application/x-tar", producer, ctx);
}

/* the body, as it arrives, extracted into the container */
static int archive_put_consume(struct api_request *req, int fd) {
  const char *ref = api_param(req, 0);
  struct container *c = ctr_get(ref);
  if (!c) return berth_err_set(&req->consume_err, BERTH_ENOTFOUND, 0, "No such container: %s", ref);
  struct ctr_put o = {api_query(req, "path") ?: "",
                      api_query_bool(req, "noOverwriteDirNonDir", false),
                      api_query_bool(req, "copyUIDGID", false)};
  int r = ctr_archive_put(req->d, c, ref, &o, fd, &req->consume_err);
  ctr_put(c);
  return r;
}

static int archive_put(struct api_request *req) {
  if (req->consume_ret < 0) return api_reply_err(req, &req->consume_err);
  return api_reply_empty(req, 200);
}

const struct api_route archive_routes[] = {
    {"GET", "/containers/{id}/archive", archive_get, BODY_BUFFER, NULL},
    {"PUT", "/containers/{id}/archive", archive_put, BODY_STREAM, archive_put_consume},
};
const size_t n_archive_routes = ARRAY_SIZE(archive_routes);
