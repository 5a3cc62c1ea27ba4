#include <curl/curl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static char *sock_path;
static char *host_str;

/* the groups an administrator gives the socket to (daemon.conf api.group):
 * berth's, docker's, or the one named in BERTH_SOCKET_GROUP */
static bool expected_group(gid_t gid) {
  struct group *g = getgrgid(gid);
  const char *want = getenv("BERTH_SOCKET_GROUP");
  if (!g) return false;
  return (want && !strcmp(g->gr_name, want)) || !strcmp(g->gr_name, "berth") ||
         !strcmp(g->gr_name, "docker");
}

/* Whoever can write the API socket is root on this host, and whoever made
 * it gets the registry credentials the CLI sends: a socket another user
 * owns, or that everyone or an unexpected group may write, is refused. */
static void check_socket(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) return; /* connect says why */
  const char *why = NULL;
  if (st.st_uid != 0 && st.st_uid != geteuid())
    why = "owned by another user";
  else if (st.st_mode & S_IWOTH)
    why = "writable by every user";
  else if ((st.st_mode & S_IWGRP) && st.st_gid != 0 && !expected_group(st.st_gid))
    why = "writable by an unexpected group";
  if (!why) return;
  fprintf(stderr,
          "berth: warning: refusing to use %s: it is %s (mode %04o, uid %u, gid %u), and whoever "
          "can write it is root here; make it 0660 root:<api.group> (BERTH_SOCKET_GROUP names "
          "a group you trust)\n",
          path, why, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
  exit(1);
}

void client_init(const char *host) {
  if (!host || !*host) host = getenv("BERTH_HOST");
  if (!host || !*host) host = "unix:///run/berth.sock";
  host_str = xstrdup(host);
  if (!str_has_prefix(host, "unix://")) {
    fprintf(stderr, "berth: unsupported host %s: use unix:///PATH\n", host);
    exit(1);
  }
  sock_path = xstrdup(host + strlen("unix://"));
  check_socket(sock_path);
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *client_host(void) {
  return host_str;
}
const char *client_socket_path(void) {
  return sock_path;
}

char *url_escape(const char *s) {
  char *e = curl_easy_escape(NULL, s, 0);
  char *r = xstrdup(e);
  curl_free(e);
  return r;
}

struct sink_buf {
  const struct http_req *req;
  struct http_resp *resp;
  bool failed_status;
};

static size_t write_cb(char *data, size_t size, size_t n, void *ctx) {
  struct sink_buf *b = ctx;
  size_t len = size * n;
  if (b->req->sink && b->resp->status < 400 && b->resp->status != 0) {
    return b->req->sink(data, len, b->req->sink_ctx) == 0 ? len : 0;
  }
  b->resp->body = xrealloc(b->resp->body, b->resp->len + len + 1);
  memcpy(b->resp->body + b->resp->len, data, len);
  b->resp->len += len;
  b->resp->body[b->resp->len] = 0;
  return len;
}

static size_t header_cb(char *data, size_t size, size_t n, void *ctx) {
  struct sink_buf *b = ctx;
  size_t len = size * n;
  int code;
  if (len > 9 && !strncmp(data, "HTTP/1.", 7) && sscanf(data + 9, "%d", &code) == 1)
    b->resp->status = code;
  if (len > 13 && !strncasecmp(data, "Content-Type:", 13)) {
    const char *v = data + 13;
    while (*v == ' ')
      v++;
    size_t vl = strcspn(v, "\r\n");
    free(b->resp->content_type);
    b->resp->content_type = strndup(v, vl);
  }
  static const char ps[] = "X-Docker-Container-Path-Stat:";
  if (len > sizeof ps - 1 && !strncasecmp(data, ps, sizeof ps - 1)) {
    const char *v = data + sizeof ps - 1;
    while (*v == ' ')
      v++;
    free(b->resp->path_stat);
    b->resp->path_stat = strndup(v, strcspn(v, "\r\n"));
  }
  return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ctx) {
  int fd = *(int *)ctx;
  for (;;) {
    ssize_t r = read(fd, buf, size * n);
    if (r < 0 && errno == EINTR) continue;
    return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
  }
}

int http_do(const struct http_req *req, struct http_resp *resp) {
  memset(resp, 0, sizeof *resp);
  CURL *h = curl_easy_init();
  cleanup_free char *url = xasprintf("http://berth%s%s", CLI_API_PREFIX, req->path);
  struct sink_buf sb = {req, resp, false};
  struct curl_slist *hdrs = NULL;
  int fd = req->upload_fd;
  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock_path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "berth-cli/" PACKAGE_VERSION);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sb);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
  if (!strcmp(req->method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (req->content_type) {
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", req->content_type);
    hdrs = curl_slist_append(hdrs, ct);
  }
  for (const char *const *x = req->headers; x && *x; x++)
    hdrs = curl_slist_append(hdrs, *x);
  if (fd >= 0) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &fd);
    hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    hdrs = curl_slist_append(hdrs, "Expect:");
  } else if (req->body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
  } else if (!strcmp(req->method, "POST")) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
  }
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status) resp->status = status;
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  if (rc == CURLE_COULDNT_CONNECT || (rc != CURLE_OK && resp->status == 0)) {
    fprintf(stderr, "Cannot connect to the berth daemon at %s. Is berthd running?\n", host_str);
    return -1;
  }
  if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
    fprintf(stderr, "error during connect: %s\n", curl_easy_strerror(rc));
    return -1;
  }
  return 0;
}

void http_resp_free(struct http_resp *r) {
  free(r->body);
  free(r->content_type);
  free(r->path_stat);
  memset(r, 0, sizeof *r);
}

char *resp_error_message(const struct http_resp *r) {
  if (r->content_type && !strcmp(r->content_type, "application/json") && r->body) {
    json_t *j = json_loads(r->body, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "message"));
    char *s = m ? xstrdup(m) : NULL;
    json_decref(j);
    if (s) return s;
  }
  if (r->body && r->len) {
    char *s = xstrdup(r->body);
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
      s[--n] = 0;
    return s;
  }
  return xasprintf("request returned status %ld", r->status);
}

int api_call(const char *method, const char *path, json_t *body, json_t **out, long *status) {
  return api_call_headers(method, path, body, NULL, out, status);
}

int api_call_headers(const char *method, const char *path, json_t *body, const char *const *headers,
                     json_t **out, long *status) {
  cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  struct http_req req = {.method = method,
                         .path = path,
                         .body = text,
                         .body_len = text ? strlen(text) : 0,
                         .content_type = text ? "application/json" : NULL,
                         .upload_fd = -1,
                         .headers = headers};
  struct http_resp resp;
  if (out) *out = NULL;
  if (http_do(&req, &resp) < 0) return -1;
  if (status) *status = resp.status;
  if (resp.status >= 400) {
    char *m = resp_error_message(&resp);
    fprintf(stderr, "Error response from daemon: %s\n", m);
    free(m);
    http_resp_free(&resp);
    return -1;
  }
  if (out && resp.len) *out = json_loadb(resp.body, resp.len, 0, NULL);
  http_resp_free(&resp);
  return 0;
}
