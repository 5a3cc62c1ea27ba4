/* berth events: docker's `events` (and `system events`), streamed. */
#include <time.h>

#include "cli.h"

struct ev_out {
  const char *format;
  char *buf;
  size_t len;
};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* docker's line: time (RFC 3339 with nanoseconds, local zone), type,
 * action, actor id, then the attributes sorted, "(k=v, k=v)" */
static void print_default(json_t *ev) {
  int64_t ns = json_integer_value(json_object_get(ev, "timeNano"));
  time_t sec = (time_t)(ns / 1000000000LL);
  struct tm tm;
  localtime_r(&sec, &tm);
  char ts[64], zone[8] = "Z";
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  if (tm.tm_gmtoff)
    snprintf(zone, sizeof zone, "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+',
             labs(tm.tm_gmtoff) / 3600, labs(tm.tm_gmtoff) % 3600 / 60);
  json_t *actor = json_object_get(ev, "Actor");
  printf("%s.%09lld%s %s %s %s", ts, (long long)(ns % 1000000000LL), zone,
         json_string_value(json_object_get(ev, "Type")),
         json_string_value(json_object_get(ev, "Action")),
         json_string_value(json_object_get(actor, "ID")));
  json_t *attrs = json_object_get(actor, "Attributes");
  if (json_object_size(attrs)) {
    const char *key;
    json_t *v;
    size_t n = json_object_size(attrs), i = 0;
    const char **keys = xcalloc(n, sizeof *keys);
    json_object_foreach(attrs, key, v) keys[i++] = key;
    qsort(keys, n, sizeof *keys, cmp_str);
    printf(" (");
    for (i = 0; i < n; i++)
      printf("%s%s=%s", i ? ", " : "", keys[i],
             json_string_value(json_object_get(attrs, keys[i])) ?: "");
    printf(")");
    free(keys);
  }
  printf("\n");
}

/* the Go field names a --format template reads (Status, ID, From, Scope,
 * Time, TimeNano) beside the JSON keys */
static void print_event(const char *format, json_t *ev) {
  if (!format) return print_default(ev);
  if (!strcmp(format, "{{json .}}")) {
    cleanup_free char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    return;
  }
  json_t *row = json_copy(ev);
  static const char *const go[][2] = {{"status", "Status"}, {"id", "ID"},
                                      {"from", "From"},     {"scope", "Scope"},
                                      {"time", "Time"},     {"timeNano", "TimeNano"}};
  for (size_t i = 0; i < ARRAY_SIZE(go); i++) {
    json_t *v = json_object_get(ev, go[i][0]);
    if (v) json_object_set(row, go[i][1], v);
  }
  cleanup_free char *s = template_render(format, row);
  printf("%s\n", s);
  json_decref(row);
}

static int on_chunk(const char *data, size_t len, void *p) {
  struct ev_out *o = p;
  o->buf = xrealloc(o->buf, o->len + len + 1);
  memcpy(o->buf + o->len, data, len);
  o->len += len;
  o->buf[o->len] = 0;
  char *start = o->buf, *nl;
  while ((nl = memchr(start, '\n', o->len - (size_t)(start - o->buf)))) {
    *nl = 0;
    json_t *ev = json_loads(start, 0, NULL);
    if (json_is_object(ev)) print_event(o->format, ev);
    json_decref(ev);
    start = nl + 1;
  }
  o->len -= (size_t)(start - o->buf);
  memmove(o->buf, start, o->len);
  fflush(stdout);
  return 0;
}

int cmd_events(int argc, char **argv) {
  const char *since = NULL, *until = NULL, *format = NULL;
  struct strlist filt = {0};
  const struct flag flags[] = {
      {"filter", 'f', F_LIST, &filt, "Filter output based on conditions provided"},
      {"format", 0, F_STRING, &format, "Format the output using the given Go template"},
      {"since", 0, F_STRING, &since, "Show all events created since timestamp"},
      {"until", 0, F_STRING, &until, "Stream events until this timestamp"},
      {0}};
  PARSE("berth events [OPTIONS]", flags);
  free(pos);
  cleanup_free char *s = timestamp_arg(since), *u = timestamp_arg(until);
  if ((since && !s) || (until && !u)) {
    fprintf(stderr, "berth: invalid value for \"%s\": %s\n", since && !s ? "--since" : "--until",
            since && !s ? since : until);
    free(filt.v);
    return 125;
  }
  cleanup_free char *fpath = path_with_filters("/events", &filt, NULL);
  cleanup_free char *path = xasprintf("%s%s%s%s%s", fpath, s ? "&since=" : "", s ? s : "",
                                      u ? "&until=" : "", u ? u : "");
  free(filt.v);
  struct ev_out o = {format, NULL, 0};
  struct http_req rq = {
      .method = "GET", .path = path, .upload_fd = -1, .sink = on_chunk, .sink_ctx = &o};
  struct http_resp resp = {0};
  if (http_do(&rq, &resp) < 0) return 1;
  int rc = 0;
  if (resp.status >= 400) {
    cleanup_free char *m = resp_error_message(&resp);
    fprintf(stderr, "Error response from daemon: %s\n", m);
    rc = 1;
  }
  http_resp_free(&resp);
  free(o.buf);
  return rc;
}
