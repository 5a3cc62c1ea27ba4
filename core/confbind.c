#include "confbind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugins/common/logopt.h"
#include "util/util.h"

int conf_parse_size(const char *s, uint64_t *out) {
  return logopt_size(s, out);
}
int conf_bind_text(const struct berth_conf_key *k, void *target, const char *text,
                   struct berth_err *err) {
  char *dst = (char *)target + k->offset;
  switch (k->type) {
  case BERTH_CONF_STRING: memcpy(dst, &text, sizeof text); return 0;
  case BERTH_CONF_BOOL: {
    int v = parse_bool_value(text);
    memcpy(dst, &v, sizeof v);
    return 0;
  }
  case BERTH_CONF_INT: {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
      return berth_err_set(err, BERTH_EINVAL, 0, "'%s' must be an integer, not '%s'", k->name,
                           text);
    int64_t v64 = v;
    memcpy(dst, &v64, sizeof v64);
    return 0;
  }
  case BERTH_CONF_SIZE: {
    uint64_t v;
    if (conf_parse_size(text, &v) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "'%s' must be a size such as 512k, 64m or 1g, not '%s'", k->name, text);
    memcpy(dst, &v, sizeof v);
    return 0;
  }
  default:
    return berth_err_set(err, BERTH_EINVAL, 0, "key '%s': unknown binding type %d", k->name,
                         k->type);
  }
}

bool conf_canonical(const struct berth_conf_key *k, const void *target, char *out, size_t len) {
  const char *src = (const char *)target + k->offset;
  switch (k->type) {
  case BERTH_CONF_STRING: {
    const char *v;
    memcpy(&v, src, sizeof v);
    if (!v) return false;
    snprintf(out, len, "%s", v);
    return true;
  }
  case BERTH_CONF_BOOL: {
    int v;
    memcpy(&v, src, sizeof v);
    snprintf(out, len, "%s", v ? "true" : "false");
    return true;
  }
  case BERTH_CONF_INT: {
    int64_t v;
    memcpy(&v, src, sizeof v);
    snprintf(out, len, "%lld", (long long)v);
    return true;
  }
  case BERTH_CONF_SIZE: {
    uint64_t v;
    memcpy(&v, src, sizeof v);
    snprintf(out, len, "%llu", (unsigned long long)v);
    return true;
  }
  default: return false;
  }
}

int conf_key_at(const struct berth_conf_key *keys, size_t i, struct berth_conf_key *out,
                struct berth_err *err) {
  uint32_t stride = keys[0].struct_size;
  if (stride < sizeof(struct berth_conf_key))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "configuration key table with element size %u (a 1.0 key is %zu): "
                         "build the table with BERTH_CONF_KEY",
                         stride, sizeof(struct berth_conf_key));
  memset(out, 0, sizeof *out);
  memcpy(out, (const char *)keys + i * stride, sizeof *out);
  return 0;
}
