/* json-file: docker's on-disk log format, one JSON object per line:
 *   {"log":"text\n","stream":"stdout","time":"2025-01-01T00:00:00.000000000Z"}
 * with max-size / max-file rotation (<log_path>.1 ... .N).  Uses only libc,
 * so berth-shim can load the same code. */
#include <berth/logger.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/logopt.h"

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
    BERTH_CONF_KEY("max-size", BERTH_CONF_SIZE, struct jf_conf, max_size, "0"),
    BERTH_CONF_KEY("max-file", BERTH_CONF_INT, struct jf_conf, max_file, "1"),
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

static void jf_fini(void *drv) {
  free(drv);
}

/* dockerd's json-file: an unknown key is refused at create (ValidateLogOpt),
 * a bad value only when the log opens, at the start, in its words */
static int apply_opts(const struct berth_kv *opts, size_t n, bool keys_only, uint64_t *max_size,
                      int64_t *max_file, struct berth_err *err) {
  for (size_t i = 0; i < n; i++) {
    const struct berth_kv *kv = BERTH_ELEM(opts, i);
    const char *k = kv->key, *v = kv->value ? kv->value : "";
    if (!strcmp(k, "max-size")) {
      if (!keys_only && logopt_size(v, max_size) < 0)
        return berth_err_set(err, BERTH_EINVAL, 0, "invalid size: '%s'", v);
    } else if (!strcmp(k, "max-file")) {
      if (keys_only) continue;
      if (logopt_count(v, INT64_MIN, max_file) < 0)
        return berth_err_set(err, BERTH_EINVAL, 0, "strconv.Atoi: parsing \"%s\": invalid syntax",
                             v);
      if (*max_file < 1)
        return berth_err_set(err, BERTH_EINVAL, 0, "max-file cannot be less than 1");
    } else if (strcmp(k, "labels") && strcmp(k, "labels-regex") && strcmp(k, "env") &&
               strcmp(k, "env-regex") && strcmp(k, "tag") && strcmp(k, "compress")) {
      return berth_err_set(err, BERTH_EINVAL, 0, "unknown log opt '%s' for json-file log driver",
                           k);
    }
  }
  return 0;
}

static int jf_validate(void *drv, const struct berth_kv *opts, size_t n, struct berth_err *err) {
  struct jf_drv *d = drv;
  uint64_t ms = d->conf.max_size;
  int64_t mf = d->conf.max_file;
  return apply_opts(opts, n, true, &ms, &mf, err);
}

static int jf_open(void *drv, const struct berth_log_info *info, void **sinkp,
                   struct berth_err *err) {
  struct jf_drv *d = drv;
  if (!info->log_path) return berth_err_set(err, BERTH_EINVAL, 0, "json-file: no log path");
  struct jf_sink *s = calloc(1, sizeof *s);
  if (!s) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  s->max_size = d->conf.max_size;
  s->max_file = d->conf.max_file;
  int r = apply_opts(info->opts, info->n_opts, false, &s->max_size, &s->max_file, err);
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
    return berth_err_set(err, BERTH_EINTERNAL, e, "json-file: open %s: %s", info->log_path,
                         strerror(e));
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
    if (i == 1)
      snprintf(from, n, "%s", s->path);
    else
      snprintf(from, n, "%s.%lld", s->path, (long long)(i - 1));
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
    case '"':
      out[o++] = '\\';
      out[o++] = '"';
      break;
    case '\\':
      out[o++] = '\\';
      out[o++] = '\\';
      break;
    case '\n':
      out[o++] = '\\';
      out[o++] = 'n';
      break;
    case '\r':
      out[o++] = '\\';
      out[o++] = 'r';
      break;
    case '\t':
      out[o++] = '\\';
      out[o++] = 't';
      break;
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
  if (n < 0)
    return berth_err_set(err, BERTH_EINTERNAL, errno, "json-file: write: %s", strerror(errno));
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

/* ---------------- reading (berth logs) ---------------- */

struct jf_line {
  char *text; /* unescaped, without the trailing newline */
  size_t len;
  int stream;
  int64_t time_ns;
  int partial;
};

struct jf_reader {
  char *path;
  struct berth_log_read_cfg cfg;
  struct jf_line *pending;
  size_t n_pending, next;
  struct jf_line cur;
  FILE *f; /* the live file, for follow */
  ino_t ino;
  char *buf;
  size_t cap;
};

static int64_t parse_time(const char *s) {
  struct tm tm = {0};
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p) return 0;
  int64_t frac = 0;
  int digits = 0;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 9) frac = frac * 10 + (*p - '0');
  for (; digits < 9; digits++)
    frac *= 10;
  return (int64_t)timegm(&tm) * 1000000000LL + frac;
}

/* Value of "key":"..." unescaped into a new string. */
static char *json_field(const char *line, const char *key, size_t *len) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(line, pat);
  if (!p) return NULL;
  p += strlen(pat);
  char *out = malloc(strlen(p) + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (; *p && *p != '"'; p++) {
    if (*p != '\\') {
      out[o++] = *p;
      continue;
    }
    p++;
    switch (*p) {
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 't': out[o++] = '\t'; break;
    case 'b': out[o++] = '\b'; break;
    case 'f': out[o++] = '\f'; break;
    case 'u': {
      unsigned v = 0;
      for (int i = 1; i <= 4 && p[i]; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
      }
      if (v < 0x80)
        out[o++] = (char)v;
      else if (v < 0x800) {
        out[o++] = (char)(0xc0 | (v >> 6));
        out[o++] = (char)(0x80 | (v & 0x3f));
      } else {
        out[o++] = (char)(0xe0 | (v >> 12));
        out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
        out[o++] = (char)(0x80 | (v & 0x3f));
      }
      p += 4;
      break;
    }
    case 0: p--; break;
    default: out[o++] = *p;
    }
  }
  out[o] = 0;
  *len = o;
  return out;
}

static int parse_line(const char *raw, struct jf_line *l) {
  size_t len, tl;
  char *text = json_field(raw, "log", &len);
  if (!text) return -1;
  char *stream = json_field(raw, "stream", &tl);
  char *ts = json_field(raw, "time", &tl);
  l->partial = !(len && text[len - 1] == '\n');
  if (!l->partial) text[--len] = 0;
  l->text = text;
  l->len = len;
  l->stream = stream && !strcmp(stream, "stderr") ? 2 : 1;
  l->time_ns = ts ? parse_time(ts) : 0;
  free(stream);
  free(ts);
  return 0;
}

static bool in_window(const struct berth_log_read_cfg *c, int64_t t) {
  return (!c->since_ns || t >= c->since_ns) && (!c->until_ns || t <= c->until_ns);
}

static void add_pending(struct jf_reader *r, struct jf_line *l) {
  if (!in_window(&r->cfg, l->time_ns)) {
    free(l->text);
    return;
  }
  struct jf_line *p = realloc(r->pending, (r->n_pending + 1) * sizeof *p);
  if (!p) {
    free(l->text);
    return;
  }
  r->pending = p;
  r->pending[r->n_pending++] = *l;
}

static void read_file_lines(struct jf_reader *r, FILE *f) {
  ssize_t n;
  while ((n = getline(&r->buf, &r->cap, f)) > 0) {
    if (r->buf[n - 1] != '\n') { /* a line still being written */
      fseeko(f, -n, SEEK_CUR);
      break;
    }
    struct jf_line l;
    if (parse_line(r->buf, &l) == 0) add_pending(r, &l);
  }
}

static int jf_read_open(void *drv, const struct berth_log_info *info,
                        const struct berth_log_read_cfg *cfg, void **out, struct berth_err *err) {
  struct jf_drv *d = drv;
  if (!info->log_path) return berth_err_set(err, BERTH_EINVAL, 0, "json-file: no log path");
  struct jf_reader *r = calloc(1, sizeof *r);
  if (!r) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  r->path = strdup(info->log_path);
  r->cfg = *cfg;
  (void)d;
  /* rotated files are <path>.1 (newest) ... <path>.N, whatever max-file the
   * container was started with: find how many there are */
  size_t plen = strlen(r->path) + 24;
  char *rot = malloc(plen);
  int64_t n_rot = 0;
  while (rot && n_rot < 100000) {
    snprintf(rot, plen, "%s.%lld", r->path, (long long)(n_rot + 1));
    if (access(rot, F_OK) < 0) break;
    n_rot++;
  }
  for (int64_t i = n_rot; rot && i >= 1; i--) {
    snprintf(rot, plen, "%s.%lld", r->path, (long long)i);
    FILE *f = fopen(rot, "re");
    if (!f) continue;
    read_file_lines(r, f);
    fclose(f);
  }
  free(rot);
  r->f = fopen(r->path, "re");
  if (r->f) {
    struct stat st;
    if (fstat(fileno(r->f), &st) == 0) r->ino = st.st_ino;
    read_file_lines(r, r->f);
  }
  if (cfg->tail >= 0 && (size_t)cfg->tail < r->n_pending) {
    size_t drop = r->n_pending - (size_t)cfg->tail;
    for (size_t i = 0; i < drop; i++)
      free(r->pending[i].text);
    memmove(r->pending, r->pending + drop, (size_t)cfg->tail * sizeof *r->pending);
    r->n_pending = (size_t)cfg->tail;
  }
  *out = r;
  return 0;
}

static void set_msg(struct berth_log_msg *m, const struct jf_line *l) {
  m->struct_size = sizeof *m;
  m->stream = (uint32_t)l->stream;
  m->time_ns = l->time_ns;
  m->line = l->text;
  m->len = l->len;
  m->partial = (uint32_t)l->partial;
}

static int jf_read_next(void *rp, struct berth_log_msg *out, int timeout_ms,
                        struct berth_err *err) {
  struct jf_reader *r = rp;
  free(r->cur.text);
  r->cur.text = NULL;
  if (r->next < r->n_pending) {
    r->cur = r->pending[r->next];
    r->pending[r->next++].text = NULL;
    set_msg(out, &r->cur);
    return 0;
  }
  if (!r->cfg.follow) return BERTH_LOG_EOF;
  for (int waited = 0;; waited += 50) {
    if (!r->f) {
      r->f = fopen(r->path, "re");
      if (r->f) {
        struct stat st;
        if (fstat(fileno(r->f), &st) == 0) r->ino = st.st_ino;
      }
    }
    if (r->f) {
      clearerr(r->f);
      ssize_t n = getline(&r->buf, &r->cap, r->f);
      if (n > 0 && r->buf[n - 1] == '\n') {
        struct jf_line l;
        if (parse_line(r->buf, &l) < 0) continue;
        if (!in_window(&r->cfg, l.time_ns)) {
          free(l.text);
          if (r->cfg.until_ns && l.time_ns > r->cfg.until_ns) return BERTH_LOG_EOF;
          continue;
        }
        r->cur = l;
        set_msg(out, &r->cur);
        return 0;
      }
      if (n > 0) fseeko(r->f, -n, SEEK_CUR);
      /* rotated: the live file is a new inode */
      struct stat st;
      if (stat(r->path, &st) == 0 && st.st_ino != r->ino) {
        fclose(r->f);
        r->f = NULL;
        continue;
      }
    }
    if (waited >= timeout_ms) return BERTH_LOG_AGAIN;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static void jf_read_close(void *rp) {
  struct jf_reader *r = rp;
  if (!r) return;
  for (size_t i = r->next; i < r->n_pending; i++)
    free(r->pending[i].text);
  free(r->pending);
  free(r->cur.text);
  if (r->f) fclose(r->f);
  free(r->buf);
  free(r->path);
  free(r);
}

static const struct berth_logger_ops jf_ops = {
    .struct_size = sizeof(struct berth_logger_ops),
    .features = BERTH_LOG_F_READ,
    .open = jf_open,
    .log = jf_log,
    .close = jf_close,
    .validate_opts = jf_validate,
    .read_open = jf_read_open,
    .read_next = jf_read_next,
    .read_close = jf_read_close,
};

BERTH_PLUGIN_DEFINE(json_file, BERTH_KIND_LOGGER, "json-file", "1.0.0",
                    "docker's JSON lines log files with rotation", BERTH_PLUGIN_F_THREADSAFE,
                    jf_init, jf_fini, &jf_ops)
