/* Docker's filters (filters.h). */
#include "filters.h"

#include <ctype.h>

static struct filter_key *key_add(struct filters *f, const char *name) {
  f->keys = xrealloc(f->keys, (f->n + 1) * sizeof *f->keys);
  struct filter_key *k = &f->keys[f->n++];
  *k = (struct filter_key){.name = xstrdup(name)};
  return k;
}

static void value_add(struct filter_key *k, const char *v) {
  for (size_t i = 0; i < k->n; i++)
    if (!strcmp(k->vals[i], v)) return; /* a set, as docker's */
  k->vals = xrealloc(k->vals, (k->n + 1) * sizeof *k->vals);
  k->vals[k->n++] = xstrdup(v);
}

static const char *go_type(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_STRING: return "string";
  case JSON_ARRAY: return "array";
  case JSON_TRUE:
  case JSON_FALSE: return "bool";
  case JSON_NULL: return "null";
  default: return "number";
  }
}

int filters_parse(const char *query, struct filters *f, struct berth_err *err) {
  *f = (struct filters){0};
  if (!query || !*query) return 0;
  json_error_t je;
  json_t *in = json_loads(query, JSON_DECODE_ANY, &je);
  if (!in) return berth_err_set(err, BERTH_EINTERNAL, 0, "%s", je.text);
  if (!json_is_object(in)) {
    berth_err_set(err, BERTH_EINTERNAL, 0,
                  "json: cannot unmarshal %s into Go value of type map[string]map[string]bool",
                  go_type(in));
    json_decref(in);
    return -1;
  }
  const char *name;
  json_t *vals;
  json_object_foreach(in, name, vals) {
    bool obj = json_is_object(vals), arr = json_is_array(vals);
    size_t i;
    json_t *e;
    json_array_foreach(vals, i, e) arr &= json_is_string(e);
    if (!obj && !arr) {
      berth_err_set(err, BERTH_EINTERNAL, 0,
                    "json: cannot unmarshal %s into Go value of type map[string]bool",
                    go_type(vals));
      json_decref(in);
      filters_free(f);
      return -1;
    }
    struct filter_key *k = key_add(f, name);
    const char *v;
    json_object_foreach(vals, v, e) value_add(k, v);
    json_array_foreach(vals, i, e) value_add(k, json_string_value(e));
  }
  json_decref(in);
  return 0;
}

void filters_free(struct filters *f) {
  for (size_t i = 0; i < f->n; i++) {
    struct filter_key *k = &f->keys[i];
    for (size_t j = 0; j < k->n; j++) {
      if (k->re && k->re_ok[j]) regfree(&k->re[j]);
      free(k->vals[j]);
    }
    free(k->vals);
    free(k->re);
    free(k->re_ok);
    free(k->name);
  }
  free(f->keys);
  *f = (struct filters){0};
}

int filters_check(const struct filters *f, const char *const *accepted, struct berth_err *err) {
  for (size_t i = 0; i < f->n; i++) {
    const char *const *a = accepted;
    while (*a && strcmp(*a, f->keys[i].name))
      a++;
    if (!*a) return berth_err_set(err, BERTH_EINVAL, 0, "Invalid filter '%s'", f->keys[i].name);
  }
  return 0;
}

const struct filter_key *filters_get(const struct filters *f, const char *key) {
  for (size_t i = 0; i < f->n; i++)
    if (!strcmp(f->keys[i].name, key)) return &f->keys[i];
  return NULL;
}

char *filters_text(const struct filters *f, const char *key) {
  const struct filter_key *k = filters_get(f, key);
  char *out = xstrdup("[");
  for (size_t i = 0; k && i < k->n; i++) {
    char *n = xasprintf("%s%s%s", out, i ? " " : "", k->vals[i]);
    free(out);
    out = n;
  }
  char *n = xasprintf("%s]", out);
  free(out);
  return n;
}

bool filters_exact(const struct filters *f, const char *key, const char *s) {
  const struct filter_key *k = filters_get(f, key);
  if (!k || !k->n) return true;
  for (size_t i = 0; i < k->n; i++)
    if (s && !strcmp(k->vals[i], s)) return true;
  return false;
}

bool filters_prefix(const struct filters *f, const char *key, const char *s) {
  const struct filter_key *k = filters_get(f, key);
  if (!k || !k->n) return true;
  for (size_t i = 0; i < k->n; i++)
    if (s && str_has_prefix(s, k->vals[i])) return true;
  return false;
}

bool filters_match(struct filters *f, const char *key, const char *s) {
  struct filter_key *k = (struct filter_key *)filters_get(f, key);
  if (!k || !k->n || filters_exact(f, key, s)) return true;
  if (!k->re) {
    k->re = xcalloc(k->n, sizeof *k->re);
    k->re_ok = xcalloc(k->n, sizeof *k->re_ok);
    for (size_t i = 0; i < k->n; i++)
      k->re_ok[i] = regcomp(&k->re[i], k->vals[i], REG_EXTENDED | REG_NOSUB) == 0;
  }
  for (size_t i = 0; i < k->n; i++)
    if (k->re_ok[i] && regexec(&k->re[i], s, 0, NULL, 0) == 0) return true;
  return false;
}

bool filters_labels(const struct filters *f, const char *key, json_t *labels) {
  const struct filter_key *k = filters_get(f, key);
  if (!k || !k->n) return true;
  if (!json_object_size(labels)) return false;
  for (size_t i = 0; i < k->n; i++) {
    const char *eq = strchr(k->vals[i], '=');
    cleanup_free char *name =
        eq ? strndup(k->vals[i], (size_t)(eq - k->vals[i])) : xstrdup(k->vals[i]);
    const char *have = json_string_value(json_object_get(labels, name));
    if (!have || (eq && strcmp(have, eq + 1))) return false;
  }
  return true;
}

bool filters_prune_labels(const struct filters *f, json_t *labels) {
  if (!filters_labels(f, "label", labels)) return false;
  return !filters_has(f, "label!") || !filters_labels(f, "label!", labels);
}

int filters_until(const struct filters *f, int64_t *until_ns, struct berth_err *err) {
  *until_ns = INT64_MAX;
  const struct filter_key *k = filters_get(f, "until");
  if (!k || !k->n) return 0;
  if (k->n > 1) return berth_err_set(err, BERTH_EINVAL, 0, "more than one until filter specified");
  const char *v = k->vals[0];
  if (docker_timestamp(v, until_ns) == 0) return 0;
  return berth_err_set(err, BERTH_EINTERNAL, 0, "failed to parse value as time or duration: \"%s\"",
                       v);
}
