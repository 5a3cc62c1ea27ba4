#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "api.h"

#include "../image/reference.h"

#define BODY_LIMIT (16u << 20)
#define IDLE_TIMEOUT_S 30 /* seconds a connection may send nothing */

struct api_server {
  struct MHD_Daemon *mhd;
  const struct api_route *routes;
  size_t n_routes;
  struct daemon *d;
};

int write_all(int fd, const void *buf, size_t len) {
  return write_all_fd(fd, buf, len);
}

int stream_json(int fd, json_t *obj) {
  char *s = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  if (!s) return -1;
  size_t n = strlen(s);
  s[n] = '\n';
  int r = write_all(fd, s, n + 1);
  free(s);
  return r;
}

/* ---- routing ---- */

static bool match_from(const char *pat, const char *path, struct api_request *req) {
  while (*pat && *path) {
    if (*pat == '{') {
      const char *close = strchr(pat, '}');
      bool greedy = close[-1] == '*';
      const char *after = close + 1; /* rest of the pattern */
      if (!greedy) {
        const char *end = strchrnul(path, '/');
        if (end == path) return false;
        req->params[req->n_params++] = strndup(path, (size_t)(end - path));
        if (match_from(after, end, req)) return true;
        free(req->params[--req->n_params]);
        return false;
      }
      /* greedy: try the longest capture first */
      for (const char *end = path + strlen(path); end > path; end--) {
        if (*end != '/' && *end != 0) continue;
        req->params[req->n_params++] = strndup(path, (size_t)(end - path));
        if (match_from(after, end, req)) return true;
        free(req->params[--req->n_params]);
      }
      return false;
    }
    if (*pat != *path) return false;
    pat++;
    path++;
  }
  return !*pat && !*path;
}

static const struct api_route *route_find(struct api_server *s, struct api_request *req) {
  for (size_t i = 0; i < s->n_routes; i++) {
    const struct api_route *r = &s->routes[i];
    bool method_ok = !strcmp(r->method, req->method) ||
                     (!strcmp(req->method, "HEAD") && !strcmp(r->method, "GET"));
    if (!method_ok) continue;
    req->n_params = 0;
    if (match_from(r->pattern, req->path, req)) return r;
  }
  return NULL;
}

/* "/v1.43/x" -> version 143, path "/x"; unversioned -> our maximum.  A
 * part longer than 4 digits is kept as text and refused as too new. */
static int split_version(const char *url, int *version, char *text, size_t tlen,
                         const char **rest) {
  *version = API_VERSION_NUM;
  *rest = url;
  if (url[0] != '/' || url[1] != 'v') return 0;
  const char *p = url + 2;
  size_t maj = strspn(p, "0123456789");
  if (!maj || p[maj] != '.') return 0;
  size_t min = strspn(p + maj + 1, "0123456789");
  size_t n = maj + 1 + min;
  if (!min || (p[n] != '/' && p[n] != 0)) return 0;
  snprintf(text, tlen, "%.*s", (int)(n < tlen - 1 ? n : tlen - 1), p);
  *version = maj > 4 || min > 4 ? INT_MAX : atoi(p) * 100 + atoi(p + maj + 1);
  *rest = p + n;
  if (!**rest) *rest = "/";
  return 1;
}

/* ---- responses ---- */

static void add_common_headers(struct MHD_Response *resp) {
  MHD_add_response_header(resp, "Api-Version", API_VERSION);
  MHD_add_response_header(resp, "Ostype", "linux");
  MHD_add_response_header(resp, "Docker-Experimental", "false");
  MHD_add_response_header(resp, "Server", "Berth/" PACKAGE_VERSION " (linux)");
}

void api_add_header(struct api_request *req, const char *name, const char *value) {
  for (size_t i = 0; i + 1 < ARRAY_SIZE(req->headers); i += 2)
    if (!req->headers[i]) {
      req->headers[i] = xstrdup(name);
      req->headers[i + 1] = xstrdup(value);
      return;
    }
}

static int queue(struct api_request *req, unsigned status, struct MHD_Response *resp) {
  add_common_headers(resp);
  for (size_t i = 0; i + 1 < ARRAY_SIZE(req->headers) && req->headers[i]; i += 2)
    MHD_add_response_header(resp, req->headers[i], req->headers[i + 1]);
  enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
  MHD_destroy_response(resp);
  req->responded = true;
  return r == MHD_YES ? 0 : -1;
}

int api_reply_text(struct api_request *req, unsigned status, const char *content_type,
                   const char *text) {
  size_t len = text ? strlen(text) : 0;
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)(text ? text : ""), MHD_RESPMEM_MUST_COPY);
  if (content_type) MHD_add_response_header(resp, "Content-Type", content_type);
  return queue(req, status, resp);
}

int api_reply_json_text(struct api_request *req, unsigned status, char *text) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(resp, "Content-Type", "application/json");
  return queue(req, status, resp);
}

int api_reply_json(struct api_request *req, unsigned status, json_t *body) {
  char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(body);
  size_t len = strlen(s);
  s = xrealloc(s, len + 2);
  s[len] = '\n';
  s[len + 1] = 0;
  return api_reply_json_text(req, status, s);
}

int api_reply_error(struct api_request *req, unsigned status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return api_reply_json(req, status, json_pack("{s:s}", "message", msg));
}

int api_reply_err(struct api_request *req, const struct berth_err *err) {
  return api_reply_error(req, (unsigned)err_http_status(err->code), "%s", err->msg);
}

int api_reply_empty(struct api_request *req, unsigned status) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  return queue(req, status, resp);
}

/* The threads that go on serving a request after its handler returned: a
 * stream's producer and a hijacked session.  They use the daemon's state,
 * which main frees once api_stop returns, so api_stop waits for them
 * (berthd's shutdown watchdog bounds the wait).  CI's ASan run caught a
 * build's producer in a plugin main had freed. */
enum { LIVE_PRODUCER, LIVE_HIJACK };
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cond = PTHREAD_COND_INITIALIZER;
static unsigned live_n[2];

static void live_add(int kind, int delta) {
  pthread_mutex_lock(&live_lock);
  live_n[kind] += (unsigned)delta;
  if (!live_n[kind]) pthread_cond_broadcast(&live_cond);
  pthread_mutex_unlock(&live_lock);
}

static void live_wait(int kind) {
  pthread_mutex_lock(&live_lock);
  while (live_n[kind])
    pthread_cond_wait(&live_cond, &live_lock);
  pthread_mutex_unlock(&live_lock);
}

struct producer {
  api_producer_fn fn;
  void *ctx;
  int fd;
  int client; /* the connection's socket, -1 unknown */
  struct producer *next;
};
/* the running producers, for api_stream_gone */
static struct producer *producers;

static void producer_list(struct producer *pr, bool add) {
  pthread_mutex_lock(&live_lock);
  if (add) {
    pr->next = producers;
    producers = pr;
  }
  for (struct producer **q = &producers; !add && *q; q = &(*q)->next)
    if (*q == pr) {
      *q = pr->next;
      break;
    }
  pthread_mutex_unlock(&live_lock);
}

bool api_stream_gone(int fd) {
  struct pollfd pf = {fd, 0, 0};
  if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLERR | POLLHUP))) return true;
  pthread_mutex_lock(&live_lock);
  int client = -1;
  for (struct producer *p = producers; p; p = p->next)
    if (p->fd == fd) client = p->client;
  /* polled under the lock: the socket is the connection's while its
   * producer runs (the daemon closes it after the pipe's reader) */
  struct pollfd cf = {client, 0, 0};
  bool gone = client >= 0 && poll(&cf, 1, 0) > 0 && (cf.revents & (POLLHUP | POLLERR));
  pthread_mutex_unlock(&live_lock);
  return gone;
}

static void *producer_thread(void *p) {
  struct producer *pr = p;
  pr->fn(pr->fd, pr->ctx);
  producer_list(pr, false);
  close(pr->fd);
  free(pr);
  live_add(LIVE_PRODUCER, -1);
  return NULL;
}

int api_reply_stream(struct api_request *req, unsigned status, const char *content_type,
                     api_producer_fn fn, void *ctx) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return api_reply_error(req, 500, "pipe: %s", strerror(errno));
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  struct producer *pr = xmalloc(sizeof *pr);
  *pr = (struct producer){fn, ctx, fds[1], ci ? ci->connect_fd : -1, NULL};
  producer_list(pr, true);
  pthread_t t;
  live_add(LIVE_PRODUCER, 1);
  if (pthread_create(&t, NULL, producer_thread, pr) != 0) {
    live_add(LIVE_PRODUCER, -1);
    producer_list(pr, false);
    close(fds[0]);
    close(fds[1]);
    free(pr);
    return api_reply_error(req, 500, "cannot start stream thread");
  }
  pthread_detach(t);
  struct MHD_Response *resp = MHD_create_response_from_pipe(fds[0]);
  if (content_type) MHD_add_response_header(resp, "Content-Type", content_type);
  req->streaming = true; /* may be quiet for hours (logs -f, events): no idle timeout */
  return queue(req, status, resp);
}

struct hijack {
  api_hijack_fn fn;
  void *ctx;
  void (*ctx_free)(void *);
  char *extra;
  size_t extra_len;
  int sock;
  struct MHD_Connection *conn;
  struct MHD_UpgradeResponseHandle *urh;
  bool late; /* the stream waits a moment after the 101 (hijack_thread) */
};

/* libmicrohttpd 0.9.75 has a use-after-free in MHD_upgrade_action(CLOSE):
 * it sets urh->was_closed, then calls MHD_resume_connection(conn).  In
 * between, the daemon thread can see the closed upgrade, join the
 * connection's thread and free the connection; the resume then writes
 * conn->resuming into freed memory.  That was berthd's heap corruption
 * under many short attaches (issue 9; the library is not instrumented,
 * so ASan and TSan never saw it).  The daemon frees a connection only
 * after its NOTIFY_CONNECTION "closed" callback returns, so that callback
 * waits here until no close of that connection is in flight. */
struct closing {
  struct MHD_Connection *conn;
  struct closing *next;
};
static pthread_mutex_t closing_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closing_done = PTHREAD_COND_INITIALIZER;
static struct closing *closing_list;

static void upgrade_close(struct MHD_Connection *conn, struct MHD_UpgradeResponseHandle *urh) {
  struct closing me = {conn, NULL};
  pthread_mutex_lock(&closing_lock);
  me.next = closing_list;
  closing_list = &me;
  pthread_mutex_unlock(&closing_lock);
  MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
  pthread_mutex_lock(&closing_lock);
  for (struct closing **p = &closing_list; *p; p = &(*p)->next)
    if (*p == &me) {
      *p = me.next;
      break;
    }
  pthread_cond_broadcast(&closing_done);
  pthread_mutex_unlock(&closing_lock);
}

static bool close_in_flight(struct MHD_Connection *conn) {
  for (struct closing *c = closing_list; c; c = c->next)
    if (c->conn == conn) return true;
  return false;
}

/* the daemon thread, just before it frees conn */
static void connection_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  (void)cls;
  (void)socket_context;
  if (code != MHD_CONNECTION_NOTIFY_CLOSED) return;
  pthread_mutex_lock(&closing_lock);
  while (close_in_flight(conn))
    pthread_cond_wait(&closing_done, &closing_lock);
  pthread_mutex_unlock(&closing_lock);
}

/* Open hijacked sockets, so a shutdown can end their sessions. */
static pthread_mutex_t hj_lock = PTHREAD_MUTEX_INITIALIZER;
static int hj_socks[1024];
static size_t hj_n;

static bool hj_stopping;

static void hj_track(int sock, bool add) {
  pthread_mutex_lock(&hj_lock);
  if (add && hj_stopping) /* a session begun as berthd stops ends at once */
    shutdown(sock, SHUT_RDWR);
  else if (add && hj_n < ARRAY_SIZE(hj_socks))
    hj_socks[hj_n++] = sock;
  else if (!add)
    for (size_t i = 0; i < hj_n; i++)
      if (hj_socks[i] == sock) {
        hj_socks[i] = hj_socks[--hj_n];
        break;
      }
  pthread_mutex_unlock(&hj_lock);
}

static void *hijack_thread(void *p) {
  struct hijack *h = p;
  hj_track(h->sock, true);
  int fl = fcntl(h->sock, F_GETFL);
  if (fl >= 0) fcntl(h->sock, F_SETFL, fl & ~O_NONBLOCK);
  /* docker-py reads the 101's headers through a buffered reader, then the
   * raw socket: what arrived in the same read as the headers is lost (an
   * exec's first output, an attach's log replay).  dockerd's streams start
   * a few ms later; for that client, berth's wait as long. */
  if (h->late) usleep(20000);
  h->fn(h->sock, h->extra, h->extra_len, h->ctx);
  hj_track(h->sock, false);
  upgrade_close(h->conn, h->urh);
  if (h->ctx_free) h->ctx_free(h->ctx);
  free(h->extra);
  free(h);
  live_add(LIVE_HIJACK, -1);
  return NULL;
}

static void upgrade_cb(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh) {
  struct hijack *h = cls;
  ((struct api_request *)req_cls)->hijack_started = true; /* the session owns h now */
  h->sock = sock;
  h->conn = conn;
  h->urh = urh;
  if (extra_in_size) {
    h->extra = xmalloc(extra_in_size);
    memcpy(h->extra, extra_in, extra_in_size);
    h->extra_len = extra_in_size;
  }
  pthread_t t;
  live_add(LIVE_HIJACK, 1);
  if (pthread_create(&t, NULL, hijack_thread, h) != 0) {
    live_add(LIVE_HIJACK, -1);
    upgrade_close(conn, urh);
    if (h->ctx_free) h->ctx_free(h->ctx);
    free(h->extra);
    free(h);
    return;
  }
  pthread_detach(t);
}

int api_reply_hijack(struct api_request *req, const char *content_type, api_hijack_fn fn, void *ctx,
                     void (*ctx_free)(void *)) {
  struct hijack *h = xcalloc(1, sizeof *h);
  h->fn = fn;
  h->ctx = ctx;
  h->ctx_free = ctx_free;
  const char *ua = api_header(req, "User-Agent");
  h->late = ua && str_has_prefix(ua, "docker-sdk-python");
  struct MHD_Response *resp = MHD_create_response_for_upgrade(upgrade_cb, h);
  if (!resp) {
    free(h);
    return api_reply_error(req, 500, "cannot create upgrade response");
  }
  req->streaming = true;
  req->hijack = h;
  MHD_add_response_header(resp, "Upgrade", "tcp");
  if (content_type) MHD_add_response_header(resp, "Content-Type", content_type);
  return queue(req, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
}

/* ---- accessors ---- */

const char *api_query(struct api_request *req, const char *key) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool api_query_bool(struct api_request *req, const char *key, bool def) {
  const char *v = api_query(req, key);
  return v ? parse_bool_value(v) : def;
}

int64_t api_query_int(struct api_request *req, const char *key, int64_t def) {
  const char *v = api_query(req, key);
  if (!v || !*v) return def;
  char *end;
  long long n = strtoll(v, &end, 10);
  return *end ? def : n;
}

struct collect {
  const char *key;
  const char **vals;
  size_t n;
};

static enum MHD_Result collect_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
  struct collect *c = cls;
  if (key && !strcmp(key, c->key) && value) {
    c->vals = xrealloc(c->vals, (c->n + 1) * sizeof *c->vals);
    c->vals[c->n++] = value;
  }
  return MHD_YES;
}

const char **api_query_all(struct api_request *req, const char *key, size_t *n) {
  struct collect c = {key, NULL, 0};
  MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_cb, &c);
  *n = c.n;
  return c.vals;
}

int api_peer(struct api_request *req, pid_t *pid, uid_t *uid) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) return -1;
  *pid = cr.pid;
  *uid = cr.uid;
  return 0;
}

const char *api_header(struct api_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *api_param(struct api_request *req, size_t i) {
  return i < req->n_params ? req->params[i] : "";
}

json_t *api_body_json(struct api_request *req) {
  if (!req->body_len) return json_object();
  json_error_t je;
  json_t *j = json_loadb(req->body, req->body_len, 0, &je);
  if (!j) api_reply_error(req, 400, "invalid JSON: %s", je.text);
  return j;
}

const char *api_field(json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

int api_string_map(json_t *body, const char *key, json_t **out, struct berth_err *err) {
  json_t *m = json_object_get(body, key);
  *out = NULL;
  if (!m || json_is_null(m)) return 0;
  const char *k;
  json_t *v;
  bool ok = json_is_object(m);
  json_object_foreach(m, k, v) ok &= json_is_string(v);
  if (!ok)
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "json: cannot unmarshal %s into Go struct field %s of type map[string]string",
        json_is_object(m) ? "number" : "value", key);
  *out = m;
  return 0;
}

int api_repo_tag(struct api_request *req, struct image_ref *ref, bool *named,
                 struct berth_err *err) {
  const char *repo = api_query(req, "repo"), *tag = api_query(req, "tag");
  *named = repo && *repo;
  if (!*named) return 0;
  cleanup_free char *full = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
  return ref_parse(full, true, ref, err);
}

/* ---- the MHD callbacks ---- */

static void *consumer_thread(void *p) {
  struct api_request *req = p;
  req->consume_ret = req->route->consume(req, req->body_pipe[0]);
  /* drain whatever the consumer left so the uploader never blocks */
  char buf[8192];
  while (read(req->body_pipe[0], buf, sizeof buf) > 0) {
  }
  close(req->body_pipe[0]);
  req->body_pipe[0] = -1;
  return NULL;
}

static void request_free(struct api_request *req) {
  if (!req) return;
  if (req->consumer_started) {
    if (req->body_pipe[1] >= 0) close(req->body_pipe[1]);
    pthread_join(req->consumer, NULL);
  }
  for (size_t i = 0; i < req->n_params; i++)
    free(req->params[i]);
  for (size_t i = 0; i < ARRAY_SIZE(req->headers); i++)
    free(req->headers[i]);
  if (req->ctx_free) req->ctx_free(req->ctx);
  struct hijack *h = req->hijack;
  if (h && !req->hijack_started) {
    /* the client left before the upgrade: the session never ran */
    if (h->ctx_free) h->ctx_free(h->ctx);
    free(h);
  }
  free(req->path);
  free(req->body);
  free(req);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct api_request *req = *con_cls;
  if (req && req->trace_t0) {
    cleanup_free char *what = xasprintf("%s %s", req->method, req->path);
    trace_phase("api", what, req->trace_t0); /* until the reply (or the stream) ended */
  }
  request_free(*con_cls);
  *con_cls = NULL;
}

static enum MHD_Result dispatch(struct api_server *s, struct api_request *req) {
  if (req->version > API_VERSION_NUM) {
    api_reply_error(req, 400, "client version %s is too new. Maximum supported API version is %s",
                    req->version_text, API_VERSION);
  } else if (req->version < API_MIN_VERSION_NUM) {
    api_reply_error(req, 400,
                    "client version %d.%d is too old. Minimum supported API version is %s, please "
                    "upgrade your client to a newer version",
                    req->version / 100, req->version % 100, API_MIN_VERSION);
  } else if (!req->route) {
    api_reply_error(req, 404, "page not found");
  } else if (req->body_too_big) {
    api_reply_error(req, 413, "request body too large");
  } else {
    /* a handler may take long (stop -t 60, wait): no idle timeout meanwhile */
    MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    req->route->handler(req);
    if (!req->responded) api_reply_error(req, 500, "internal error: no response");
    if (!req->streaming)
      MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S);
  }
  return MHD_YES;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
  struct api_server *s = cls;
  struct api_request *req = *con_cls;
  if (!req) {
    req = xcalloc(1, sizeof *req);
    req->conn = conn;
    req->d = s->d;
    req->method = method;
    req->trace_t0 = trace_phase("api", "", 0);
    req->body_pipe[0] = req->body_pipe[1] = -1;
    const char *rest;
    split_version(url, &req->version, req->version_text, sizeof req->version_text, &rest);
    req->path = xstrdup(rest);
    size_t n = strlen(req->path);
    while (n > 1 && req->path[n - 1] == '/')
      req->path[--n] = 0;
    const char *connhdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connection");
    req->upgrade = connhdr && strcasestr(connhdr, "upgrade");
    req->route = route_find(s, req);
    if (req->route && req->route->body == BODY_STREAM) {
      /* a bigger pipe than 64 KiB: fewer wake-ups for a large upload */
      if (pipe2(req->body_pipe, O_CLOEXEC) == 0 &&
          (fcntl(req->body_pipe[1], F_SETPIPE_SZ, 1 << 20) >= 0 || true) &&
          pthread_create(&req->consumer, NULL, consumer_thread, req) == 0)
        req->consumer_started = true;
    }
    *con_cls = req;
    log_debug("%s %s", method, url);
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (req->consumer_started) {
      if (req->body_pipe[1] >= 0 &&
          write_all(req->body_pipe[1], upload_data, *upload_data_size) < 0) {
        close(req->body_pipe[1]);
        req->body_pipe[1] = -1;
      }
    } else if (req->body_len + *upload_data_size > BODY_LIMIT) {
      req->body_too_big = true;
    } else {
      req->body = xrealloc(req->body, req->body_len + *upload_data_size + 1);
      memcpy(req->body + req->body_len, upload_data, *upload_data_size);
      req->body_len += *upload_data_size;
      req->body[req->body_len] = 0;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (req->consumer_started) {
    if (req->body_pipe[1] >= 0) close(req->body_pipe[1]);
    req->body_pipe[1] = -1;
    pthread_join(req->consumer, NULL);
    req->consumer_started = false;
  }
  return dispatch(s, req);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  berth_vlog(BERTH_LOG_DEBUG, "http", fmt, ap);
}

/* The URL path and query values, %XX-decoded in place, except %00: a NUL
 * would cut a name or a value short unseen, so it stays as the literal
 * "%00" and the name is refused as invalid. */
static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls;
  (void)c;
  char *w = s;
  for (const char *r = s; *r;) {
    int hi, lo;
    if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi || lo)) {
      *w++ = (char)(hi << 4 | lo);
      r += 3;
    } else {
      *w++ = *r++;
    }
  }
  *w = 0;
  return (size_t)(w - s);
}

/* connections the server takes at once: the fd limit (raised to its hard
 * limit at start-up) less a reserve for berthd's own files, shims, pipes */
static unsigned connection_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) return 16384;
  return rl.rlim_cur > 1024 ? (unsigned)(rl.rlim_cur - 512) : (unsigned)(rl.rlim_cur / 2);
}

struct api_server *api_start(int listen_fd, const struct api_route *routes, size_t n_routes,
                             struct daemon *d, struct berth_err *err) {
  signal(SIGPIPE, SIG_IGN);
  struct api_server *s = xcalloc(1, sizeof *s);
  s->routes = routes;
  s->n_routes = n_routes;
  s->d = d;
  s->mhd = MHD_start_daemon(
      /* poll, not select: select stops at fd 1024, so ~1,000 idle
       * connections would lock everyone out */
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
          MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
      0, NULL, NULL, access_cb, s, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
      completed_cb, NULL, MHD_OPTION_NOTIFY_CONNECTION, connection_cb, NULL,
      /* a connection that sends nothing for this long goes (streams and
       * upgraded connections are exempt); with a limit below the fd limit,
       * half-sent requests cannot lock clients out for good */
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
      connection_limit(), MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, NULL,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
  if (!s->mhd) {
    free(s);
    berth_err_set(err, BERTH_EINTERNAL, 0, "cannot start the HTTP server");
    return NULL;
  }
  return s;
}

void api_stop(struct api_server *s) {
  if (!s) return;
  MHD_quiesce_daemon(s->mhd);
  /* attach and exec sessions end; the containers and shims go on */
  pthread_mutex_lock(&hj_lock);
  hj_stopping = true;
  for (size_t i = 0; i < hj_n; i++)
    shutdown(hj_socks[i], SHUT_RDWR);
  pthread_mutex_unlock(&hj_lock);
  /* each session hands its connection back before the daemon goes */
  live_wait(LIVE_HIJACK);
  MHD_stop_daemon(s->mhd);
  /* a producer learns its stream is gone at its next write */
  live_wait(LIVE_PRODUCER);
  free(s);
}
