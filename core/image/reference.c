#include "reference.h"

#include <ctype.h>

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

void ref_free(struct image_ref *r) {
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof *r);
}

static bool is_alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *s, size_t n) {
  if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1])) return false;
  for (size_t i = 0; i < n;) {
    if (is_alnum_lower(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    if (s[i] == '.')
      j++;
    else if (s[i] == '_')
      j += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
    else if (s[i] == '-')
      while (j < n && s[j] == '-')
        j++;
    else
      return false;
    if (j >= n || !is_alnum_lower(s[j])) return false;
    i = j;
  }
  return true;
}

bool ref_valid_tag(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128) return false;
  if (!(isalnum((unsigned char)s[0]) || s[0] == '_')) return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-')) return false;
  return true;
}

static bool valid_domain(const char *s, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!(isalnum((unsigned char)c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return false;
  }
  return true;
}

int ref_parse(const char *s, bool default_tag, struct image_ref *out, struct berth_err *err) {
  memset(out, 0, sizeof *out);
  if (!s || !*s || strlen(s) > 4096)
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid reference format");
  cleanup_free char *name = xstrdup(s);
  char *at = strchr(name, '@');
  if (at) {
    *at = 0;
    const char *d = at + 1;
    if (!str_has_prefix(d, "sha256:") || strlen(d) != 71 || !is_hex(d + 7, 64))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid reference format");
    out->digest = xstrdup(d);
  }
  char *slash = strrchr(name, '/');
  char *colon = strrchr(slash ? slash : name, ':');
  if (colon) {
    *colon = 0;
    if (!ref_valid_tag(colon + 1)) {
      ref_free(out);
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid reference format");
    }
    out->tag = xstrdup(colon + 1);
  }
  char *first = strchr(name, '/');
  const char *rest = name;
  if (first) {
    size_t n = (size_t)(first - name);
    bool is_domain =
        memchr(name, '.', n) || memchr(name, ':', n) || (n == 9 && !strncmp(name, "localhost", 9));
    for (size_t i = 0; i < n && !is_domain; i++)
      if (isupper((unsigned char)name[i])) is_domain = true;
    if (is_domain) {
      if (!valid_domain(name, n)) {
        ref_free(out);
        return berth_err_set(err, BERTH_EINVAL, 0, "invalid reference format");
      }
      out->domain = xasprintf("%.*s", (int)n, name);
      rest = first + 1;
    }
  }
  if (!out->domain) out->domain = xstrdup(DEFAULT_DOMAIN);
  if (!strcmp(out->domain, LEGACY_DOMAIN)) {
    free(out->domain);
    out->domain = xstrdup(DEFAULT_DOMAIN);
  }
  /* Validate path components; uppercase gets Docker's dedicated message. */
  for (const char *p = rest; *p; p++)
    if (isupper((unsigned char)*p)) {
      int r =
          berth_err_set(err, BERTH_EINVAL, 0,
                        "invalid reference format: repository name (%s) must be lowercase", rest);
      ref_free(out);
      return r;
    }
  const char *p = rest;
  do {
    const char *e = strchrnul(p, '/');
    if (!valid_component(p, (size_t)(e - p))) {
      ref_free(out);
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid reference format");
    }
    p = *e ? e + 1 : e;
  } while (*p);
  if (!strcmp(out->domain, DEFAULT_DOMAIN) && !strchr(rest, '/'))
    out->path = xasprintf(OFFICIAL_PREFIX "%s", rest);
  else
    out->path = xstrdup(rest);
  if (strlen(out->domain) + strlen(out->path) + 1 > 255) {
    ref_free(out);
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "invalid reference format: repository name must not be more than 255 characters");
  }
  if (!out->tag && !out->digest && default_tag) out->tag = xstrdup("latest");
  return 0;
}

char *ref_repo_canonical(const struct image_ref *r) {
  return xasprintf("%s/%s", r->domain, r->path);
}

char *ref_repo_familiar(const struct image_ref *r) {
  if (strcmp(r->domain, DEFAULT_DOMAIN)) return xasprintf("%s/%s", r->domain, r->path);
  if (str_has_prefix(r->path, OFFICIAL_PREFIX) && !strchr(r->path + strlen(OFFICIAL_PREFIX), '/'))
    return xstrdup(r->path + strlen(OFFICIAL_PREFIX));
  return xstrdup(r->path);
}

static char *with_suffix(char *repo, const struct image_ref *r) {
  char *s;
  if (r->tag && r->digest)
    s = xasprintf("%s:%s@%s", repo, r->tag, r->digest);
  else if (r->digest)
    s = xasprintf("%s@%s", repo, r->digest);
  else if (r->tag)
    s = xasprintf("%s:%s", repo, r->tag);
  else
    s = xstrdup(repo);
  free(repo);
  return s;
}

char *ref_familiar(const struct image_ref *r) {
  return with_suffix(ref_repo_familiar(r), r);
}
char *ref_canonical(const struct image_ref *r) {
  return with_suffix(ref_repo_canonical(r), r);
}

/* s familiar (with the default tag when asked), or s itself when it is no
 * reference */
static char *familiar_of(const char *s, bool default_tag) {
  struct image_ref r;
  if (ref_parse(s, default_tag, &r, NULL) < 0) return xstrdup(s);
  char *fam = ref_familiar(&r);
  ref_free(&r);
  return fam;
}

char *ref_familiarize(const char *canonical) {
  return familiar_of(canonical, false);
}

char *ref_not_found_name(const char *s) {
  return familiar_of(s, true);
}
