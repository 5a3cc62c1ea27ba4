/* GET /events: parse since/until/filters, subscribe, stream (events.h). */

#include "../events/events.h"
#include "../util/filters.h"
#include "routes.h"

struct ev_stream {
  struct ev_sub *sub;
  struct filters filters;
  int64_t until_ns; /* -1: none */
};

/* docker's "seconds[.fraction]"; -1 when absent, -2 when malformed */
static int64_t parse_ts(const char *s) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  long long sec = strtoll(s, &end, 10);
  if (errno || end == s || sec < 0) return -2;
  int64_t ns = 0;
  if (*end == '.') {
    const char *f = end + 1;
    size_t digits = strspn(f, "0123456789");
    if (!digits || f[digits]) return -2;
    for (size_t i = 0; i < 9; i++)
      ns = ns * 10 + (i < digits ? f[i] - '0' : 0);
  } else if (*end) {
    return -2;
  }
  return (int64_t)sec * 1000000000LL + ns;
}

static void stream_free(void *p) {
  struct ev_stream *s = p;
  ev_unsubscribe(s->sub);
  filters_free(&s->filters);
  free(s);
}

static void producer(int fd, void *p) {
  struct ev_stream *s = p;
  for (;;) {
    int timeout = 250;
    if (s->until_ns >= 0) {
      int64_t left = (s->until_ns - now_ns()) / 1000000;
      timeout = left < 0 ? 0 : left < timeout ? (int)left : timeout;
    }
    json_t *ev = NULL;
    int r = ev_next(s->sub, timeout, &ev);
    if (r < 0) break;
    if (r == 0) {
      if ((s->until_ns >= 0 && now_ns() >= s->until_ns) || api_stream_gone(fd)) break;
      continue;
    }
    int64_t t = json_integer_value(json_object_get(ev, "timeNano"));
    if (s->until_ns >= 0 && t > s->until_ns) {
      json_decref(ev);
      break;
    }
    int w = ev_match(&s->filters, ev) ? stream_json(fd, ev) : (json_decref(ev), 0);
    if (w < 0) break;
  }
  stream_free(s);
}

static int events(struct api_request *req) {
  int64_t since = parse_ts(api_query(req, "since")), until = parse_ts(api_query(req, "until"));
  if (since == -2 || until == -2)
    return api_reply_error(req, 400, "invalid timestamp: since=%s until=%s",
                           api_query(req, "since") ? api_query(req, "since") : "",
                           api_query(req, "until") ? api_query(req, "until") : "");
  struct berth_err err = {0};
  struct filters f;
  if (filters_parse(api_query(req, "filters"), &f, &err) < 0) return api_reply_err(req, &err);
  struct ev_stream *s = xcalloc(1, sizeof *s);
  s->filters = f;
  s->until_ns = until;
  /* until without since: docker replays nothing and waits for until */
  s->sub = ev_subscribe(since);
  return api_reply_stream(req, 200, "application/json", producer, s);
}

const struct api_route event_routes[] = {
    {"GET", "/events", events, BODY_BUFFER, NULL},
};
const size_t n_event_routes = ARRAY_SIZE(event_routes);
