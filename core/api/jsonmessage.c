#include "jsonmessage.h"

static void human_size(uint64_t n, char *out, size_t len) {
  const char *units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)n;
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    u++;
  }
  snprintf(out, len, u ? "%.3g%s" : "%.0f%s", v, units[u]);
}

json_t *jsonmessage_progress(const char *status, const char *id, uint64_t cur, uint64_t total) {
  char bar[64], a[16], b[16], text[128];
  int width = 50, fill = total ? (int)((double)cur / (double)total * width) : 0;
  if (fill > width) fill = width;
  memset(bar, '=', (size_t)fill);
  if (fill < width) {
    bar[fill] = '>';
    memset(bar + fill + 1, ' ', (size_t)(width - fill - 1));
  }
  bar[width] = 0;
  human_size(cur, a, sizeof a);
  human_size(total, b, sizeof b);
  snprintf(text, sizeof text, "[%s] %8s/%s", bar, a, b);
  return json_pack("{s:s,s:{s:I,s:I},s:s,s:s}", "status", status, "progressDetail", "current",
                   (json_int_t)cur, "total", (json_int_t)total, "progress", text, "id", id);
}

void jsonmessage_error(int fd, const char *msg) {
  stream_json(fd, json_pack("{s:{s:s},s:s}", "errorDetail", "message", msg, "error", msg));
}

static void on_status(void *ctx, const char *id, const char *text) {
  struct jsonmessage *jm = ctx;
  json_t *j = json_pack("{s:s}", "status", text);
  if (id) json_object_set_new(j, "id", json_string(id));
  stream_json(jm->fd, j);
}

static void on_bytes(void *ctx, const char *action, const char *id, uint64_t cur, uint64_t total) {
  struct jsonmessage *jm = ctx;
  if (!jm->quiet) stream_json(jm->fd, jsonmessage_progress(action, id, cur, total));
}

static void on_stream(void *ctx, const char *text) {
  struct jsonmessage *jm = ctx;
  stream_json(jm->fd, json_pack("{s:s}", "stream", text));
}

static void on_aux(void *ctx, json_t *aux) {
  struct jsonmessage *jm = ctx;
  stream_json(jm->fd, json_pack("{s:o}", "aux", aux));
}

struct xfer_progress jsonmessage_sink(struct jsonmessage *jm) {
  return (struct xfer_progress){jm, on_status, on_bytes, on_stream, on_aux};
}
