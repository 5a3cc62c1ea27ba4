/* Docker's event filters (moby daemon/events/filter.go), in events.h's terms. */
#include "events.h"

#include "../util/filters.h"

static const char *attr(const json_t *ev, const char *key) {
  return json_string_value(
      json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"), key));
}

static const char *actor_id(const json_t *ev) {
  return json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
}

/* no values for key: true; else source is one of them, or begins with one */
static bool fuzzy(const struct filters *f, const char *key, const char *source) {
  return filters_exact(f, key, source) || filters_prefix(f, key, source);
}

/* an actor of this kind, by id or name */
static bool by_name(const struct filters *f, const char *key, const json_t *ev) {
  return fuzzy(f, key, actor_id(ev)) || fuzzy(f, key, attr(ev, "name"));
}

static bool match_event(const struct filters *f, const json_t *ev) {
  const char *action = json_string_value(json_object_get(ev, "Action"));
  static const char *const prefixed[] = {"health_status", "exec_create", "exec_start"};
  const struct filter_key *k = filters_get(f, "event");
  for (size_t i = 0; k && i < k->n; i++)
    for (size_t p = 0; p < ARRAY_SIZE(prefixed); p++)
      if (!strcmp(k->vals[i], prefixed[p])) return fuzzy(f, "event", action);
  return filters_exact(f, "event", action);
}

/* "busybox:latest" -> "busybox", "x@sha256:..." -> "x" */
static char *strip_tag(const char *ref) {
  if (!ref) return NULL;
  char *s = xstrdup(ref);
  char *at = strchr(s, '@');
  if (at) *at = 0;
  char *slash = strrchr(s, '/'), *colon = strrchr(s, ':');
  if (colon && (!slash || colon > slash)) *colon = 0;
  return s;
}

static bool match_image(const struct filters *f, const json_t *ev) {
  const char *id = actor_id(ev);
  const char *name =
      attr(ev, !strcmp(json_string_value(json_object_get(ev, "Type")), "image") ? "name" : "image");
  cleanup_free char *sid = strip_tag(id), *sname = strip_tag(name);
  return filters_exact(f, "image", id) || filters_exact(f, "image", name) ||
         filters_exact(f, "image", sid) || filters_exact(f, "image", sname);
}

bool ev_match(const struct filters *f, const json_t *ev) {
  if (!f->n) return true;
  json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
  return match_event(f, ev) &&
         filters_exact(f, "type", json_string_value(json_object_get(ev, "Type"))) &&
         filters_exact(f, "scope", json_string_value(json_object_get(ev, "scope"))) &&
         by_name(f, "daemon", ev) && by_name(f, "container", ev) && by_name(f, "volume", ev) &&
         by_name(f, "network", ev) && match_image(f, ev) && filters_labels(f, "label", attrs);
}
