/* json-file: docker's on-disk log format, one JSON object per line:
 *   {"log":"text\n","stream":"stdout","time":"2025-01-01T00:00:00.000000000Z"}
 * with max-size / max-file rotation (<log_path>.1 ... .N).  Uses only libc,
 * so berth-shim can load the same code. */
#include <berth/logger.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct jf_conf {
  uint64_t max_size; /* 0: unlimited */
  int64_t max_file;
};

struct jf_drv {
  const struct berth_host *host;
  struct jf_conf conf;
};

struct jf_sink {
  int fd;
  char *path;
  uint64_t size, max_size;
  int64_t max_file;
};

static const struct berth_conf_key jf_keys[] = {
    {"max-size", BERTH_CONF_SIZE, offsetof(struct jf_conf, max_size), "0"},
    {"max-file", BERTH_CONF_INT, offsetof(struct jf_conf, max_file), "1"},
};

static int jf_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  struct jf_drv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, jf_keys, sizeof jf_keys / sizeof jf_keys[0], &d->conf, err);
  if (r == 0 && d->conf.max_file < 1)
    r = berth_err_set(err, BERTH_EINVAL, 0, "max-file must be at least 1");
  if (r < 0) {
    free(d);
    return r;
  }
  *drv = d;
  return 0;
}

static void jf_fini(void *drv) { free(drv); }

static int parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return -1;
  switch (*end) {
  case 0: break;
  case 'k': case 'K': v <<= 10; end++; break;
  case 'm': case 'M': v <<= 20; end++; break;
  case 'g': case 'G': v <<= 30; end++; break;
  default: return -1;
  }
  if (*end) return -1;
  *out = v;
  return 0;
}

static int apply_opts(const struct berth_kv *opts, size_t n, uint64_t *max_size, int64_t *max_file,
                      struct berth_err *err) {
  for (size_t i = 0; i < n; i++) {
    const char *k = opts[i].key, *v = opts[i].value ? opts[i].value : "";
    if (!strcmp(k, "max-size")) {
      if (parse_size(v, max_size) < 0)
        return berth_err_set(err, BERTH_EINVAL, 0, "invalid max-size: %s", v);
    } else if (!strcmp(k, "max-file")) {
      char *end;
      long long f = strtoll(v, &end, 10);
      if (*end || f < 1) return berth_err_set(err, BERTH_EINVAL, 0, "invalid max-file: %s", v);
      *max_file = f;
    } else if (strcmp(k, "labels") && strcmp(k, "env") && strcmp(k, "tag") && strcmp(k, "compress")) {
      return berth_err_set(err, BERTH_EINVAL, 0, "unknown log opt '%s' for json-file log driver", k);
    }
  }
  if (*max_file > 1 && *max_size == 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "max-file cannot be set without max-size");
  return 0;
}

static int jf_validate(void *drv, const struct berth_kv *opts, size_t n, struct berth_err *err) {
  struct jf_drv *d = drv;
  uint64_t ms = d->conf.max_size;
  int64_t mf = d->conf.max_file;
  return apply_opts(opts, n, &ms, &mf, err);
}

static int jf_open(void *drv, const struct berth_log_info *info, void **sinkp, struct berth_err *err) {
  struct jf_drv *d = drv;
  if (!info->log_path) return berth_err_set(err, BERTH_EINVAL, 0, "json-file: no log path");
  struct jf_sink *s = calloc(1, sizeof *s);
  if (!s) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  s->max_size = d->conf.max_size;
  s->max_file = d->conf.max_file;
  int r = apply_opts(info->opts, info->n_opts, &s->max_size, &s->max_file, err);
  if (r < 0) {
    free(s);
    return r;
  }
  s->path = strdup(info->log_path);
  s->fd = open(info->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (s->fd < 0 || !s->path) {
    int e = errno;
    free(s->path);
    free(s);
    return berth_err_set(err, BERTH_EINTERNAL, e, "json-file: open %s: %s", info->log_path, strerror(e));
  }
  struct stat st;
  if (fstat(s->fd, &st) == 0) s->size = (uint64_t)st.st_size;
  *sinkp = s;
  return 0;
}

static void rotate(struct jf_sink *s) {
  size_t n = strlen(s->path) + 24;
  char *from = malloc(n), *to = malloc(n);
  if (!from || !to) goto out;
  for (int64_t i = s->max_file - 1; i >= 1; i--) {
    snprintf(to, n, "%s.%lld", s->path, (long long)i);
    if (i == 1) snprintf(from, n, "%s", s->path);
    else snprintf(from, n, "%s.%lld", s->path, (long long)(i - 1));
    rename(from, to);
  }
  if (s->max_file == 1) {
    if (ftruncate(s->fd, 0) == 0) s->size = 0;
    goto out;
  }
  int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd >= 0) {
    close(s->fd);
    s->fd = fd;
    s->size = 0;
  }
out:
  free(from);
  free(to);
}

static size_t escape(char *out, const char *in, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    switch (c) {
    case '"': out[o++] = '\\'; out[o++] = '"'; break;
    case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
    case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
    case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
    case '\t': out[o++] = '\\'; out[o++] = 't'; break;
    default:
      if (c < 0x20) {
        memcpy(out + o, "\\u00", 4);
        o += 4;
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
      } else {
        out[o++] = (char)c;
      }
    }
  }
  return o;
}

static int jf_log(void *sinkp, const struct berth_log_msg *m, struct berth_err *err) {
  struct jf_sink *s = sinkp;
  char ts[64], base[32];
  time_t sec = (time_t)(m->time_ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&sec, &tm);
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(ts, sizeof ts, "%s.%09lldZ", base, (long long)(m->time_ns % 1000000000LL));
  size_t cap = m->len * 6 + 128;
  char *buf = malloc(cap);
  if (!buf) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  size_t o = 0;
  memcpy(buf, "{\"log\":\"", 8);
  o = 8;
  o += escape(buf + o, m->line, m->len);
  if (!m->partial) {
    memcpy(buf + o, "\\n", 2);
    o += 2;
  }
  o += (size_t)snprintf(buf + o, cap - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                        m->stream == 2 ? "stderr" : "stdout", ts);
  if (s->max_size && s->size + o > s->max_size && s->size > 0) rotate(s);
  ssize_t n = write(s->fd, buf, o);
  free(buf);
  if (n < 0) return berth_err_set(err, BERTH_EINTERNAL, errno, "json-file: write: %s", strerror(errno));
  s->size += (uint64_t)n;
  return 0;
}

static int jf_close(void *sinkp, struct berth_err *err) {
  struct jf_sink *s = sinkp;
  if (!s) return 0;
  int r = (fsync(s->fd) < 0 && errno != EINVAL) ? -1 : 0;
  close(s->fd);
  free(s->path);
  free(s);
  return r < 0 ? berth_err_set(err, BERTH_EINTERNAL, errno, "json-file: fsync") : 0;
}

static const struct berth_logger_ops jf_ops = {
    .struct_size = sizeof(struct berth_logger_ops),
    .open = jf_open,
    .log = jf_log,
    .close = jf_close,
    .validate_opts = jf_validate,
};

BERTH_PLUGIN_DEFINE(json_file, BERTH_KIND_LOGGER, "json-file", "1.0.0",
                    "docker's JSON lines log files with rotation", BERTH_PLUGIN_F_THREADSAFE, jf_init,
                    jf_fini, &jf_ops)
