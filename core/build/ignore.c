/* .dockerignore (ignore.h). */
#include "ignore.h"

#include <ctype.h>
#include <fnmatch.h>

#include "../util/util.h"

struct pattern {
  char **seg; /* its components */
  size_t n;
  bool exclude; /* "!": re-include */
};

struct ignore {
  struct pattern *p;
  size_t n;
};

/* split a cleaned path into components (".." and "." resolved lexically) */
static char **split(const char *s, size_t *n) {
  char **v = xcalloc(strlen(s) / 2 + 2, sizeof *v);
  *n = 0;
  cleanup_free char *copy = xstrdup(s);
  for (char *save = NULL, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (!strcmp(c, ".")) continue;
    if (!strcmp(c, "..")) {
      if (*n) free(v[--(*n)]);
      continue;
    }
    v[(*n)++] = xstrdup(c);
  }
  return v;
}

struct ignore *ignore_parse(const char *text) {
  struct ignore *ig = xcalloc(1, sizeof *ig);
  cleanup_free char *copy = xstrdup(text ? text : "");
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    while (isspace((unsigned char)*l))
      l++;
    size_t len = strlen(l);
    while (len && isspace((unsigned char)l[len - 1]))
      l[--len] = 0;
    if (!*l || *l == '#') continue;
    bool exclude = *l == '!';
    if (exclude) l++;
    while (isspace((unsigned char)*l))
      l++;
    size_t n;
    char **seg = split(l, &n);
    if (!n) { /* "/" or "." : the whole context */
      seg[0] = xstrdup("**");
      n = 1;
    }
    ig->p = xrealloc(ig->p, (ig->n + 1) * sizeof *ig->p);
    ig->p[ig->n++] = (struct pattern){seg, n, exclude};
  }
  return ig;
}

/* pattern components [pi..] against path components [si..] */
static bool match_from(char **pat, size_t np, size_t pi, char **s, size_t ns, size_t si) {
  if (pi == np) return si == ns;
  if (!strcmp(pat[pi], "**")) {
    for (size_t k = si; k <= ns; k++)
      if (match_from(pat, np, pi + 1, s, ns, k)) return true;
    return false;
  }
  return si < ns && fnmatch(pat[pi], s[si], 0) == 0 && match_from(pat, np, pi + 1, s, ns, si + 1);
}

/* the pattern matches the path or one of its parent directories */
static bool matches(const struct pattern *p, char **s, size_t ns) {
  for (size_t k = ns; k > 0; k--)
    if (match_from(p->seg, p->n, 0, s, k, 0)) return true;
  return false;
}

bool ignore_match(const struct ignore *ig, const char *path) {
  if (!ig || !ig->n) return false;
  size_t ns;
  char **s = split(path, &ns);
  bool ignored = false;
  for (size_t i = 0; i < ig->n; i++)
    if (matches(&ig->p[i], s, ns)) ignored = !ig->p[i].exclude;
  for (size_t i = 0; i < ns; i++)
    free(s[i]);
  free(s);
  return ignored;
}

void ignore_free(struct ignore *ig) {
  if (!ig) return;
  for (size_t i = 0; i < ig->n; i++) {
    for (size_t k = 0; k < ig->p[i].n; k++)
      free(ig->p[i].seg[k]);
    free(ig->p[i].seg);
  }
  free(ig->p);
  free(ig);
}
