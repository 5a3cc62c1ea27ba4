/* The Engine API server: libmicrohttpd on a unix socket, one thread per
 * connection, a route table, JSON errors in Docker's shape, streamed
 * responses and the 101 hijack used by attach and exec. */
#ifndef BERTH_API_H
#define BERTH_API_H

#include <jansson.h>
#include <microhttpd.h>

#include "../util/util.h"

#define API_VERSION "1.43"
#define API_MIN_VERSION "1.24"
#define API_VERSION_NUM 143
#define API_MIN_VERSION_NUM 124

struct api_request;
struct daemon;

/* How a route takes its body. */
enum api_body {
  BODY_BUFFER = 0, /* whole body in req->body (limit 16 MiB) */
  BODY_STREAM = 1, /* route->consume runs on its own thread reading req->body_fd */
};

struct api_route {
  const char *method;
  const char *pattern; /* "/images/{name*}/json": {x} one segment, {x*} one or more */
  int (*handler)(struct api_request *req);
  enum api_body body;
  /* BODY_STREAM: called on a worker thread while the body arrives; reads
   * fd to EOF.  Its result is in req->consume_ret / req->consume_err. */
  int (*consume)(struct api_request *req, int fd);
};

struct api_request {
  struct MHD_Connection *conn;
  struct daemon *d;
  const struct api_route *route;
  const char *method;
  char *path;            /* without the /vX.Y prefix */
  int version;           /* 143 for 1.43 */
  char version_text[24]; /* as the client wrote it */
  bool streaming;        /* the reply is a stream or an upgrade: no idle timeout */
  void *hijack;          /* the upgrade handed to api_reply_hijack, until it starts */
  bool hijack_started;   /* the 101 went out and the session owns it */
  char *params[4];       /* route captures, in pattern order */
  size_t n_params;
  char *body;
  size_t body_len;
  bool body_too_big;
  bool upgrade; /* Connection: Upgrade was sent */
  /* streamed body */
  int body_pipe[2];
  pthread_t consumer;
  bool consumer_started;
  int consume_ret;
  struct berth_err consume_err;
  char *headers[8]; /* extra response headers: name, value, ... (api_add_header) */
  void *ctx;        /* route-private */
  void (*ctx_free)(void *);
  bool responded;
  int64_t trace_t0; /* BERTH_TRACE: when the request came (0: not tracing) */
};

/* Start serving on an already bound and listening socket. */
struct api_server;
struct api_server *api_start(int listen_fd, const struct api_route *routes, size_t n_routes,
                             struct daemon *d, struct berth_err *err);
void api_stop(struct api_server *s);

/* Request accessors */
const char *api_query(struct api_request *req, const char *key);
bool api_query_bool(struct api_request *req, const char *key, bool def);
int64_t api_query_int(struct api_request *req, const char *key, int64_t def);
/* All values of a repeated key (names=a&names=b); caller frees the array. */
const char **api_query_all(struct api_request *req, const char *key, size_t *n);
const char *api_header(struct api_request *req, const char *name);
/* the client's process and user (SO_PEERCRED of the unix socket); -1 if unknown */
int api_peer(struct api_request *req, pid_t *pid, uid_t *uid);
const char *api_param(struct api_request *req, size_t i);
/* Parse the body as JSON; NULL and a 400 reply on error (empty body -> {}). */
json_t *api_body_json(struct api_request *req);

/* A header the reply carries (X-Docker-Container-Path-Stat); at most 4. */
void api_add_header(struct api_request *req, const char *name, const char *value);

/* Replies.  Each returns 0 after queuing a response. */
int api_reply_json(struct api_request *req, unsigned status, json_t *body); /* steals body */
/* JSON already written (a malloc'd string, ending with a newline; stolen) */
int api_reply_json_text(struct api_request *req, unsigned status, char *text);
int api_reply_error(struct api_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int api_reply_err(struct api_request *req, const struct berth_err *err); /* status from code */
int api_reply_empty(struct api_request *req, unsigned status);
int api_reply_text(struct api_request *req, unsigned status, const char *content_type,
                   const char *text);

/* Streamed reply: producer(req, fd, ctx) runs on its own thread writing the
 * body into fd; the response is chunked and flushed as it is written.
 * ctx is freed with ctx_free after the producer returns. */
typedef void (*api_producer_fn)(int fd, void *ctx);
int api_reply_stream(struct api_request *req, unsigned status, const char *content_type,
                     api_producer_fn producer, void *ctx);
/* A producer's question between writes: has its client gone?  The pipe's
 * reader closed, or the client's socket hung up (the daemon's thread
 * notices that only when it has something to send, so a quiet stream asks
 * the socket itself). */
bool api_stream_gone(int fd);

/* Hijack: answer 101 and hand the raw socket to fn on its own thread.
 * extra holds bytes the client sent after the request (stdin already on
 * the wire).  fn owns neither sock nor extra; when it returns the
 * connection is closed. */
typedef void (*api_hijack_fn)(int sock, const char *extra, size_t extra_len, void *ctx);
int api_reply_hijack(struct api_request *req, const char *content_type, api_hijack_fn fn, void *ctx,
                     void (*ctx_free)(void *));

/* Write all of buf to fd (handles EINTR and short writes); 0 or -1. */
int write_all(int fd, const void *buf, size_t len);
/* One JSON object + "\n" on a stream (progress messages). */
int stream_json(int fd, json_t *obj); /* steals obj */

/* A body's string field (NULL when absent or not a string). */
const char *api_field(json_t *obj, const char *key);
/* body[key], an object of strings (Options, Labels, DriverOpts), into *out
 * (borrowed; NULL when absent); docker's 400 otherwise. */
int api_string_map(json_t *body, const char *key, json_t **out, struct berth_err *err);
/* ?repo=&tag= as a reference: *named false when no repo is given. */
struct image_ref;
int api_repo_tag(struct api_request *req, struct image_ref *ref, bool *named,
                 struct berth_err *err);

#endif
