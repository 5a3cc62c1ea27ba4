/* ps: the container listing and its filters, as dockerd's daemon/list.go
 * folds and applies them (which values are refused and with what words,
 * before/since by creation order, ancestor through the images built on
 * one, name as a regular expression).  isolation is accepted and, as on
 * dockerd for Linux, matches every container. */
#include "../daemon.h"
#include "../image/store.h"
#include "../util/filters.h"
#include "config.h"
#include "container.h"
#include <ctype.h>

struct port_range {
  uint16_t lo, hi;
  char proto[8];
};

/* what the filters say, folded once before the containers are walked */
struct ps_fold {
  struct filters *f;
  bool all, task_filter, no_task;
  int64_t limit;
  int *exited;
  size_t n_exited;
  struct container *before, *since;
  json_t *images; /* the ancestor filter's image ids, NULL without one */
  struct port_range *publish, *expose;
  size_t n_publish, n_expose;
};

static const char *const accepted[] = {
    "ancestor", "before", "exited", "id",     "isolation", "is-task", "label",  "name",
    "status",   "health", "since",  "volume", "network",   "publish", "expose", NULL};

/* portOp: "80", "80/udp", "8000-8080/tcp"; dockerd's words for the rest */
static int port_op(const char *key, const char *v, struct port_range **out, size_t *n,
                   struct berth_err *err) {
  if (strchr(v, ':'))
    return berth_err_set(err, BERTH_EINTERNAL, 0, "filter for '%s' should not contain ':': %s", key,
                         v);
  struct port_range r = {.proto = "tcp"};
  const char *slash = strchr(v, '/');
  cleanup_free char *port = slash ? strndup(v, (size_t)(slash - v)) : xstrdup(v);
  if (slash && slash[1]) snprintf(r.proto, sizeof r.proto, "%s", slash + 1);
  char *dash = strchr(port, '-'), *end;
  if (dash) *dash = 0;
  const char *bad = NULL;
  unsigned long lo = strtoul(port, &end, 10), hi = lo;
  if (!*port || *end || !isdigit((unsigned char)*port) || lo > 65535) bad = port;
  if (!bad && dash) {
    hi = strtoul(dash + 1, &end, 10);
    if (!dash[1] || *end || !isdigit((unsigned char)dash[1]) || hi > 65535) bad = dash + 1;
  }
  if (bad)
    return berth_err_set(err, BERTH_EINTERNAL, 0,
                         "error while looking up for %s %s: strconv.ParseUint: parsing \"%s\": "
                         "invalid syntax",
                         key, v, bad);
  if (hi < lo)
    return berth_err_set(err, BERTH_EINTERNAL, 0,
                         "error while looking up for %s %s: Invalid range specified for the "
                         "Port: %s-%s",
                         key, v, port, dash + 1);
  r.lo = (uint16_t)lo;
  r.hi = (uint16_t)hi;
  *out = xrealloc(*out, (*n + 1) * sizeof **out);
  (*out)[(*n)++] = r;
  return 0;
}

static int fold_values(struct ps_fold *p, struct berth_err *err) {
  static const char *const states[] = {"created", "restarting", "running", "removing",
                                       "paused",  "exited",     "dead"};
  static const char *const healths[] = {"starting", "healthy", "unhealthy", "none"};
  const struct filter_key *k;
  for (size_t i = 0; (k = filters_get(p->f, "exited")) && i < k->n; i++) {
    char *end;
    long code = strtol(k->vals[i], &end, 10);
    if (!*k->vals[i] || *end)
      return berth_err_set(err, BERTH_EINTERNAL, 0, "strconv.Atoi: parsing \"%s\": invalid syntax",
                           k->vals[i]);
    p->exited = xrealloc(p->exited, (p->n_exited + 1) * sizeof *p->exited);
    p->exited[p->n_exited++] = (int)code;
  }
  for (size_t i = 0; (k = filters_get(p->f, "status")) && i < k->n; i++) {
    size_t j = 0;
    while (j < ARRAY_SIZE(states) && strcmp(states[j], k->vals[i]))
      j++;
    if (j == ARRAY_SIZE(states))
      return berth_err_set(err, BERTH_EINVAL, 0, "Invalid filter 'status=%s'", k->vals[i]);
    p->all = true;
  }
  for (size_t i = 0; (k = filters_get(p->f, "health")) && i < k->n; i++) {
    size_t j = 0;
    while (j < ARRAY_SIZE(healths) && strcmp(healths[j], k->vals[i]))
      j++;
    if (j == ARRAY_SIZE(healths))
      return berth_err_set(err, BERTH_EINVAL, 0, "Unrecognised filter value for health: %s",
                           k->vals[i]);
  }
  if (filters_has(p->f, "is-task")) {
    bool t = filters_exact(p->f, "is-task", "true"), f = filters_exact(p->f, "is-task", "false");
    if (!t && !f) {
      cleanup_free char *v = filters_text(p->f, "is-task");
      return berth_err_set(err, BERTH_EINVAL, 0, "Invalid filter 'is-task=%s'", v);
    }
    p->task_filter = true;
    p->no_task = !t; /* berth runs no swarm tasks: true matches none */
  }
  return 0;
}

static int fold_refs(struct daemon *d, struct ps_fold *p, struct berth_err *err) {
  const struct filter_key *k;
  struct container **slot[] = {&p->before, &p->since};
  const char *keys[] = {"before", "since"};
  for (size_t s = 0; s < 2; s++)
    for (size_t i = 0; (k = filters_get(p->f, keys[s])) && i < k->n; i++) {
      if (*slot[s]) ctr_put(*slot[s]);
      if (!(*slot[s] = ctr_get(k->vals[i])))
        return berth_err_set(err, BERTH_EINTERNAL, 0, "no such container %s", k->vals[i]);
    }
  if ((k = filters_get(p->f, "ancestor"))) {
    p->images = json_object();
    for (size_t i = 0; i < k->n; i++)
      if (!store_descendants(&d->images, k->vals[i], p->images))
        log_warn("Error while looking up for image %s", k->vals[i]);
  }
  for (size_t i = 0; (k = filters_get(p->f, "publish")) && i < k->n; i++)
    if (port_op("publish", k->vals[i], &p->publish, &p->n_publish, err) < 0) return -1;
  for (size_t i = 0; (k = filters_get(p->f, "expose")) && i < k->n; i++)
    if (port_op("expose", k->vals[i], &p->expose, &p->n_expose, err) < 0) return -1;
  return 0;
}

static void fold_free(struct ps_fold *p) {
  free(p->exited);
  if (p->before) ctr_put(p->before);
  if (p->since) ctr_put(p->since);
  json_decref(p->images);
  free(p->publish);
  free(p->expose);
}

static bool in_ranges(unsigned port, const char *proto, const struct port_range *r, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (port >= r[i].lo && port <= r[i].hi && !strcmp(proto, r[i].proto)) return true;
  return false;
}

/* dockerd's expose and publish look at the ports of a running container
 * (NetworkSettings.Ports): expose at its ports ("80/tcp"), publish at the
 * host's side of each binding; a stopped container matches neither */
static bool ports_match(struct ps_fold *p, struct container *c) {
  ctr_lock();
  bool running = ctr_is_running(c);
  json_t *ports = running ? json_incref(c->ports) : NULL;
  ctr_unlock();
  bool exposed = !p->n_expose, published = !p->n_publish;
  const char *key;
  json_t *v, *b;
  /* the exposed ones with no binding are not in c->ports */
  json_object_foreach(running ? json_object_get(c->config, "ExposedPorts") : NULL, key, v) {
    unsigned port;
    char proto[8] = "tcp";
    if (sscanf(key, "%u/%7s", &port, proto) >= 1)
      exposed |= in_ranges(port, proto, p->expose, p->n_expose);
  }
  json_object_foreach(ports, key, v) {
    unsigned port;
    char proto[8] = "tcp";
    if (sscanf(key, "%u/%7s", &port, proto) < 1) continue;
    exposed |= in_ranges(port, proto, p->expose, p->n_expose);
    size_t i;
    json_array_foreach(v, i, b) {
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      published |= hp && in_ranges((unsigned)atoi(hp), proto, p->publish, p->n_publish);
    }
  }
  json_decref(ports);
  return exposed && published;
}

static bool volume_matches(struct filters *f, json_t *summary) {
  const struct filter_key *k = filters_get(f, "volume");
  size_t i, j;
  json_t *m;
  for (i = 0; k && i < k->n; i++)
    json_array_foreach(json_object_get(summary, "Mounts"), j, m) {
      const char *name = json_string_value(json_object_get(m, "Name"));
      if (!name || !*name) name = json_string_value(json_object_get(m, "Source"));
      const char *dest = json_string_value(json_object_get(m, "Destination"));
      if ((dest && !strcmp(dest, k->vals[i])) || (name && !strcmp(name, k->vals[i]))) return true;
    }
  return !k;
}

static bool network_matches(struct filters *f, json_t *summary) {
  const struct filter_key *k = filters_get(f, "network");
  json_t *nets = json_object_get(json_object_get(summary, "NetworkSettings"), "Networks");
  const char *name;
  json_t *ep;
  for (size_t i = 0; k && i < k->n; i++) {
    if (json_object_get(nets, k->vals[i])) return true;
    json_object_foreach(nets, name, ep) {
      const char *nid = json_string_value(json_object_get(ep, "NetworkID"));
      if (nid && str_has_prefix(nid, k->vals[i])) return true;
    }
  }
  return !k;
}

/* the filters that look at the container's own fields (includeContainerInList
 * after the running and limit tests) */
static bool matches(struct ps_fold *p, struct container *c, json_t *summary) {
  struct filters *f = p->f;
  ctr_lock(); /* a rename replaces the name */
  cleanup_free char *name = xstrdup(c->name);
  ctr_unlock();
  if (!filters_match(f, "name", name) && !filters_match(f, "name", name + 1)) return false;
  if (!filters_prefix(f, "id", c->id) || (p->task_filter && !p->no_task)) return false;
  struct ctr_opts *o = ctr_opts_get(c);
  bool ok = filters_labels(f, "label", o->labels);
  ctr_opts_put(o);
  ctr_lock();
  bool exited = c->status == CTR_EXITED || c->status == CTR_DEAD;
  int code = c->exit_code;
  bool started = c->started_ns != 0;
  ok = ok && filters_exact(f, "health", ctr_health_locked(c));
  ctr_unlock();
  bool code_ok = !p->n_exited;
  for (size_t i = 0; i < p->n_exited; i++)
    code_ok |= exited && started && code == p->exited[i];
  ok = ok && code_ok &&
       filters_exact(f, "status", json_string_value(json_object_get(summary, "State"))) &&
       volume_matches(f, summary) && network_matches(f, summary);
  if (ok && p->images) ok = json_object_get(p->images, c->image_id) != NULL;
  return ok && ports_match(p, c);
}

/* docker's Running: a restarting container is one too */
static bool listed_running(struct container *c) {
  ctr_lock();
  bool r = ctr_is_running(c) || c->status == CTR_RESTARTING;
  ctr_unlock();
  return r;
}

static int cmp_created(const void *a, const void *b) {
  const struct container *x = *(struct container *const *)a, *y = *(struct container *const *)b;
  return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

/* no filter, no size: the cached summaries, as text */
static char *list_plain(struct daemon *d, struct container **cs, size_t n, bool all,
                        int64_t limit) {
  char *buf = NULL;
  size_t len = 0;
  ctr_append_text(&buf, &len, "[");
  int64_t shown = 0;
  for (size_t i = 0; i < n; i++) {
    struct container *c = cs[i];
    bool running = listed_running(c);
    if ((all || running) && (limit <= 0 || shown < limit)) {
      if (shown++) ctr_append_text(&buf, &len, ",");
      ctr_summary_append(d, c, &buf, &len);
    }
  }
  ctr_append_text(&buf, &len, "]\n");
  return buf;
}

static char *list_filtered(struct daemon *d, struct ps_fold *p, struct container **cs, size_t n,
                           bool size) {
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    struct container *c = cs[i];
    if (p->before) {
      if (c == p->before) p->before = (ctr_put(p->before), NULL);
      continue;
    }
    if (p->since && c == p->since) break;
    bool running = listed_running(c);
    if (!running && !p->all && p->limit <= 0) continue;
    if (p->limit > 0 && (int64_t)json_array_size(out) == p->limit) break;
    json_t *s = ctr_summary_json(d, c, size);
    if (matches(p, c, s))
      json_array_append_new(out, s);
    else
      json_decref(s);
  }
  char *text = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  return text;
}

char *ctr_listing(struct daemon *d, const struct ctr_list_query *q, struct berth_err *err) {
  if (filters_check(q->f, accepted, err) < 0) return NULL;
  struct ps_fold p = {.f = q->f, .all = q->all || q->limit > 0, .limit = q->limit};
  char *text = NULL;
  if (fold_values(&p, err) == 0 && fold_refs(d, &p, err) == 0) {
    size_t n;
    struct container **cs = ctr_list(&n);
    qsort(cs, n, sizeof *cs, cmp_created);
    text = !q->f->n && !q->size ? list_plain(d, cs, n, p.all, q->limit)
                                : list_filtered(d, &p, cs, n, q->size);
    for (size_t i = 0; i < n; i++)
      ctr_put(cs[i]);
    free(cs);
  }
  fold_free(&p);
  return text;
}

/* docker's container prune: the stopped ones, filtered by label, label!
 * and until (created no later) */
json_t *ctr_prune(struct daemon *d, struct filters *f, struct berth_err *err) {
  static const char *const prune_keys[] = {"label", "label!", "until", NULL};
  int64_t until;
  if (filters_check(f, prune_keys, err) < 0 || filters_until(f, &until, err) < 0) return NULL;
  size_t n;
  struct container **cs = ctr_list(&n);
  json_t *deleted = json_array();
  json_int_t reclaimed = 0;
  for (size_t i = 0; i < n; i++) {
    ctr_lock();
    bool stopped =
        cs[i]->status == CTR_EXITED || cs[i]->status == CTR_CREATED || cs[i]->status == CTR_DEAD;
    ctr_unlock();
    struct ctr_opts *o = ctr_opts_get(cs[i]);
    stopped = stopped && cs[i]->created_ns <= until && filters_prune_labels(f, o->labels);
    ctr_opts_put(o);
    struct berth_err e = {0};
    /* the space: what its layer held (SizeRw), measured before it goes */
    json_t *sum = stopped ? ctr_summary_json(d, cs[i], true) : NULL;
    json_int_t size = json_integer_value(json_object_get(sum, "SizeRw"));
    json_decref(sum);
    if (stopped && ctr_remove(d, cs[i], false, false, &e) == 0) {
      json_array_append_new(deleted, json_string(cs[i]->id));
      reclaimed += size;
    }
    ctr_put(cs[i]);
  }
  free(cs);
  return json_pack("{s:o,s:I}", "ContainersDeleted", deleted, "SpaceReclaimed", reclaimed);
}
