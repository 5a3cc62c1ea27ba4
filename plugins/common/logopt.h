/* Parsing docker's --log-opt values, shared by the log drivers in this tree
 * (header-only: the drivers link nothing of berth). */
#ifndef BERTH_PLUGINS_LOGOPT_H
#define BERTH_PLUGINS_LOGOPT_H

#include <berth/logger.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "10m", "64k", "1.5g", "512" (bytes; k/m/g are powers of 1024, a "b"
 * may follow, as docker's units.RAMInBytes): the one size parser, used by
 * the host's conf_bind too.  -1 when not a size, negative or over 2^64. */
static inline int logopt_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || !(v >= 0) || v > 1e30) return -1; /* also nan, inf */
  uint64_t mult = 1;
  switch (*end) {
  case 0: break;
  case 'k':
  case 'K': mult = 1ull << 10; break;
  case 'm':
  case 'M': mult = 1ull << 20; break;
  case 'g':
  case 'G': mult = 1ull << 30; break;
  default: return -1;
  }
  if (mult > 1) end++;
  if (*end == 'b' || *end == 'B') end++;
  if (*end || v * (double)mult >= 18446744073709551616.0) return -1; /* refused, not wrapped */
  *out = (uint64_t)(v * (double)mult);
  return 0;
}

/* a count >= min, or -1 */
static inline int logopt_count(const char *s, int64_t min, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min) return -1;
  *out = v;
  return 0;
}

/* "true"/"1" or "false"/"0", as Go's strconv.ParseBool; -1 otherwise */
static inline int logopt_bool(const char *s, int *out) {
  static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (!strcmp(s, t[i])) return *out = 1, 0;
    if (!strcmp(s, f[i])) return *out = 0, 0;
  }
  return -1;
}
/* docker's log tag template ({{.ID}} {{.FullID}} {{.Name}} {{.ImageID}}
 * {{.ImageFullID}} {{.ImageName}} {{.DaemonName}}) on a container's fields */
static inline void logopt_tag(const char *tmpl, const struct berth_log_info *in, char *out,
                              size_t len) {
  const char *img = in->image_id ? in->image_id : "";
  if (!strncmp(img, "sha256:", 7)) img += 7;
  const struct {
    const char *key, *val;
    int max;
  } f[] = {{"{{.ID}}", in->container_id, 12},    {"{{.FullID}}", in->container_id, 0},
           {"{{.Name}}", in->container_name, 0}, {"{{.ImageID}}", img, 12},
           {"{{.ImageFullID}}", img, 0},         {"{{.ImageName}}", in->image_name, 0},
           {"{{.DaemonName}}", "berth", 0}};
  size_t o = 0;
  while (*tmpl && o + 1 < len) {
    size_t i, n = sizeof f / sizeof f[0];
    for (i = 0; i < n; i++)
      if (!strncmp(tmpl, f[i].key, strlen(f[i].key))) break;
    if (i == n) {
      out[o++] = *tmpl++;
      continue;
    }
    const char *v = f[i].val ? f[i].val : "";
    int vl = (int)strlen(v);
    if (f[i].max && vl > f[i].max) vl = f[i].max;
    o += (size_t)snprintf(out + o, len - o, "%.*s", vl, v);
    if (o >= len) o = len - 1;
    tmpl += strlen(f[i].key);
  }
  out[o] = 0;
}

#endif
