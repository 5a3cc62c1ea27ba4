/* The API server against a raw socket client: routing, version checks,
 * Docker's error shape, chunked uploads, streamed replies and the 101
 * hijack that attach and exec use (half-close = stdin EOF). */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../../core/api/routes.h"
#include "../../core/daemon.h"
#include "tap.h"

static char sock_path[108];

static int dial(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, sock_path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
  return fd;
}

/* Read until the peer closes or timeout; returns malloc'd text. */
static char *read_all(int fd, int timeout_ms, bool *eof) {
  size_t cap = 65536, len = 0;
  char *buf = xmalloc(cap);
  *eof = false;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n <= 0) {
      *eof = n == 0;
      break;
    }
    len += (size_t)n;
  }
  buf[len] = 0;
  return buf;
}

/* Read one HTTP response head + body with Content-Length. */
static char *request(const char *raw) {
  int fd = dial();
  write_all(fd, raw, strlen(raw));
  shutdown(fd, SHUT_WR);
  bool eof;
  char *r = read_all(fd, 3000, &eof);
  close(fd);
  return r;
}

static void echo_session(int sock, const char *extra, size_t extra_len, void *ctx) {
  const char *id = ctx;
  char hello[64];
  snprintf(hello, sizeof hello, "hello %s\n", id);
  write_all(sock, hello, strlen(hello));
  if (extra_len) write_all(sock, extra, extra_len);
  char buf[4096];
  ssize_t n;
  while ((n = read(sock, buf, sizeof buf)) > 0)
    write_all(sock, buf, (size_t)n);
  /* stdin closed (half-close): finish output, then close */
  write_all(sock, "bye\n", 4);
  shutdown(sock, SHUT_WR);
}

static int h_echo(struct api_request *req) {
  if (!req->upgrade) return api_reply_error(req, 400, "upgrade required");
  return api_reply_hijack(req, "application/vnd.docker.raw-stream", echo_session,
                          xstrdup(api_param(req, 0)), free);
}

static int h_body(struct api_request *req) {
  char n[32];
  snprintf(n, sizeof n, "%zu", req->body_len);
  return api_reply_json(
      req, 200,
      json_pack("{s:s,s:s}", "len", n, "q", api_query(req, "q") ? api_query(req, "q") : ""));
}

static void produce(int fd, void *ctx) {
  for (int i = 0; i < 3; i++) {
    stream_json(fd, json_pack("{s:i}", "n", i));
    usleep(100000);
  }
}

static int h_stream(struct api_request *req) {
  return api_reply_stream(req, 200, "application/json", produce, NULL);
}

static int h_image(struct api_request *req) {
  return api_reply_json(req, 200, json_pack("{s:s}", "name", api_param(req, 0)));
}

static const struct api_route routes[] = {
    {"GET", "/_ping", NULL, BODY_BUFFER, NULL}, /* filled from system_routes */
    {"POST", "/echo/{id}", h_echo, BODY_BUFFER, NULL},
    {"POST", "/body", h_body, BODY_BUFFER, NULL},
    {"GET", "/stream", h_stream, BODY_BUFFER, NULL},
    {"GET", "/images/{name*}/json", h_image, BODY_BUFFER, NULL},
};

int main(void) {
  snprintf(sock_path, sizeof sock_path, "/tmp/berth-test-api-%d.sock", (int)getpid());
  unlink(sock_path);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, sock_path);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0) return 1;
  struct api_route r[ARRAY_SIZE(routes)];
  memcpy(r, routes, sizeof routes);
  r[0] = system_routes[0];
  struct berth_err e = {0};
  struct api_server *srv = api_start(lfd, r, ARRAY_SIZE(r), NULL, &e);
  ok(srv != NULL, "server starts on a unix socket");

  char *resp = request("HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  contains(resp, "HTTP/1.1 200", "HEAD /_ping is 200");
  contains(resp, "Api-Version: 1.43", "ping advertises 1.43");
  contains(resp, "Ostype: linux", "ping has Ostype");
  contains(resp, "Content-Length: 0", "HEAD ping has no body");
  ok(!strstr(resp, "\r\n\r\nOK"), "HEAD sends no body");
  free(resp);
  resp = request("GET /v1.24/_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  contains(resp, "\r\n\r\nOK", "GET /v1.24/_ping body is OK");
  free(resp);

  resp = request("GET /v1.50/_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  contains(resp, "HTTP/1.1 400", "too new a version is 400");
  contains(resp, "Content-Type: application/json\r\n",
           "error Content-Type is exactly application/json");
  contains(
      resp,
      "{\"message\":\"client version 1.50 is too new. Maximum supported API version is 1.43\"}",
      "moby's wording");
  free(resp);
  resp = request("GET /v1.12/_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  contains(resp, "is too old. Minimum supported API version is 1.24", "too old a version");
  free(resp);
  resp = request("GET /v1.43/nosuch HTTP/1.1\r\nHost: x\r\n\r\n");
  contains(resp, "HTTP/1.1 404", "unknown route is 404");
  contains(resp, "{\"message\":\"page not found\"}", "page not found");
  free(resp);
  resp = request("GET /images/localhost:5000/foo/bar:1/json HTTP/1.1\r\nHost: x\r\n\r\n");
  contains(resp, "\"name\":\"localhost:5000/foo/bar:1\"",
           "greedy capture keeps slashes in image names");
  free(resp);

  resp =
      request("POST /v1.43/body?q=a%20b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  contains(resp, "\"len\":\"11\"", "chunked upload body reassembled");
  contains(resp, "\"q\":\"a b\"", "query unescaped");
  free(resp);

  resp = request("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  contains(resp, "Transfer-Encoding: chunked", "stream is chunked");
  contains(resp, "{\"n\":2}", "stream delivers every message");
  free(resp);

  /* hijack, CLI style: Content-Length 0 and stdin right behind the request */
  int fd = dial();
  const char *hj =
      "POST /v1.43/echo/abc HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
      "Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n";
  write_all(fd, hj, strlen(hj));
  bool eof;
  usleep(200000);
  write_all(fd, "stdin-data\n", 11);
  shutdown(fd, SHUT_WR); /* stdin EOF */
  resp = read_all(fd, 3000, &eof);
  contains(resp, "HTTP/1.1 101", "101 on upgrade");
  contains(resp, "Upgrade: tcp", "Upgrade header");
  contains(resp, "Content-Type: application/vnd.docker.raw-stream", "stream media type");
  contains(resp, "hello abc\nstdin-data\nbye\n",
           "output flows, stdin arrives, half-close ends stdin only");
  ok(eof, "server closes after the session ends");
  free(resp);
  close(fd);

  /* hijack, exec-start style: a JSON body that must not leak into stdin */
  fd = dial();
  const char *ex = "POST /echo/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                   "Content-Type: application/json\r\nContent-Length: 30\r\n\r\n"
                   "{\"Detach\":false,\"Tty\":false}\n\nfirst";
  write_all(fd, ex, strlen(ex));
  shutdown(fd, SHUT_WR);
  resp = read_all(fd, 3000, &eof);
  char *body = strstr(resp, "hello x\n");
  ok(body != NULL, "hijacked after a JSON body");
  is_str(body, "hello x\nfirstbye\n", "body discarded, bytes after it are stdin");
  free(resp);
  close(fd);

  /* dockerode: a kept-alive connection that served a request, then hijacks */
  fd = dial();
  const char *two = "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /echo/ka HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  write_all(fd, two, strlen(two));
  usleep(200000);
  shutdown(fd, SHUT_WR);
  resp = read_all(fd, 3000, &eof);
  contains(resp, "\r\n\r\nOK", "first request answered on the kept-alive connection");
  contains(resp, "hello ka\nbye\n", "then the same connection hijacks");
  free(resp);
  close(fd);

  api_stop(srv);
  close(lfd);
  unlink(sock_path);
  return done();
}
