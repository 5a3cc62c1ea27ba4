/* The JSON message stream of load, import, pull and push, rendered like
 * docker's jsonmessage: progress bars redrawn in place on a terminal,
 * "<id>: <status>" lines otherwise. */
#include "cli.h"

static void js_line(struct jsonstream *s, json_t *m) {
  if (s->quiet && !json_object_get(m, "error")) return;
  const char *err = json_string_value(json_object_get(m, "error"));
  if (err) {
    fprintf(stderr, "%s\n", err);
    s->error = 1;
    return;
  }
  const char *stream = json_string_value(json_object_get(m, "stream"));
  if (stream) {
    fputs(stream, stdout);
    fflush(stdout);
    return;
  }
  const char *status = json_string_value(json_object_get(m, "status"));
  const char *id = json_string_value(json_object_get(m, "id"));
  const char *progress = json_string_value(json_object_get(m, "progress"));
  if (!status) return;
  if (id && progress && !s->tty) return; /* progress bars only on a terminal */
  if (s->tty && id) {
    json_t *idx = json_object_get(s->ids, id);
    if (idx) {
      size_t up = s->lines - (size_t)json_integer_value(idx);
      printf("\033[%zuA\r\033[2K%s: %s %s\n", up, id, status, progress ? progress : "");
      if (up > 1) printf("\033[%zuB", up - 1);
      fflush(stdout);
      return;
    }
    json_object_set_new(s->ids, id, json_integer((json_int_t)s->lines));
  }
  if (id && progress)
    printf("%s: %s %s\n", id, status, progress);
  else if (id)
    printf("%s: %s\n", id, status);
  else
    printf("%s\n", status);
  s->lines++;
  fflush(stdout);
}

int js_sink(const char *data, size_t len, void *ctx) {
  struct jsonstream *s = ctx;
  s->buf = xrealloc(s->buf, s->len + len + 1);
  memcpy(s->buf + s->len, data, len);
  s->len += len;
  s->buf[s->len] = 0;
  char *nl;
  while ((nl = memchr(s->buf, '\n', s->len))) {
    *nl = 0;
    json_t *m = json_loads(s->buf, 0, NULL);
    if (m) js_line(s, m);
    json_decref(m);
    size_t used = (size_t)(nl - s->buf) + 1;
    memmove(s->buf, nl + 1, s->len - used);
    s->len -= used;
  }
  return 0;
}

int post_json_stream(const char *path, const char *auth_header, bool quiet) {
  const char *hdrs[] = {auth_header, NULL};
  struct jsonstream js = {.tty = isatty(1), .quiet = quiet, .ids = json_object()};
  struct http_req req = {.method = "POST",
                         .path = path,
                         .upload_fd = -1,
                         .sink = js_sink,
                         .sink_ctx = &js,
                         .headers = auth_header ? hdrs : NULL};
  struct http_resp resp;
  int rc = 1;
  if (http_do(&req, &resp) == 0) {
    rc = js.error;
    if (resp.status >= 400) {
      char *m = resp_error_message(&resp);
      fprintf(stderr, "Error response from daemon: %s\n", m);
      free(m);
      rc = 1;
    }
    http_resp_free(&resp);
  }
  free(js.buf);
  json_decref(js.ids);
  return rc;
}
