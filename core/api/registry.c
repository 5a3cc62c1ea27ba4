/* Registry endpoints: pull (from POST /images/create), push, login,
 * distribution inspect, search.  The engines are core/image/registry.h;
 * here: X-Registry-Auth, the request's parameters, the replies. */
#include <pthread.h>

#include "../image/reference.h"
#include "../image/registry.h"
#include "images.h"
#include "jsonmessage.h"

/* ---------------- X-Registry-Auth ---------------- */

struct reg_creds {
  char *user, *pass, *token;
  struct berth_reg_auth auth;
};

static void creds_from_header(struct api_request *req, struct reg_creds *c) {
  memset(c, 0, sizeof *c);
  const char *h = api_header(req, "X-Registry-Auth");
  if (!h || !*h) return;
  cleanup_free char *txt = base64_decode(h, NULL);
  json_t *j = json_loads(txt, 0, NULL);
  const char *u = json_string_value(json_object_get(j, "username"));
  const char *p = json_string_value(json_object_get(j, "password"));
  const char *t = json_string_value(json_object_get(j, "registrytoken"));
  c->user = u && *u ? xstrdup(u) : NULL;
  c->pass = p ? xstrdup(p) : NULL;
  c->token = t && *t ? xstrdup(t) : NULL;
  json_decref(j);
  c->auth = (struct berth_reg_auth){sizeof c->auth, c->user, c->pass, NULL, c->token};
}

static const struct berth_reg_auth *creds_auth(struct reg_creds *c) {
  return c->user || c->token ? &c->auth : NULL;
}

static void creds_free(struct reg_creds *c) {
  free(c->user);
  free(c->pass);
  free(c->token);
}

/* ---------------- pull ---------------- */

struct pull_job {
  struct daemon *d;
  struct image_ref ref;
  char *platform;
  struct reg_creds creds;
};

static void pull_producer(int fd, void *arg) {
  struct pull_job *p = arg;
  struct jsonmessage jm = {fd, false};
  struct xfer_progress pr = jsonmessage_sink(&jm);
  struct berth_err err = {0};
  if (image_pull(p->d, &p->ref, p->platform, creds_auth(&p->creds), &pr, NULL, &err) < 0)
    jsonmessage_error(fd, err.msg);
  ref_free(&p->ref);
  creds_free(&p->creds);
  free(p->platform);
  free(p);
}

int api_image_pull(struct api_request *req, const char *from) {
  if (!req->d->registry)
    return api_reply_error(
        req, 501,
        "cannot pull %s: no registry driver is configured (set registry.driver in daemon.conf)",
        from);
  const char *tag = api_query(req, "tag");
  cleanup_free char *full =
      tag && *tag ? xasprintf("%s%s%s", from, str_has_prefix(tag, "sha256:") ? "@" : ":", tag)
                  : xstrdup(from);
  struct pull_job *p = xcalloc(1, sizeof *p);
  struct berth_err err = {0};
  if (ref_parse(full, false, &p->ref, &err) < 0) {
    free(p);
    return api_reply_error(req, 400, "%s", err.msg);
  }
  /* no tag and no digest: every tag (the docker CLI sends tag=latest itself) */
  p->d = req->d;
  const char *plat = api_query(req, "platform");
  p->platform = xstrdup(plat && *plat ? plat : host_platform());
  creds_from_header(req, &p->creds);
  return api_reply_stream(req, 200, "application/json", pull_producer, p);
}

/* ---------------- push ---------------- */

struct push_job {
  struct daemon *d;
  char *name, *tag;
  struct reg_creds creds;
};

static void push_job_free(struct push_job *p) {
  free(p->name);
  free(p->tag);
  creds_free(&p->creds);
  free(p);
}

static void push_producer(int fd, void *arg) {
  struct push_job *p = arg;
  struct jsonmessage jm = {fd, false};
  struct xfer_progress pr = jsonmessage_sink(&jm);
  struct berth_err err = {0};
  if (image_push(p->d, p->name, p->tag, creds_auth(&p->creds), &pr, &err) < 0)
    jsonmessage_error(fd, err.msg);
  push_job_free(p);
}

static int push(struct api_request *req) {
  const char *name = api_param(req, 0);
  if (!req->d->registry)
    return api_reply_error(
        req, 501,
        "cannot push %s: no registry driver is configured (set registry.driver in daemon.conf)",
        name);
  const char *tag = api_query(req, "tag");
  /* 400 and 404 before streaming, as docker does */
  struct berth_err err = {0};
  size_t n;
  char **tags = image_push_tags(req->d, name, tag, &n, &err);
  if (!tags) return api_reply_err(req, &err);
  free_strv(tags, n);
  struct push_job *p = xcalloc(1, sizeof *p);
  p->d = req->d;
  p->name = xstrdup(name);
  p->tag = tag && *tag ? xstrdup(tag) : NULL;
  creds_from_header(req, &p->creds);
  return api_reply_stream(req, 200, "application/json", push_producer, p);
}

/* ---------------- login, inspect, search ---------------- */

static int auth(struct api_request *req) {
  json_t *body = api_body_json(req);
  if (!body) return 0;
  char host[256];
  struct berth_err err = {0};
  int r = registry_login(req->d, json_string_value(json_object_get(body, "serveraddress")),
                         json_string_value(json_object_get(body, "username")),
                         json_string_value(json_object_get(body, "password")), host, &err);
  json_decref(body);
  if (r < 0 && err.code == BERTH_EUNAUTHORIZED)
    return api_reply_error(
        req, 401, "login attempt to https://%s/v2/ failed with status: 401 Unauthorized", host);
  if (r < 0) return api_reply_err(req, &err);
  return api_reply_json(req, 200,
                        json_pack("{s:s,s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
}

static int distribution_inspect(struct api_request *req) {
  struct image_ref ref;
  struct berth_err err = {0};
  if (ref_parse(api_param(req, 0), true, &ref, &err) < 0)
    return api_reply_error(req, 400, "%s", err.msg);
  struct reg_creds creds;
  creds_from_header(req, &creds);
  json_t *out = image_distribution_inspect(req->d, &ref, creds_auth(&creds), &err);
  creds_free(&creds);
  ref_free(&ref);
  if (out) return api_reply_json(req, 200, out);
  if (err.code == BERTH_EUNAUTHORIZED) return api_reply_error(req, 401, "%s", err.msg);
  return api_reply_err(req, &err);
}

/* filters: is-official, is-automated, stars */
static json_t *search_filter(json_t *results, const char *filters) {
  json_t *f = json_loads(filters ? filters : "{}", 0, NULL);
  int64_t min_stars = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(f, "stars"), k, v) min_stars = strtoll(k, NULL, 10);
  bool want_official = json_object_get(json_object_get(f, "is-official"), "true") != NULL;
  json_t *res = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(results, i, e) {
    if (json_integer_value(json_object_get(e, "star_count")) < min_stars) continue;
    if (want_official && !json_is_true(json_object_get(e, "is_official"))) continue;
    json_array_append(res, e);
  }
  json_decref(f);
  return res;
}

static int search(struct api_request *req) {
  const char *term = api_query(req, "term");
  if (!term || !*term) return api_reply_error(req, 400, "term is required");
  struct berth_err err = {0};
  struct reg_creds creds;
  creds_from_header(req, &creds); /* docker search sends the stored login */
  json_t *j =
      registry_search(req->d, term, api_query_int(req, "limit", 25), creds_auth(&creds), &err);
  creds_free(&creds);
  if (!j) return api_reply_err(req, &err);
  json_t *res = search_filter(j, api_query(req, "filters"));
  json_decref(j);
  return api_reply_json(req, 200, res);
}

const struct api_route registry_routes[] = {
    {"GET", "/images/search", search, BODY_BUFFER, NULL},
    {"GET", "/distribution/{name*}/json", distribution_inspect, BODY_BUFFER, NULL},
    {"POST", "/images/{name*}/push", push, BODY_BUFFER, NULL},
    {"POST", "/auth", auth, BODY_BUFFER, NULL},
};
const size_t n_registry_routes = ARRAY_SIZE(registry_routes);
