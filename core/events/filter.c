/* Docker's event filters (moby daemon/events/filter.go), in events.h's terms. */
#include "events.h"

static const char *attr(const json_t *ev, const char *key) {
  return json_string_value(
      json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"), key));
}

static const char *actor_id(const json_t *ev) {
  return json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
}

/* no values for key: true; else source is one of them */
static bool exact(const json_t *f, const char *key, const char *source) {
  json_t *vals = json_object_get(f, key);
  if (!json_array_size(vals)) return true;
  size_t i;
  json_t *v;
  json_array_foreach(vals, i, v) {
    if (source && !strcmp(json_string_value(v), source)) return true;
  }
  return false;
}

/* ... or begins with one of them */
static bool fuzzy(const json_t *f, const char *key, const char *source) {
  if (exact(f, key, source)) return true;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(f, key), i, v) {
    if (source && str_has_prefix(source, json_string_value(v))) return true;
  }
  return false;
}

/* an actor of this kind, by id or name */
static bool by_name(const json_t *f, const char *key, const json_t *ev) {
  return fuzzy(f, key, actor_id(ev)) || fuzzy(f, key, attr(ev, "name"));
}

static bool match_event(const json_t *f, const json_t *ev) {
  const char *action = json_string_value(json_object_get(ev, "Action"));
  static const char *const prefixed[] = {"health_status", "exec_create", "exec_start"};
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(f, "event"), i, v) {
    for (size_t k = 0; k < ARRAY_SIZE(prefixed); k++)
      if (!strcmp(json_string_value(v), prefixed[k])) return fuzzy(f, "event", action);
  }
  return exact(f, "event", action);
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

static bool match_image(const json_t *f, const json_t *ev) {
  const char *id = actor_id(ev);
  const char *name =
      attr(ev, !strcmp(json_string_value(json_object_get(ev, "Type")), "image") ? "name" : "image");
  cleanup_free char *sid = strip_tag(id), *sname = strip_tag(name);
  return exact(f, "image", id) || exact(f, "image", name) || exact(f, "image", sid) ||
         exact(f, "image", sname);
}

/* every label filter ("k" or "k=v") holds among the attributes */
static bool match_labels(const json_t *f, const json_t *ev) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(f, "label"), i, v) {
    const char *want = json_string_value(v), *eq = strchr(want, '=');
    cleanup_free char *key = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
    const char *have = attr(ev, key);
    if (!have || (eq && strcmp(have, eq + 1))) return false;
  }
  return true;
}

bool ev_match(const json_t *f, const json_t *ev) {
  if (!f) return true;
  return match_event(f, ev) && exact(f, "type", json_string_value(json_object_get(ev, "Type"))) &&
         exact(f, "scope", json_string_value(json_object_get(ev, "scope"))) &&
         by_name(f, "daemon", ev) && by_name(f, "container", ev) && by_name(f, "volume", ev) &&
         by_name(f, "network", ev) && match_image(f, ev) && match_labels(f, ev);
}
