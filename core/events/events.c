/* Events: the ring, the persisted tail, the subscribers (events.h). */
#include "events.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#define SUB_CAP (EV_RING + EV_QUEUE) /* a replay of the whole ring, then EV_QUEUE live */

/* An event as it is kept: its compact JSON line, shared by the ring and the
 * subscribers' queues (a jansson object of one event takes ~3 KB, its text
 * ~350 bytes), parsed again for a subscriber when it is delivered. */
struct ev_text {
  int refs; /* under ev_mu */
  int64_t ns;
  size_t len;
  char line[]; /* with a '\n' at len, then NUL */
};

struct ev_sub {
  struct ev_text *q[SUB_CAP];
  size_t head, count;
  bool dropped;
  struct ev_sub *next;
};

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static struct ev_text *ring[EV_RING];
static size_t ring_head, ring_count; /* oldest at ring_head */
static struct ev_sub *subs;
static bool stopping;
static char *tail_path;
static int tail_fd = -1;
static size_t tail_lines;
static int64_t last_ns;

static struct ev_text *text_new(const char *line, size_t len, int64_t ns) {
  struct ev_text *t = xmalloc(sizeof *t + len + 2);
  t->refs = 1;
  t->ns = ns;
  t->len = len;
  memcpy(t->line, line, len);
  t->line[len] = '\n';
  t->line[len + 1] = 0;
  return t;
}

static struct ev_text *text_ref(struct ev_text *t) {
  t->refs++;
  return t;
}

static void text_put(struct ev_text *t) {
  if (t && --t->refs == 0) free(t);
}

static void ring_push(struct ev_text *ev) {
  size_t slot = (ring_head + ring_count) % EV_RING;
  if (ring_count == EV_RING) {
    text_put(ring[ring_head]);
    ring_head = (ring_head + 1) % EV_RING;
    slot = (ring_head + EV_RING - 1) % EV_RING;
  } else {
    ring_count++;
  }
  ring[slot] = ev;
}

/* Rewrite the tail file with what the ring holds (atomically), and reopen
 * it for appending.  With ev_mu held, or before any thread runs. */
static void tail_compact(void) {
  if (!tail_path) return;
  size_t len = 0;
  for (size_t i = 0; i < ring_count; i++)
    len += ring[(ring_head + i) % EV_RING]->len + 1;
  char *buf = xmalloc(len + 1), *p = buf;
  for (size_t i = 0; i < ring_count; i++) {
    struct ev_text *t = ring[(ring_head + i) % EV_RING];
    memcpy(p, t->line, t->len + 1);
    p += t->len + 1;
  }
  if (tail_fd >= 0) close(tail_fd);
  tail_fd = -1;
  if (write_file_atomic(tail_path, buf, len, 0600) < 0)
    log_warn("events: cannot write %s: %s", tail_path, strerror(errno));
  free(buf);
  tail_fd = open(tail_path, O_WRONLY | O_APPEND | O_CLOEXEC);
  tail_lines = ring_count;
}

int ev_init(const char *data_root, struct berth_err *err) {
  (void)err;
  tail_path = xasprintf("%s/events.jsonl", data_root);
  size_t len = 0;
  cleanup_free char *text = read_file(tail_path, &len);
  for (char *line = text, *nl; line && *line; line = nl + 1) {
    nl = strchr(line, '\n');
    if (!nl) break; /* a line cut short by a crash */
    *nl = 0;
    json_t *ev = json_loads(line, 0, NULL);
    json_t *ns = json_object_get(ev, "timeNano");
    if (json_is_object(ev) && json_is_integer(ns)) {
      last_ns = json_integer_value(ns);
      ring_push(text_new(line, (size_t)(nl - line), last_ns));
    }
    json_decref(ev);
  }
  tail_compact();
  return 0;
}

void ev_shutdown(void) {
  pthread_mutex_lock(&ev_mu);
  stopping = true;
  pthread_cond_broadcast(&ev_cond);
  pthread_mutex_unlock(&ev_mu);
}

static bool sub_push(struct ev_sub *s, struct ev_text *ev) {
  if (s->count == SUB_CAP) return false;
  s->q[(s->head + s->count) % SUB_CAP] = text_ref(ev);
  s->count++;
  return true;
}

static void publish(struct ev_text *ev) {
  ring_push(text_ref(ev));
  for (struct ev_sub *s = subs; s; s = s->next) {
    if (s->dropped || sub_push(s, ev)) continue;
    s->dropped = true;
    log_warn("events: a subscriber is %d events behind; dropped (its stream ends)", SUB_CAP);
  }
  pthread_cond_broadcast(&ev_cond);
  if (tail_fd >= 0) {
    if (write_all_fd(tail_fd, ev->line, ev->len + 1) < 0)
      log_warn("events: append: %s", strerror(errno));
    if (++tail_lines > 2 * EV_RING) tail_compact();
  }
}

/* this thread's events kept back (ev_hold): [type, action, id, attrs] each */
static __thread json_t *held;

void ev_hold(void) {
  if (!held) held = json_array();
}

json_t *ev_unhold(void) {
  json_t *h = held;
  held = NULL;
  return h;
}

void ev_tell_held(json_t *h) {
  size_t i;
  json_t *e;
  json_array_foreach(h, i, e) {
    ev_emit(json_string_value(json_array_get(e, 0)), json_string_value(json_array_get(e, 1)),
            json_string_value(json_array_get(e, 2)), json_incref(json_array_get(e, 3)));
  }
  json_decref(h);
}

static int by_key(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* dockerd's Attributes are a Go map: its JSON has the keys sorted */
static json_t *sorted(json_t *attrs) {
  size_t n = json_object_size(attrs), k = 0;
  if (n < 2) return attrs;
  const char **keys = xcalloc(n, sizeof *keys);
  const char *key;
  json_t *v;
  json_object_foreach(attrs, key, v) keys[k++] = key;
  qsort(keys, n, sizeof *keys, by_key);
  json_t *out = json_object();
  for (size_t i = 0; i < n; i++)
    json_object_set(out, keys[i], json_object_get(attrs, keys[i]));
  free(keys);
  json_decref(attrs);
  return out;
}

void ev_emit(const char *type, const char *action, const char *id, json_t *attrs) {
  if (!attrs) attrs = json_object();
  if (held) {
    json_array_append_new(held, json_pack("[s,s,s,o]", type, action, id, attrs));
    return;
  }
  attrs = sorted(attrs);
  json_t *ev = json_object();
  bool legacy = !strcmp(type, "container") || !strcmp(type, "image");
  if (legacy) {
    json_object_set_new(ev, "status", json_string(action));
    json_object_set_new(ev, "id", json_string(id));
    const char *from = json_string_value(json_object_get(attrs, "image"));
    if (!strcmp(type, "container") && from) json_object_set_new(ev, "from", json_string(from));
  }
  json_object_set_new(ev, "Type", json_string(type));
  json_object_set_new(ev, "Action", json_string(action));
  json_object_set_new(ev, "Actor", json_pack("{s:s, s:o}", "ID", id, "Attributes", attrs));
  json_object_set_new(ev, "scope", json_string("local"));
  pthread_mutex_lock(&ev_mu);
  if (stopping) {
    pthread_mutex_unlock(&ev_mu);
    json_decref(ev);
    return;
  }
  int64_t ns = now_ns();
  if (ns <= last_ns) ns = last_ns + 1; /* strictly increasing: since= is exact */
  last_ns = ns;
  json_object_set_new(ev, "time", json_integer(ns / 1000000000));
  json_object_set_new(ev, "timeNano", json_integer(ns));
  char *line = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  struct ev_text *t = text_new(line, strlen(line), ns);
  free(line);
  publish(t);
  text_put(t);
  pthread_mutex_unlock(&ev_mu);
}

struct ev_sub *ev_subscribe(int64_t since_ns) {
  struct ev_sub *s = xcalloc(1, sizeof *s);
  pthread_mutex_lock(&ev_mu);
  for (size_t i = 0; since_ns >= 0 && i < ring_count; i++) {
    struct ev_text *ev = ring[(ring_head + i) % EV_RING];
    if (ev->ns >= since_ns) sub_push(s, ev);
  }
  s->next = subs;
  subs = s;
  pthread_mutex_unlock(&ev_mu);
  return s;
}

size_t ev_listeners(void) {
  size_t n = 0;
  pthread_mutex_lock(&ev_mu);
  for (struct ev_sub *s = subs; s; s = s->next)
    n++;
  pthread_mutex_unlock(&ev_mu);
  return n;
}

int ev_next(struct ev_sub *s, int timeout_ms, json_t **out) {
  struct timespec dl = deadline_after_ms(CLOCK_REALTIME, timeout_ms);
  pthread_mutex_lock(&ev_mu);
  while (!s->count && !s->dropped && !stopping) {
    if (pthread_cond_timedwait(&ev_cond, &ev_mu, &dl)) break;
  }
  int r = 0;
  struct ev_text *t = NULL;
  if (s->count) {
    t = s->q[s->head];
    s->head = (s->head + 1) % SUB_CAP;
    s->count--;
    r = 1;
  } else if (s->dropped || stopping) {
    r = -1;
  }
  pthread_mutex_unlock(&ev_mu);
  if (t) {
    *out = json_loadb(t->line, t->len, 0, NULL);
    pthread_mutex_lock(&ev_mu);
    text_put(t);
    pthread_mutex_unlock(&ev_mu);
    if (!*out) r = 0; /* never: the line was made by json_dumps */
  }
  return r;
}

void ev_unsubscribe(struct ev_sub *s) {
  if (!s) return;
  pthread_mutex_lock(&ev_mu);
  for (struct ev_sub **p = &subs; *p; p = &(*p)->next) {
    if (*p == s) {
      *p = s->next;
      break;
    }
  }
  pthread_mutex_unlock(&ev_mu);
  pthread_mutex_lock(&ev_mu);
  for (size_t i = 0; i < s->count; i++)
    text_put(s->q[(s->head + i) % SUB_CAP]);
  pthread_mutex_unlock(&ev_mu);
  free(s);
}
