#include <ctype.h>
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jpick.h"

static char *sock_path;
static char *host_str;

/* a group's name from /etc/group (the CLI is a static binary where it can
 * be: no NSS modules to load), or false */
static bool group_name(gid_t gid, char *name, size_t len) {
  FILE *f = fopen("/etc/group", "re");
  char line[4096];
  bool found = false;
  while (f && !found && fgets(line, sizeof line, f)) {
    char *save = NULL, *n = strtok_r(line, ":", &save), *pw = strtok_r(NULL, ":", &save);
    char *g = pw ? strtok_r(NULL, ":", &save) : NULL;
    if (n && g && (gid_t)strtoul(g, NULL, 10) == gid && *g >= '0' && *g <= '9') {
      snprintf(name, len, "%s", n);
      found = true;
    }
  }
  if (f) fclose(f);
  return found;
}

/* the groups an administrator gives the socket to (daemon.conf api.group):
 * berth's, docker's, or the one named in BERTH_SOCKET_GROUP */
static bool expected_group(gid_t gid) {
  char g[256];
  const char *want = getenv("BERTH_SOCKET_GROUP");
  if (!group_name(gid, g, sizeof g)) return false;
  return (want && !strcmp(g, want)) || !strcmp(g, "berth") || !strcmp(g, "docker");
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
}

const char *client_host(void) {
  return host_str;
}
const char *client_socket_path(void) {
  return sock_path;
}

/* RFC 3986: everything but the unreserved characters as %XX */
char *url_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  char *out = xmalloc(3 * strlen(s) + 1), *o = out;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || strchr("-._~", *p)) {
      *o++ = (char)*p;
    } else {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    }
  }
  *o = 0;
  return out;
}

/* ---- HTTP/1.1 over the unix socket: one request per connection ----
 * A small client of berth's own (libcurl and its 33 libraries cost ~6 ms of
 * every CLI start): requests with a body, a chunked upload from an fd, and
 * responses framed by Content-Length, chunks or the end of the stream,
 * streamed to the caller's sink as they come. */

struct conn {
  int fd;
  size_t off, len;
  char buf[65536];
};

static int conn_fill(struct conn *c) {
  if (c->off == c->len) c->off = c->len = 0;
  if (c->len == sizeof c->buf) {
    memmove(c->buf, c->buf + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
  }
  for (;;) {
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    c->len += (size_t)n;
    return 0;
  }
}

/* one line without its CRLF into out (cut at cap); -1 at the end */
static int conn_line(struct conn *c, char *out, size_t cap) {
  for (;;) {
    char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
    if (nl) {
      size_t l = (size_t)(nl - (c->buf + c->off));
      size_t k = l && c->buf[c->off + l - 1] == '\r' ? l - 1 : l;
      if (k >= cap) k = cap - 1;
      memcpy(out, c->buf + c->off, k);
      out[k] = 0;
      c->off += l + 1;
      return 0;
    }
    if (c->off == 0 && c->len == sizeof c->buf) return -1; /* a line too long */
    if (c->off) {
      memmove(c->buf, c->buf + c->off, c->len - c->off);
      c->len -= c->off;
      c->off = 0;
    }
    if (conn_fill(c) < 0) return -1;
  }
}

struct sink_buf {
  const struct http_req *req;
  struct http_resp *resp;
  bool stopped; /* the sink said stop */
};

/* A big reply (ps -a of 1,000 containers: 740 KB) is parsed into many
 * small allocations: from here on they come from heap memory the kernel
 * may back with 2 MB pages (one fault each instead of 512; a fault costs
 * ~20 us on the VM of docs/performance.md: ps -a with 1,100 containers
 * took 1,472 faults and 33 ms of CPU, 881 and 21 with glibc's own
 * hugetlb tunable, which is what this does).  Once per process. */
static void heap_for_big_reply(void) {
  static bool done;
  if (done) return;
  done = true;
  mallopt(M_MMAP_THRESHOLD, 64 << 20);  /* big blocks from the heap too */
  mallopt(M_TRIM_THRESHOLD, 256 << 20); /* and the heap kept */
  mallopt(M_TOP_PAD, 16 << 20);         /* grown 16 MB at a time */
  uintptr_t from = (uintptr_t)sbrk(0), huge = 2u << 20;
  void *p = malloc(1 << 20); /* the growth itself */
  uintptr_t to = (uintptr_t)sbrk(0);
  from = (from + huge - 1) & ~(huge - 1);
  to &= ~(huge - 1);
  if (p && to > from) madvise((void *)from, to - from, MADV_HUGEPAGE);
  free(p);
}

/* jansson's memory for one listing, from a bump arena: a listing of 1,000
 * containers is ~60,000 small values, and malloc's bookkeeping for them
 * was a sixth of `ps -a`'s CPU.  Between json_arena_begin and _end jansson
 * allocates from 4 MB chunks; its free leaves what lies in a chunk (held
 * to the end of the process, as FREE_AT_EXIT's rows) and hands the rest
 * to free().  Sanitizer builds keep malloc for their checks. */
enum { ARENA_CHUNK = 4 << 20, ARENA_CHUNKS = 64 };
static char *arena_chunk[ARENA_CHUNKS], *arena_next, *arena_end;
static size_t arena_chunks;

static void *arena_alloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n > ARENA_CHUNK / 8) return malloc(n);
  if ((size_t)(arena_end - arena_next) < n) {
    if (arena_chunks == ARENA_CHUNKS) return malloc(n);
    char *c = mmap(NULL, ARENA_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) return malloc(n);
    madvise(c, ARENA_CHUNK, MADV_HUGEPAGE); /* fewer faults, as heap_for_big_reply */
    arena_chunk[arena_chunks++] = c;
    arena_next = c;
    arena_end = c + ARENA_CHUNK;
  }
  void *p = arena_next;
  arena_next += n;
  return p;
}

static void arena_free(void *p) {
  for (size_t i = 0; i < arena_chunks; i++)
    if ((char *)p >= arena_chunk[i] && (char *)p < arena_chunk[i] + ARENA_CHUNK) return;
  free(p);
}

#ifdef __SANITIZE_ADDRESS__
enum { ARENA_ON = 0 };
#else
enum { ARENA_ON = 1 };
#endif

void json_arena_begin(void) {
  if (ARENA_ON) json_set_alloc_funcs(arena_alloc, arena_free);
}

/* what jansson makes from here on (json_dumps' text, which callers free())
 * comes from malloc again */
void json_arena_end(void) {
  if (ARENA_ON) json_set_alloc_funcs(malloc, arena_free);
}

/* a successful answer's body goes to the request's sink, if it has one */
static bool to_sink(const struct sink_buf *b) {
  return b->req->sink && b->resp->status < 400 && b->resp->status != 0;
}

static void deliver(struct sink_buf *b, const char *data, size_t len) {
  if (b->stopped || !len) return;
  if (to_sink(b)) {
    if (b->req->sink(data, len, b->req->sink_ctx) != 0) b->stopped = true;
    return;
  }
  if (b->resp->len + len > (256u << 10)) heap_for_big_reply();
  b->resp->body = xrealloc(b->resp->body, b->resp->len + len + 1);
  memcpy(b->resp->body + b->resp->len, data, len);
  b->resp->len += len;
  b->resp->body[b->resp->len] = 0;
}

/* A body of n bytes kept whole (no sink): one buffer of its size, the
 * rest read straight into it (ps -a of 1,000 containers: 740 KB had been
 * copied through the connection's buffer and moved at each realloc, a
 * tenth of the CLI's CPU). */
static int body_whole(struct conn *c, struct sink_buf *b, size_t n) {
  struct http_resp *r = b->resp;
  if (n > (256u << 10)) heap_for_big_reply();
  r->body = xrealloc(r->body, r->len + n + 1);
  size_t take = c->len - c->off < n ? c->len - c->off : n;
  memcpy(r->body + r->len, c->buf + c->off, take);
  c->off += take;
  r->len += take;
  n -= take;
  while (n) {
    ssize_t got = read(c->fd, r->body + r->len, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    r->len += (size_t)got;
    n -= (size_t)got;
  }
  r->body[r->len] = 0;
  return n ? -1 : 0;
}

/* up to n bytes of the body as they arrive (n < 0: to the end) */
static int body_bytes(struct conn *c, struct sink_buf *b, long long n) {
  if (n > 0 && n <= (64LL << 20) && !to_sink(b)) return body_whole(c, b, (size_t)n);
  while (n != 0 && !b->stopped) {
    if (c->off == c->len && conn_fill(c) < 0) return n < 0 ? 0 : -1;
    size_t take = c->len - c->off;
    if (n > 0 && (long long)take > n) take = (size_t)n;
    deliver(b, c->buf + c->off, take);
    c->off += take;
    if (n > 0) n -= (long long)take;
  }
  return 0;
}

static int body_chunked(struct conn *c, struct sink_buf *b) {
  char line[128];
  while (!b->stopped) {
    if (conn_line(c, line, sizeof line) < 0) return -1;
    long long n = strtoll(line, NULL, 16);
    if (n <= 0) return n == 0 ? 0 : -1; /* trailers are not read: the connection ends */
    if (body_bytes(c, b, n) < 0 || conn_line(c, line, sizeof line) < 0) return -1;
  }
  return 0;
}

static char *header_value(const char *line, const char *name) {
  size_t l = strlen(name);
  if (strncasecmp(line, name, l) || line[l] != ':') return NULL;
  const char *v = line + l + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  return xstrdup(v);
}

static int read_response(struct conn *c, struct sink_buf *b, bool head) {
  char line[8192];
  struct http_resp *r = b->resp;
  int code = 0;
  do { /* a 1xx before the answer is skipped */
    if (conn_line(c, line, sizeof line) < 0 || sscanf(line, "HTTP/1.%*d %d", &code) != 1) return -1;
    r->status = code;
    long long clen = -1;
    bool chunked = false;
    while (conn_line(c, line, sizeof line) == 0 && line[0]) {
      char *v;
      if ((v = header_value(line, "Content-Type")))
        free(r->content_type), r->content_type = v;
      else if ((v = header_value(line, "X-Docker-Container-Path-Stat")))
        free(r->path_stat), r->path_stat = v;
      else if ((v = header_value(line, "Content-Length")))
        clen = atoll(v), free(v);
      else if ((v = header_value(line, "Transfer-Encoding")))
        chunked = strcasestr(v, "chunked"), free(v);
    }
    if (code >= 200) {
      if (head || code == 204 || code == 304) return 0;
      return chunked ? body_chunked(c, b) : body_bytes(c, b, clen);
    }
  } while (code < 200);
  return 0;
}

/* MSG_NOSIGNAL: a daemon that closed early is an error here, not SIGPIPE */
static int send_all(int fd, const char *p, size_t len) {
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* the request line and headers, then the body or the fd's bytes in chunks */
static int send_request(int fd, const struct http_req *req) {
  size_t cap = 1024 + strlen(req->path);
  for (const char *const *x = req->headers; x && *x; x++)
    cap += strlen(*x) + 2;
  cleanup_free char *h = xmalloc(cap);
  int n = snprintf(h, cap, "%s %s%s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli/%s\r\n",
                   req->method, CLI_API_PREFIX, req->path, PACKAGE_VERSION);
  if (req->content_type)
    n += snprintf(h + n, cap - (size_t)n, "Content-Type: %s\r\n", req->content_type);
  for (const char *const *x = req->headers; x && *x; x++)
    n += snprintf(h + n, cap - (size_t)n, "%s\r\n", *x);
  if (req->upload_fd >= 0)
    n += snprintf(h + n, cap - (size_t)n, "Transfer-Encoding: chunked\r\n\r\n");
  else if (req->body || !strcmp(req->method, "POST") || !strcmp(req->method, "PUT"))
    n += snprintf(h + n, cap - (size_t)n, "Content-Length: %zu\r\n\r\n",
                  req->body ? req->body_len : 0);
  else
    n += snprintf(h + n, cap - (size_t)n, "\r\n");
  if (send_all(fd, h, (size_t)n) < 0) return -1;
  if (req->body && req->upload_fd < 0) return send_all(fd, req->body, req->body_len);
  if (req->upload_fd < 0) return 0;
  cleanup_free char *chunk = xmalloc(65536 + 32);
  for (;;) {
    ssize_t r = read(req->upload_fd, chunk + 16, 65536);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return send_all(fd, "0\r\n\r\n", 5) < 0 || r < 0 ? -1 : 0;
    char len[16];
    int l = snprintf(len, sizeof len, "%zx\r\n", (size_t)r);
    memcpy(chunk + 16 - l, len, (size_t)l);
    memcpy(chunk + 16 + r, "\r\n", 2);
    if (send_all(fd, chunk + 16 - l, (size_t)(l + r + 2)) < 0) return -1;
  }
}

int http_do(const struct http_req *req, struct http_resp *resp) {
  memset(resp, 0, sizeof *resp);
  int fd = raw_connect(); /* hijack.c's: it says why when it cannot */
  if (fd < 0) return -1;
  struct conn *c = xmalloc(sizeof *c);
  c->fd = fd;
  c->off = c->len = 0;
  struct sink_buf sb = {req, resp, false};
  /* an upload the daemon refuses early: its answer is still read */
  int sent = send_request(fd, req);
  int r = read_response(c, &sb, !strcmp(req->method, "HEAD"));
  close(fd);
  free(c);
  if (resp->status == 0) {
    fprintf(stderr, "error during connect: %s\n",
            sent < 0 ? strerror(errno) : "the daemon closed the connection without an answer");
    return -1;
  }
  (void)r; /* a body cut short is what the caller got: as curl's partial transfer */
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

/* an error status: docker's "Error response from daemon: …" said, the
 * response freed */
static bool refused(struct http_resp *resp) {
  if (resp->status < 400) return false;
  char *m = resp_error_message(resp);
  fprintf(stderr, "Error response from daemon: %s\n", m);
  free(m);
  http_resp_free(resp);
  return true;
}

int api_get_list(const char *path, const char *const *keep, json_t **out) {
  struct http_req req = {.method = "GET", .path = path, .upload_fd = -1};
  struct http_resp resp;
  *out = NULL;
  if (http_do(&req, &resp) < 0 || refused(&resp)) return -1;
  *out = jpick_array(resp.body, resp.len, keep);
  http_resp_free(&resp);
  if (!*out) fprintf(stderr, "berth: the daemon's reply to GET %s is not a JSON array\n", path);
  return *out ? 0 : -1;
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
  if (refused(&resp)) return -1;
  if (out && resp.len) *out = json_loadb(resp.body, resp.len, 0, NULL);
  http_resp_free(&resp);
  return 0;
}
