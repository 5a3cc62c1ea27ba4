/* jpick.h: a scanner that finds each value's extent without building it;
 * only the members kept are handed to jansson (strings and integers
 * without escapes are made directly). */
#include "jpick.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct scan {
  const char *p, *end;
};

static void ws(struct scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

/* past a string whose opening quote s->p is at; false if unterminated */
static bool skip_string(struct scan *s) {
  for (s->p++; s->p < s->end; s->p++) {
    if (*s->p == '\\') {
      s->p++;
    } else if (*s->p == '"') {
      s->p++;
      return true;
    }
  }
  return false;
}

/* past one value of any kind: brackets matched (up to 64 deep), strings
 * skipped whole; a bare word (number, true, false, null) must not be empty */
static bool skip_value(struct scan *s) {
  ws(s);
  if (s->p >= s->end) return false;
  if (*s->p == '"') return skip_string(s);
  if (*s->p != '{' && *s->p != '[') {
    const char *b = s->p;
    while (s->p < s->end && !strchr(",}] \n\r\t", *s->p))
      s->p++;
    return s->p > b;
  }
  char open[64];
  size_t depth = 0;
  while (s->p < s->end) {
    char c = *s->p;
    if (c == '"') {
      if (!skip_string(s)) return false;
      continue;
    }
    if (c == '{' || c == '[') {
      if (depth == sizeof open) return false;
      open[depth++] = c;
    } else if (c == '}' || c == ']') {
      if (!depth || open[depth - 1] != (c == '}' ? '{' : '[')) return false;
      if (--depth == 0) {
        s->p++;
        return true;
      }
    }
    s->p++;
  }
  return false;
}

static bool wanted(const char *key, size_t n, const char *const *keep) {
  for (; *keep; keep++)
    if (strlen(*keep) == n && !memcmp(*keep, key, n)) return true;
  return false;
}

static json_t *value_of(const char *v, size_t n);

/* [] and {}, and an array of plain strings (Names): without the parser */
static json_t *simple_container(const char *v, size_t n) {
  if (n == 2 && v[0] == '{' && v[1] == '}') return json_object();
  /* nothing nested (a bracket inside a string only sends it to the parser) */
  if (n < 2 || v[0] != '[' || memchr(v, '{', n) || memchr(v + 1, '[', n - 1)) return NULL;
  json_t *a = json_array();
  struct scan s = {v + 1, v + n - 1};
  for (ws(&s); s.p < s.end;) {
    const char *e = s.p;
    if (*e != '"' || !skip_string(&s)) break;
    json_t *x = value_of(e, (size_t)(s.p - e));
    if (!x) break;
    json_array_append_new(a, x);
    ws(&s);
    if (s.p < s.end && *s.p == ',') s.p++;
    ws(&s);
  }
  if (s.p >= s.end) return a;
  json_decref(a);
  return NULL;
}

/* a value made from its text: the common cases without the parser */
static json_t *value_of(const char *v, size_t n) {
  json_t *c = n && (v[0] == '[' || v[0] == '{') ? simple_container(v, n) : NULL;
  if (c) return c;
  json_t *str = n >= 2 && v[0] == '"' && !memchr(v, '\\', n) ? json_stringn(v + 1, n - 2) : NULL;
  if (str) return str; /* (NULL for bad UTF-8: the parser says why, below) */
  if (n && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) && !memchr(v, '.', n) &&
      !memchr(v, 'e', n) && !memchr(v, 'E', n)) {
    char *e;
    long long x = strtoll(v, &e, 10);
    if (e == v + n) return json_integer(x);
  }
  return json_loadb(v, n, JSON_DECODE_ANY, NULL);
}

/* one element: an object reduced to the members kept */
static json_t *pick_object(struct scan *s, const char *const *keep) {
  json_t *o = json_object();
  s->p++; /* '{' */
  ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    return o;
  }
  while (s->p < s->end) {
    ws(s);
    const char *k = s->p;
    if (s->p >= s->end || *k != '"' || !skip_string(s)) break;
    size_t kn = (size_t)(s->p - k) - 2;
    ws(s);
    if (s->p >= s->end || *s->p != ':') break;
    s->p++;
    ws(s);
    const char *v = s->p;
    if (!skip_value(s)) break;
    if (wanted(k + 1, kn, keep)) {
      json_t *val = value_of(v, (size_t)(s->p - v));
      if (!val) break;
      json_object_setn_new_nocheck(o, k + 1, kn, val);
    }
    ws(s);
    if (s->p < s->end && *s->p == ',') {
      s->p++;
      continue;
    }
    if (s->p < s->end && *s->p == '}') {
      s->p++;
      return o;
    }
    break;
  }
  json_decref(o);
  return NULL;
}

json_t *jpick_array(const char *text, size_t len, const char *const *keep) {
  struct scan s = {text, text + len};
  ws(&s);
  if (s.p >= s.end || *s.p != '[') return NULL;
  s.p++;
  json_t *a = json_array();
  for (;;) {
    ws(&s);
    if (s.p < s.end && *s.p == ']' && !json_array_size(a)) return a;
    const char *v = s.p;
    json_t *e = s.p < s.end && *s.p == '{' ? pick_object(&s, keep)
                : skip_value(&s)           ? value_of(v, (size_t)(s.p - v))
                                           : NULL;
    if (!e) break;
    json_array_append_new(a, e);
    ws(&s);
    if (s.p < s.end && *s.p == ',') {
      s.p++;
      continue;
    }
    if (s.p < s.end && *s.p == ']') return a;
    break;
  }
  json_decref(a);
  return NULL;
}
