/* distribution: the Docker Registry HTTP API v2 / OCI distribution spec over
 * libcurl.  Pure transport (registry.h): manifests and blobs in and out,
 * auth (anonymous, basic, bearer token), TLS with the system CAs and a
 * per-registry CA dir, plain HTTP for insecure registries (loopback always,
 * as docker does).  The core verifies every digest.
 *
 * daemon.conf:
 *   registry: { driver = "distribution";
 *     distribution: { insecure = "myreg:5000,10.0.0.1:5000";  # plain HTTP
 *                     certs_dir = "/etc/berth/certs.d";          # <dir>/<host>/ca.crt
 *                     mirrors = "https://mirror.example"; } };    # docker.io, in order
 */
#include <berth/registry.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../core/util/lazylib.h"

struct dist_conf {
  const char *insecure;
  const char *certs_dir;
  const char *mirrors; /* docker.io pull-through mirrors, tried in order before the origin */
};

struct dist_drv {
  const struct berth_host *host;
  struct dist_conf conf;
};

struct dist_sess {
  struct dist_drv *d;
  char *base; /* "https://host" */
  char *host; /* as given */
  char *repo;
  char *user, *pass;
  char *token; /* bearer token, once we have one */
  char *ca_file;
  uint32_t flags;
  bool insecure;  /* TLS without verification, then plain HTTP (docker's rule) */
  bool basic;     /* the registry asked for basic auth: send it every time */
  char *origin;   /* base of the registry itself */
  char **mirrors; /* docker.io: mirror bases, tried first for reads */
  size_t n_mirrors;
};

/* libcurl is opened at the first request (lazy-curl.c), and its global
 * set-up (OpenSSL's with it) made then: a berthd that does not pull or
 * push never pays for either.  Every operation starts here, so that no
 * later call meets a library that did not load. */
extern struct lazylib lazy_libcurl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_setup(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}
static int curl_ready(struct berth_err *err) { /* from d_open: login and search open one too */
  if (lazylib_need(&lazy_libcurl, err) < 0) return -err->code;
  pthread_once(&curl_once, curl_setup);
  return 0;
}

static char *dup_s(const char *s) {
  return s ? strdup(s) : NULL;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  if (vasprintf(&s, f, ap) < 0) s = NULL;
  va_end(ap);
  return s;
}

static bool host_insecure(struct dist_drv *d, const char *host) {
  if (!strncmp(host, "127.", 4) || !strncmp(host, "localhost", 9) || !strncmp(host, "[::1]", 5))
    return true;
  const char *list = d->conf.insecure;
  size_t hl = strlen(host);
  while (list && *list) {
    const char *end = strchr(list, ',');
    size_t l = end ? (size_t)(end - list) : strlen(list);
    while (l && isspace((unsigned char)*list))
      list++, l--;
    if (l == hl && !strncmp(list, host, hl)) return true;
    if (!end) break;
    list = end + 1;
  }
  return false;
}

/* ---------------- one HTTP exchange ---------------- */

struct xfer {
  struct berth_buf *body;   /* response body into a host buffer, or */
  struct berth_writer *out; /* streamed to a writer (blobs) */
  const struct berth_host *host;
  struct berth_reader *in; /* request body */
  long status;
  char *www_auth;
  char *location;
  char *digest;
  char *content_type;
  uint64_t content_length;
  bool write_failed;
  bool append_failed; /* host->buf_append failed: the op fails too */
  bool got_data;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ctx) {
  struct xfer *x = ctx;
  size_t len = sz * n;
  x->got_data = true;
  /* bodies of redirects and errors are not the payload */
  if (x->status >= 300 || x->status == 0) {
    if (x->status >= 400 && x->body && x->host->buf_append(x->host, x->body, p, len) < 0) {
      x->append_failed = true;
      return 0;
    }
    return len;
  }
  if (x->out) {
    size_t off = 0;
    while (off < len) {
      ssize_t w = x->out->write(x->out->ctx, p + off, len - off);
      if (w <= 0) {
        x->write_failed = true;
        return 0;
      }
      off += (size_t)w;
    }
    return len;
  }
  if (x->body && x->host->buf_append(x->host, x->body, p, len) < 0) {
    x->append_failed = true;
    return 0;
  }
  return len;
}

static char *header_value(const char *line, size_t len, const char *name) {
  size_t nl = strlen(name);
  if (len <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':') return NULL;
  const char *v = line + nl + 1;
  while (*v == ' ')
    v++;
  size_t vl = len - (size_t)(v - line);
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
    vl--;
  return strndup(v, vl);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ctx) {
  struct xfer *x = ctx;
  size_t len = sz * n;
  int code;
  char *v;
  if (len > 9 && !strncmp(p, "HTTP/", 5) &&
      sscanf(strchr(p, ' ') ? strchr(p, ' ') : p, " %d", &code) == 1) {
    x->status = code;
    /* a new response (after a redirect): forget the last one's headers */
    free(x->www_auth);
    free(x->digest);
    free(x->content_type);
    x->www_auth = x->digest = x->content_type = NULL;
  } else if ((v = header_value(p, len, "WWW-Authenticate"))) {
    free(x->www_auth);
    x->www_auth = v;
  } else if ((v = header_value(p, len, "Location"))) {
    free(x->location);
    x->location = v;
  } else if ((v = header_value(p, len, "Docker-Content-Digest"))) {
    free(x->digest);
    x->digest = v;
  } else if ((v = header_value(p, len, "Content-Type"))) {
    free(x->content_type);
    x->content_type = v;
  } else if ((v = header_value(p, len, "Content-Length"))) {
    x->content_length = strtoull(v, NULL, 10);
    free(v);
  }
  return len;
}

static size_t on_read(char *buf, size_t sz, size_t n, void *ctx) {
  struct xfer *x = ctx;
  ssize_t r = x->in->read(x->in->ctx, buf, sz * n);
  return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
}

static void xfer_free(struct xfer *x) {
  free(x->www_auth);
  free(x->location);
  free(x->digest);
  free(x->content_type);
}

static int map_status(long st, const char *what, struct berth_err *err,
                      const struct berth_buf *body) {
  /* the registry's own message when it sent one: {"errors":[{"message":...}]} */
  char msg[256] = "";
  if (body && body->len) {
    const char *m = strstr(body->data, "\"message\":\"");
    if (m) {
      m += 11;
      size_t l = strcspn(m, "\"");
      snprintf(msg, sizeof msg, ": %.*s", (int)(l > 200 ? 200 : l), m);
    }
  }
  if (st == 401) return berth_err_set(err, BERTH_EUNAUTHORIZED, 0, "%s: unauthorized%s", what, msg);
  if (st == 403) return berth_err_set(err, BERTH_EFORBIDDEN, 0, "%s: denied%s", what, msg);
  if (st == 404) return berth_err_set(err, BERTH_ENOTFOUND, 0, "%s: not found%s", what, msg);
  if (st == 429 || st >= 500)
    return berth_err_set(err, BERTH_EUNAVAILABLE, 0, "%s: registry answered %ld%s", what, st, msg);
  return berth_err_set(err, BERTH_EINVAL, 0, "%s: registry answered %ld%s", what, st, msg);
}

/* key="value" from a WWW-Authenticate challenge */
static char *challenge_param(const char *ch, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = ch; (p = strstr(p, key)); p += kl) {
    if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=') {
      const char *v = p + kl + 1;
      if (*v == '"') {
        v++;
        return strndup(v, strcspn(v, "\""));
      }
      return strndup(v, strcspn(v, ", "));
    }
  }
  return NULL;
}

static void tls_setup(struct dist_sess *s, CURL *h) {
  if (s->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
  if (s->insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

/* An insecure registry that does not speak TLS: go on in plain HTTP. */
static bool fall_back_to_http(struct dist_sess *s, CURLcode rc, const char *url, char **out) {
  if (!s->insecure || strncmp(s->base, "https://", 8)) return false;
  if (rc != CURLE_SSL_CONNECT_ERROR && rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING &&
      rc != CURLE_COULDNT_CONNECT && rc != CURLE_SEND_ERROR && rc != CURLE_PEER_FAILED_VERIFICATION)
    return false;
  char *nb = fmt("http://%s", s->base + 8);
  free(s->base);
  s->base = nb;
  *out = strncmp(url, "https://", 8) ? strdup(url) : fmt("http://%s", url + 8);
  return true;
}

/* GET the token endpoint of a Bearer challenge. */
static int fetch_token(struct dist_sess *s, const char *challenge, struct berth_err *err) {
  char *realm = challenge_param(challenge, "realm");
  char *service = challenge_param(challenge, "service");
  char *scope = challenge_param(challenge, "scope");
  if (!realm) {
    free(service);
    free(scope);
    return berth_err_set(err, BERTH_EUNAUTHORIZED, 0, "bearer challenge without a realm");
  }
  CURL *h = curl_easy_init();
  char *es = service ? curl_easy_escape(h, service, 0) : NULL;
  char *def_scope =
      fmt("repository:%s:%s", s->repo, (s->flags & BERTH_REG_PUSH) ? "pull,push" : "pull");
  char *esc = curl_easy_escape(h, scope ? scope : def_scope, 0);
  char *url =
      fmt("%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?", es ? es : "", esc);
  struct berth_buf body = {sizeof body, NULL, 0, 0};
  struct xfer x = {.body = &body, .host = s->d->host};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  tls_setup(s, h);
  if (s->user) {
    curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, s->pass ? s->pass : "");
  }
  CURLcode rc = curl_easy_perform(h);
  int r = 0;
  if (rc != CURLE_OK)
    r = berth_err_set(err, BERTH_EUNAVAILABLE, 0, "token endpoint %s: %s", realm,
                      curl_easy_strerror(rc));
  else if (x.status != 200)
    r = map_status(x.status, "token endpoint", err, &body);
  else {
    /* {"token": "..."} or {"access_token": "..."} */
    const char *t = body.data ? strstr(body.data, "\"token\"") : NULL;
    if (!t && body.data) t = strstr(body.data, "\"access_token\"");
    const char *q = t ? strchr(strchr(t, ':') ? strchr(t, ':') : t, '"') : NULL;
    if (!q)
      r = berth_err_set(err, BERTH_EUNAUTHORIZED, 0, "token endpoint: no token in the answer");
    else {
      free(s->token);
      s->token = strndup(q + 1, strcspn(q + 1, "\""));
    }
  }
  free(body.data);
  xfer_free(&x);
  curl_free(es);
  curl_free(esc);
  free(def_scope);
  free(url);
  free(realm);
  free(service);
  free(scope);
  curl_easy_cleanup(h);
  return r;
}

/* One request with the auth dance: anonymous (or the token we hold),
 * then on 401 the challenge's scheme, once. */
static int request(struct dist_sess *s, const char *method, const char *url,
                   const char *const *headers, struct xfer *x, uint64_t upload_len,
                   struct berth_err *err) {
  for (int attempt = 0; attempt < 2; attempt++) {
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (const char *const *p = headers; p && *p; p++)
      hl = curl_slist_append(hl, *p);
    char *authz = NULL;
    if (s->token) {
      authz = fmt("Authorization: Bearer %s", s->token);
      hl = curl_slist_append(hl, authz);
    } else if (s->user && (attempt > 0 || s->basic)) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
      curl_easy_setopt(h, CURLOPT_PASSWORD, s->pass ? s->pass : "");
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a stalled transfer is a failure the core retries */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/distribution");
    tls_setup(s, h);
    if (x->in) {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, x);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload_len);
      hl = curl_slist_append(hl, "Expect:");
    } else if (!strcmp(method, "PUT") || !strcmp(method, "POST")) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    x->status = 0;
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    free(authz);
    curl_easy_cleanup(h);
    char *http_url = NULL;
    if (rc != CURLE_OK && !x->got_data && fall_back_to_http(s, rc, url, &http_url)) {
      /* same request in plain HTTP; an upload body has not been read yet */
      int r = request(s, method, http_url, headers, x, upload_len, err);
      free(http_url);
      return r;
    }
    if (x->append_failed)
      return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "%s %s: out of memory", method, url);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x->status >= 400)) {
      if (x->write_failed)
        return berth_err_set(err, BERTH_EINTERNAL, 0, "%s %s: writing the data failed", method,
                             url);
      return berth_err_set(err, BERTH_EUNAVAILABLE, 0, "%s %s: %s", method, url,
                           curl_easy_strerror(rc));
    }
    if (x->status != 401 || attempt > 0 || x->in) return 0;
    /* the challenge tells how to authenticate */
    const char *ch = x->www_auth ? x->www_auth : "";
    if (!strncasecmp(ch, "Bearer", 6)) {
      int r = fetch_token(s, ch, err);
      if (r < 0) return r;
    } else if (!strncasecmp(ch, "Basic", 5)) {
      if (!s->user || s->basic) return 0; /* anonymous, or refused: the 401 is the answer */
      s->basic = true;
    } else {
      return 0;
    }
    if (x->body) x->body->len = 0;
  }
  return 0;
}

/* An upload cannot be replayed, so authenticate first with a cheap call. */
static int ensure_auth(struct dist_sess *s, struct berth_err *err) {
  if (s->token) return 0;
  char *url = fmt("%s/v2/%s/tags/list", s->base, s->repo);
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct xfer x = {.body = &b, .host = s->d->host};
  int r = request(s, "GET", url, NULL, &x, 0, err);
  if (r == 0 && x.status == 401) r = map_status(401, s->host, err, &b);
  free(b.data);
  xfer_free(&x);
  free(url);
  return r;
}

/* ---------------- ops ---------------- */

static int d_open(void *drv, const struct berth_reg_target *t, void **out, struct berth_err *err) {
  if (curl_ready(err) < 0) return -err->code;
  struct dist_drv *d = drv;
  struct dist_sess *s = calloc(1, sizeof *s);
  if (!s) return berth_err_set(err, BERTH_EINTERNAL, 0, "out of memory");
  s->d = d;
  const char *host = t->host;
  /* docker.io's API lives at registry-1.docker.io */
  const char *api_host = !strcmp(host, "docker.io") ? "registry-1.docker.io" : host;
  s->insecure = host_insecure(d, host);
  s->base = fmt("https://%s", api_host);
  s->origin = strdup(s->base);
  if (!strcmp(host, "docker.io") && !(t->flags & BERTH_REG_PUSH) && d->conf.mirrors &&
      *d->conf.mirrors) {
    const char *m = d->conf.mirrors;
    while (*m) {
      size_t l = strcspn(m, ", ");
      if (l) {
        char *one = strndup(m, l);
        while (l && one[l - 1] == '/')
          one[--l] = 0;
        char *base = strstr(one, "://") ? strdup(one) : fmt("https://%s", one);
        free(one);
        s->mirrors = realloc(s->mirrors, (s->n_mirrors + 1) * sizeof *s->mirrors);
        s->mirrors[s->n_mirrors++] = base;
      }
      m += l;
      while (*m == ',' || *m == ' ')
        m++;
    }
  }
  s->host = strdup(host);
  s->repo = strdup(t->repo);
  s->flags = t->flags;
  if (t->auth) {
    s->user = dup_s(t->auth->username);
    s->pass = dup_s(t->auth->password);
    if (t->auth->registry_token && *t->auth->registry_token)
      s->token = strdup(t->auth->registry_token);
  }
  if (d->conf.certs_dir && *d->conf.certs_dir) {
    char *ca = fmt("%s/%s/ca.crt", d->conf.certs_dir, host);
    FILE *f = ca ? fopen(ca, "r") : NULL;
    if (f) {
      fclose(f);
      s->ca_file = ca;
    } else {
      free(ca);
    }
  }
  *out = s;
  return 0;
}

static void d_close(void *sp) {
  struct dist_sess *s = sp;
  if (!s) return;
  free(s->base);
  free(s->origin);
  for (size_t i = 0; i < s->n_mirrors; i++)
    free(s->mirrors[i]);
  free(s->mirrors);
  free(s->host);
  free(s->repo);
  free(s->user);
  free(s->pass);
  free(s->token);
  free(s->ca_file);
  free(s);
}

static void fill_desc(struct berth_reg_desc *desc, const struct xfer *x, uint64_t size) {
  if (!desc) return;
  memset(desc, 0, sizeof *desc);
  if (x->content_type) snprintf(desc->media_type, sizeof desc->media_type, "%s", x->content_type);
  if (x->digest) snprintf(desc->digest, sizeof desc->digest, "%s", x->digest);
  desc->size = size;
}

static int d_get_manifest_at(void *sp, const char *ref, const char *const *accept,
                             struct berth_buf *body, struct berth_reg_desc *desc,
                             struct berth_err *err) {
  struct dist_sess *s = sp;
  char *url = fmt("%s/v2/%s/manifests/%s", s->base, s->repo, ref);
  const char *hdrs[16];
  char *owned[16];
  size_t n = 0;
  for (const char *const *a = accept; a && *a && n < 15; a++)
    hdrs[n] = owned[n] = fmt("Accept: %s", *a), n++;
  hdrs[n] = NULL;
  struct xfer x = {.body = body, .host = s->d->host};
  int r = request(s, "GET", url, hdrs, &x, 0, err);
  if (r == 0 && x.status != 200) r = map_status(x.status, "manifest", err, body);
  if (r == 0) fill_desc(desc, &x, body->len);
  for (size_t i = 0; i < n; i++)
    free(owned[i]);
  xfer_free(&x);
  free(url);
  return r;
}

static int d_stat_blob_at(void *sp, const char *digest, struct berth_reg_desc *desc,
                          struct berth_err *err) {
  struct dist_sess *s = sp;
  char *url = fmt("%s/v2/%s/blobs/%s", s->base, s->repo, digest);
  struct xfer x = {.host = s->d->host};
  int r = request(s, "HEAD", url, NULL, &x, 0, err);
  if (r == 0 && x.status != 200) r = map_status(x.status, digest, err, NULL);
  if (r == 0) fill_desc(desc, &x, x.content_length);
  xfer_free(&x);
  free(url);
  return r;
}

static int d_get_blob_at(void *sp, const char *digest, uint64_t offset, struct berth_writer *out,
                         struct berth_err *err) {
  struct dist_sess *s = sp;
  char *url = fmt("%s/v2/%s/blobs/%s", s->base, s->repo, digest);
  char range[64];
  snprintf(range, sizeof range, "Range: bytes=%llu-", (unsigned long long)offset);
  const char *hdrs[] = {range, NULL};
  struct berth_buf eb = {sizeof eb, NULL, 0, 0};
  struct xfer x = {.out = out, .body = &eb, .host = s->d->host};
  int r = request(s, "GET", url, offset ? hdrs : NULL, &x, 0, err);
  if (r == 0 && offset && x.status == 200)
    r = berth_err_set(err, BERTH_EUNAVAILABLE, 0,
                      "%s: the registry cannot resume (no range support)", digest);
  else if (r == 0 && x.status != 200 && x.status != 206)
    r = map_status(x.status, digest, err, &eb);
  free(eb.data);
  xfer_free(&x);
  free(url);
  return r;
}

/* Reads go to the mirrors first (docker.io only), then to the origin; a
 * mirror that fails or lacks the object is skipped. */
static void use_base(struct dist_sess *s, const char *base) {
  if (!strcmp(s->base, base)) return;
  free(s->base);
  s->base = strdup(base);
  free(s->token); /* a token is for one registry */
  s->token = NULL;
  s->basic = false;
}

#define VIA_MIRRORS(call)                                                                          \
  do {                                                                                             \
    struct dist_sess *s_ = sp;                                                                     \
    for (size_t i_ = 0; i_ < s_->n_mirrors; i_++) {                                                \
      struct berth_err e_ = {0};                                                                   \
      struct berth_err *saved_ = err;                                                              \
      use_base(s_, s_->mirrors[i_]);                                                               \
      err = &e_;                                                                                   \
      int r_ = call;                                                                               \
      err = saved_;                                                                                \
      if (r_ == 0) return 0;                                                                       \
      s_->d->host->log(s_->d->host, BERTH_LOG_INFO, "mirror %s: %s; trying the next",              \
                       s_->mirrors[i_], e_.msg);                                                   \
    }                                                                                              \
    use_base(s_, s_->origin);                                                                      \
    return call;                                                                                   \
  } while (0)

static int d_get_manifest(void *sp, const char *ref, const char *const *accept,
                          struct berth_buf *body, struct berth_reg_desc *desc,
                          struct berth_err *err) {
  size_t keep = body->len;
  VIA_MIRRORS((body->len = keep, d_get_manifest_at(sp, ref, accept, body, desc, err)));
}

static int d_stat_blob(void *sp, const char *digest, struct berth_reg_desc *desc,
                       struct berth_err *err) {
  VIA_MIRRORS(d_stat_blob_at(sp, digest, desc, err));
}

static int d_get_blob(void *sp, const char *digest, uint64_t offset, struct berth_writer *out,
                      struct berth_err *err) {
  /* no switching in the middle of a blob: a resume stays where it began */
  struct dist_sess *s = sp;
  if (offset) return d_get_blob_at(sp, digest, offset, out, err);
  (void)s;
  VIA_MIRRORS(d_get_blob_at(sp, digest, offset, out, err));
}

static int d_put_blob(void *sp, const struct berth_reg_desc *desc, const char *mount_from,
                      struct berth_reader *in, struct berth_err *err) {
  struct dist_sess *s = sp;
  int r = ensure_auth(s, err);
  if (r < 0) return r;
  CURL *h = curl_easy_init();
  char *ed = curl_easy_escape(h, desc->digest, 0);
  char *url =
      mount_from ? fmt("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", s->base, s->repo, ed, mount_from)
                 : fmt("%s/v2/%s/blobs/uploads/", s->base, s->repo);
  struct berth_buf eb = {sizeof eb, NULL, 0, 0};
  struct xfer x = {.body = &eb, .host = s->d->host};
  r = request(s, "POST", url, NULL, &x, 0, err);
  if (r == 0 && x.status == 201 && mount_from) goto done; /* mounted */
  if (r == 0 && x.status != 202) r = map_status(x.status, "blob upload", err, &eb);
  if (r == 0 && !x.location) r = berth_err_set(err, BERTH_EINVAL, 0, "blob upload: no Location");
  if (r == 0) {
    /* monolithic PUT to the upload location (absolute or relative) */
    const char *loc = x.location;
    char *put = !strncmp(loc, "http", 4)
                    ? fmt("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", ed)
                    : fmt("%s%s%sdigest=%s", s->base, loc, strchr(loc, '?') ? "&" : "?", ed);
    struct xfer px = {.body = &eb, .host = s->d->host, .in = in};
    eb.len = 0;
    const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
    r = request(s, "PUT", put, hdrs, &px, desc->size, err);
    if (r == 0 && px.status != 201) r = map_status(px.status, "blob upload", err, &eb);
    xfer_free(&px);
    free(put);
  }
done:
  free(eb.data);
  xfer_free(&x);
  curl_free(ed);
  curl_easy_cleanup(h);
  free(url);
  return r;
}

struct mem_reader {
  const char *p;
  size_t left;
};
static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  struct mem_reader *m = ctx;
  size_t n = len < m->left ? len : m->left;
  memcpy(buf, m->p, n);
  m->p += n;
  m->left -= n;
  return (ssize_t)n;
}

static int d_put_manifest(void *sp, const char *ref, const char *media_type, const void *body,
                          size_t len, struct berth_reg_desc *out, struct berth_err *err) {
  struct dist_sess *s = sp;
  int r = ensure_auth(s, err);
  if (r < 0) return r;
  char *url = fmt("%s/v2/%s/manifests/%s", s->base, s->repo, ref);
  char *ct = fmt("Content-Type: %s", media_type);
  const char *hdrs[] = {ct, NULL};
  struct mem_reader m = {body, len};
  struct berth_reader rd = BERTH_READER(&m, mem_read);
  struct berth_buf eb = {sizeof eb, NULL, 0, 0};
  struct xfer x = {.body = &eb, .host = s->d->host, .in = &rd};
  r = request(s, "PUT", url, hdrs, &x, len, err);
  if (r == 0 && x.status != 201) r = map_status(x.status, "manifest upload", err, &eb);
  if (r == 0) fill_desc(out, &x, len);
  if (out) snprintf(out->media_type, sizeof out->media_type, "%s", media_type);
  free(eb.data);
  xfer_free(&x);
  free(ct);
  free(url);
  return r;
}

static int d_login(void *drv, const char *host, const struct berth_reg_auth *auth,
                   struct berth_buf *identity_token, struct berth_err *err) {
  (void)identity_token;
  struct berth_reg_target t = {sizeof t, host, "", auth, 0};
  void *sp;
  int r = d_open(drv, &t, &sp, err);
  if (r < 0) return r;
  struct dist_sess *s = sp;
  /* GET /v2/: 200 anonymous, 401 with a challenge we answer */
  char *url = fmt("%s/v2/", s->base);
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct xfer x = {.body = &b, .host = s->d->host};
  free(s->repo);
  s->repo = strdup("");
  r = request(s, "GET", url, NULL, &x, 0, err);
  if (r == 0 && x.status == 401)
    r = berth_err_set(err, BERTH_EUNAUTHORIZED, 0, "unauthorized: incorrect username or password");
  else if (r == 0 && x.status != 200)
    r = map_status(x.status, host, err, &b);
  free(b.data);
  xfer_free(&x);
  free(url);
  d_close(s);
  return r;
}

static int d_list_tags(void *sp, struct berth_buf *tags, struct berth_err *err) {
  struct dist_sess *s = sp;
  char *url = fmt("%s/v2/%s/tags/list", s->base, s->repo);
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct xfer x = {.body = &b, .host = s->d->host};
  int r = request(s, "GET", url, NULL, &x, 0, err);
  if (r == 0 && x.status != 200) r = map_status(x.status, "tags", err, &b);
  if (r == 0 && b.data) {
    /* {"name":"x","tags":["a","b"]} -> "a\nb\n" */
    const char *p = strstr(b.data, "\"tags\"");
    p = p ? strchr(p, '[') : NULL;
    while (p && *p && *p != ']') {
      const char *q = strchr(p, '"');
      if (!q) break;
      const char *e = strchr(q + 1, '"');
      if (!e) break;
      if (s->d->host->buf_append(s->d->host, tags, q + 1, (size_t)(e - q - 1)) < 0 ||
          s->d->host->buf_append(s->d->host, tags, "\n", 1) < 0) {
        r = berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "tags: out of memory");
        break;
      }
      p = e + 1;
      while (*p == ',' || *p == ' ')
        p++;
    }
  }
  free(b.data);
  xfer_free(&x);
  free(url);
  return r;
}

/* The catalog, where the registry offers one (docker-registry does):
 * repository names containing term. */
static int d_search_as(void *drv, const struct berth_reg_target *target, const char *term,
                       uint32_t limit, struct berth_buf *results, struct berth_err *err) {
  struct berth_reg_target t = {sizeof t, target->host, "", target->auth, 0};
  const char *host = target->host;
  void *sp;
  int r = d_open(drv, &t, &sp, err);
  if (r < 0) return r;
  struct dist_sess *s = sp;
  char *url = fmt("%s/v2/_catalog?n=1000", s->base);
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct xfer x = {.body = &b, .host = s->d->host};
  r = request(s, "GET", url, NULL, &x, 0, err);
  if (r == 0 && x.status == 404)
    r = berth_err_set(err, BERTH_ENOTSUP, 0, "%s does not offer a catalog to search", host);
  else if (r == 0 && x.status != 200)
    r = map_status(x.status, "catalog", err, &b);
  const struct berth_host *h = s->d->host;
  if (r == 0 && h->buf_append(h, results, "[", 1) < 0) r = -BERTH_EINTERNAL;
  if (r == 0) {
    uint32_t n = 0;
    const char *p = b.data ? strstr(b.data, "\"repositories\"") : NULL;
    p = p ? strchr(p, '[') : NULL;
    while (p && *p && *p != ']' && n < limit) {
      const char *q = strchr(p, '"');
      if (!q) break;
      const char *e = strchr(q + 1, '"');
      if (!e) break;
      char *name = strndup(q + 1, (size_t)(e - q - 1));
      if (name && strstr(name, term)) {
        char *row =
            fmt("%s{\"name\":\"%s/%s\",\"description\":\"\",\"star_count\":0,\"is_official\":false,"
                "\"is_automated\":false}",
                n ? "," : "", host, name);
        if (!row || h->buf_append(h, results, row, strlen(row)) < 0) r = -BERTH_EINTERNAL;
        free(row);
        n++;
      }
      free(name);
      p = e + 1;
      while (*p == ',' || *p == ' ')
        p++;
    }
    if (r == 0 && h->buf_append(h, results, "]", 1) < 0) r = -BERTH_EINTERNAL;
    if (r < 0) r = berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "search: out of memory");
  }
  free(b.data);
  xfer_free(&x);
  free(url);
  d_close(s);
  return r;
}

static int d_search(void *drv, const char *host, const char *term, uint32_t limit,
                    struct berth_buf *results, struct berth_err *err) {
  struct berth_reg_target t = {sizeof t, host, "", NULL, 0};
  return d_search_as(drv, &t, term, limit, results, err);
}

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("insecure", BERTH_CONF_STRING, struct dist_conf, insecure, ""),
    BERTH_CONF_KEY("certs_dir", BERTH_CONF_STRING, struct dist_conf, certs_dir,
                   "/etc/berth/certs.d"),
    BERTH_CONF_KEY("mirrors", BERTH_CONF_STRING, struct dist_conf, mirrors, ""),
};

static int d_init(const struct berth_host *host, void **out, struct berth_err *err) {
  struct dist_drv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, 0, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r < 0) {
    free(d);
    return r;
  }
  *out = d;
  return 0;
}

static void d_fini(void *drv) {
  free(drv);
}

static const struct berth_registry_ops ops = {
    .struct_size = sizeof(struct berth_registry_ops),
    .features = BERTH_REG_F_MOUNT | BERTH_REG_F_SEARCH,
    .open = d_open,
    .close = d_close,
    .get_manifest = d_get_manifest,
    .stat_blob = d_stat_blob,
    .get_blob = d_get_blob,
    .put_blob = d_put_blob,
    .put_manifest = d_put_manifest,
    .login = d_login,
    .list_tags = d_list_tags,
    .search = d_search,
    .search_as = d_search_as,
};

/* Thread-safe: the driver's state is its read-only configuration; each
 * session has its own handles and is used by one thread at a time, so the
 * core's parallel downloads are not serialised. */
BERTH_PLUGIN_DEFINE(distribution, BERTH_KIND_REGISTRY, "distribution", "1.0.0",
                    "Docker Registry HTTP API v2 / OCI distribution over libcurl",
                    BERTH_PLUGIN_F_THREADSAFE, d_init, d_fini, &ops)
