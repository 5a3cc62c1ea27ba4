/* save, load and import endpoints; the work is core/image/archive.c. */
#include "../image/archive.h"
#include "images.h"
#include "jsonmessage.h"

/* ---------------- save ---------------- */

static void save_producer(int fd, void *p) {
  image_save_write(p, fd);
  image_save_free(p);
}

int image_save(struct api_request *req) {
  struct image_save *c = image_save_new();
  struct berth_err err = {0};
  size_t n = 0;
  const char **names = NULL;
  if (req->n_params) {
    names = xmalloc(sizeof *names);
    names[0] = api_param(req, 0);
    n = 1;
  } else {
    names = api_query_all(req, "names", &n);
  }
  int r = n ? 0 : berth_err_set(&err, BERTH_EINVAL, 0, "no images given: use names=IMAGE");
  for (size_t i = 0; i < n && r == 0; i++)
    r = image_save_add(&req->d->images, c, names[i], &err);
  free(names);
  if (r < 0) {
    image_save_free(c);
    return api_reply_err(req, &err);
  }
  return api_reply_stream(req, 200, "application/x-tar", save_producer, c);
}

/* ---------------- load ---------------- */

struct load_job {
  struct daemon *d;
  char *dir; /* extracted while the body arrives; NULL: the archive was bad */
  char error[512];
  bool quiet;
};

static void load_job_free(void *p) {
  struct load_job *c = p;
  if (!c) return;
  if (c->dir) rm_rf(c->dir);
  free(c->dir);
  free(c);
}

int image_load_consume(struct api_request *req, int fd) {
  struct load_job *c = xcalloc(1, sizeof *c);
  c->d = req->d;
  req->ctx = c;
  req->ctx_free = load_job_free;
  c->dir = image_load_receive(&req->d->images, fd, &req->consume_err);
  return c->dir ? 0 : -req->consume_err.code;
}

static void load_producer(int out, void *p) {
  struct load_job *c = p;
  struct jsonmessage jm = {out, c->quiet};
  struct xfer_progress pr = jsonmessage_sink(&jm);
  struct berth_err err = {0};
  if (!c->dir) /* the archive could not be read: said in the stream, as docker does */
    jsonmessage_error(out, c->error);
  else if (image_load_dir(&c->d->images, c->dir, &pr, &err) < 0)
    jsonmessage_error(out, err.msg);
  load_job_free(c);
}

int image_load(struct api_request *req) {
  struct load_job *c = req->ctx;
  if (req->consume_ret < 0 && c)
    snprintf(c->error, sizeof c->error, "%s", req->consume_err.msg);
  else if (req->consume_ret < 0)
    return api_reply_err(req, &req->consume_err);
  req->ctx = NULL; /* the producer owns it now */
  req->ctx_free = NULL;
  c->quiet = api_query_bool(req, "quiet", false);
  return api_reply_stream(req, 200, "application/json", load_producer, c);
}

/* ---------------- import (POST /images/create?fromSrc=) ---------------- */

struct import_ctx {
  char chain[DIGEST_LEN + 1];
  bool used;
};

int image_create_consume(struct api_request *req, int fd) {
  const char *src = api_query(req, "fromSrc");
  if (!src || strcmp(src, "-")) return 0; /* pull, or import from a URL: no body */
  struct import_ctx *c = xcalloc(1, sizeof *c);
  req->ctx = c;
  req->ctx_free = free;
  c->used = true;
  return image_import_receive(&req->d->images, fd, c->chain, &req->consume_err);
}

static int import(struct api_request *req) {
  struct daemon *d = req->d;
  struct import_ctx *c = req->ctx;
  if (req->consume_ret < 0) return api_reply_err(req, &req->consume_err);
  if (!c || !c->used) return api_reply_error(req, 400, "import needs a tar body (fromSrc=-)");
  struct berth_err err = {0};
  struct image_ref ref = {0};
  bool named;
  int r = api_repo_tag(req, &ref, &named, &err);
  size_t n;
  const char **changes = api_query_all(req, "changes", &n);
  char id[DIGEST_LEN + 1];
  if (r == 0)
    r = image_import(&d->images, c->chain, changes, n, api_query(req, "message"),
                     named ? &ref : NULL, id, &err);
  free(changes);
  if (named) ref_free(&ref);
  if (r < 0) {
    store_drop_unused_layer(&d->images, c->chain);
    return api_reply_err(req, &err);
  }
  cleanup_free char *line = xasprintf("{\"status\":\"%s\"}\n", id);
  return api_reply_text(req, 200, "application/json", line);
}

int image_create(struct api_request *req) {
  const char *src = api_query(req, "fromSrc");
  if (src && !strcmp(src, "-")) return import(req);
  if (src && *src)
    return api_reply_error(
        req, 501,
        "importing from a URL (%s) is not supported; send the tar as the body with fromSrc=-", src);
  const char *from = api_query(req, "fromImage");
  if (!from || !*from) return api_reply_error(req, 400, "fromImage or fromSrc is required");
  return api_image_pull(req, from);
}
