/* local: a compact binary log with compressed rotation, like docker's
 * "local" driver (whose on-disk format is its own; this one is too).
 *
 * <dir of the container's log path>/local-logs/container.log holds records
 *   u32 size | i64 time_ns | u8 stream | u8 partial | line | u32 size
 * (little-endian; size = 10 + length of line), so a reader finds the last
 * N records by walking back from the end without reading the rest.  At
 * max-size the file becomes container.log.1 (gzip-compressed to .1.gz
 * unless compress=false), older ones shift up, max-file files are kept.
 * Options (daemon.conf log.local, or --log-opt): max-size (20m), max-file
 * (5), compress (true).  Loaded by berth-shim (writing) and berthd
 * (reading); uses libc and zlib only. */
#include <berth/logger.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/logopt.h"

#define HDR 14u  /* u32 size, i64 time, u8 stream, u8 partial */
#define TRL 4u   /* u32 size */
#define META 10u /* what size counts besides the line */
#define MAX_LINE (1u << 24)

struct lconf {
  uint64_t max_size;
  int64_t max_file;
  int compress;
};

struct ldrv {
  const struct berth_host *host;
  struct lconf conf;
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("max-size", BERTH_CONF_SIZE, struct lconf, max_size, "20m"),
    BERTH_CONF_KEY("max-file", BERTH_CONF_INT, struct lconf, max_file, "5"),
    BERTH_CONF_KEY("compress", BERTH_CONF_BOOL, struct lconf, compress, "true"),
};

static int l_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  struct ldrv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r == 0 && d->conf.max_file < 1)
    r = berth_err_set(err, BERTH_EINVAL, 0, "max-file must be at least 1");
  if (r < 0) {
    free(d);
    return r;
  }
  *drv = d;
  return 0;
}

static void l_fini(void *drv) {
  free(drv);
}

/* dockerd's local driver: an unknown key is refused at create, a bad value
 * when the log opens (the start), each in its words */
static int apply_opts(const struct berth_kv *opts, size_t n, bool keys_only, struct lconf *c,
                      struct berth_err *err) {
  for (size_t i = 0; i < n; i++) {
    const struct berth_kv *kv = BERTH_ELEM(opts, i);
    const char *k = kv->key, *v = kv->value ? kv->value : "";
    if (strcmp(k, "max-size") && strcmp(k, "max-file") && strcmp(k, "compress"))
      return berth_err_set(err, BERTH_EINVAL, 0, "unknown log opt '%s' for log driver local", k);
    if (keys_only) continue;
    if (!strcmp(k, "max-size") && logopt_size(v, &c->max_size) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "invalid value for max-size: %s: invalid size: '%s'", v, v);
    if (!strcmp(k, "max-file") && logopt_count(v, INT64_MIN, &c->max_file) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "invalid value for max-file: %s: strconv.Atoi: parsing \"%s\": invalid "
                           "syntax",
                           v, v);
    if (!strcmp(k, "compress") && logopt_bool(v, &c->compress) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "error reading compress log option: strconv.ParseBool: parsing \"%s\": "
                           "invalid syntax",
                           v);
  }
  if (keys_only) return 0;
  if (c->max_file < 0) return berth_err_set(err, BERTH_EINVAL, 0, "max-file cannot be less than 0");
  if (c->compress && c->max_file <= 1)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "compression cannot be enabled when max file count is 1");
  return 0;
}

static int l_validate(void *drv, const struct berth_kv *opts, size_t n, struct berth_err *err) {
  struct lconf c = ((struct ldrv *)drv)->conf;
  return apply_opts(opts, n, true, &c, err);
}

/* <dir of log_path>/local-logs/container.log */
static int live_path(const struct berth_log_info *info, char *out, size_t len,
                     struct berth_err *err) {
  const char *lp = info->log_path;
  const char *slash = lp ? strrchr(lp, '/') : NULL;
  if (!slash) return berth_err_set(err, BERTH_EINVAL, 0, "local: no log path");
  if ((size_t)snprintf(out, len, "%.*s/local-logs", (int)(slash - lp), lp) >= len)
    return berth_err_set(err, BERTH_EINVAL, 0, "local: log path too long");
  if (mkdir(out, 0750) < 0 && errno != EEXIST)
    return berth_err_set(err, BERTH_EINTERNAL, errno, "local: mkdir %s: %s", out, strerror(errno));
  strncat(out, "/container.log", len - strlen(out) - 1);
  return 0;
}

/* ---------------- writing (berth-shim) ---------------- */

struct lsink {
  struct lconf conf;
  int fd;
  uint64_t size;
  char path[PATH_MAX];
};

static int open_live(struct lsink *s, struct berth_err *err) {
  s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (s->fd < 0)
    return berth_err_set(err, BERTH_EINTERNAL, errno, "local: open %s: %s", s->path,
                         strerror(errno));
  struct stat st;
  s->size = fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
  return 0;
}

static int l_open(void *drv, const struct berth_log_info *info, void **out, struct berth_err *err) {
  struct lsink *s = calloc(1, sizeof *s);
  if (!s) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  s->conf = ((struct ldrv *)drv)->conf;
  int r = apply_opts(info->opts, info->n_opts, false, &s->conf, err);
  if (r == 0) r = live_path(info, s->path, sizeof s->path, err);
  if (r == 0) r = open_live(s, err);
  if (r < 0) {
    free(s);
    return r;
  }
  *out = s;
  return 0;
}

/* gzip from into to (via a temporary), then drop from */
static void compress_file(const char *from, const char *to) {
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", to);
  int in = open(from, O_RDONLY | O_CLOEXEC);
  gzFile gz = in >= 0 ? gzopen(tmp, "wb6") : NULL;
  bool ok = gz != NULL;
  char buf[65536];
  ssize_t n;
  while (ok && (n = read(in, buf, sizeof buf)) > 0)
    ok = gzwrite(gz, buf, (unsigned)n) == (int)n;
  if (gz && gzclose(gz) != Z_OK) ok = false;
  if (in >= 0) close(in);
  if (ok && rename(tmp, to) == 0)
    unlink(from);
  else
    unlink(tmp); /* keep the plain file: still readable */
}

static void rotated_name(const struct lsink *s, int64_t i, bool gz, char *out, size_t len) {
  snprintf(out, len, "%s.%lld%s", s->path, (long long)i, gz ? ".gz" : "");
}

static void rotate(struct lsink *s) {
  char from[PATH_MAX + 32], to[PATH_MAX + 32];
  if (s->conf.max_file <= 1) {
    if (ftruncate(s->fd, 0) == 0) s->size = 0;
    return;
  }
  for (int gz = 0; gz < 2; gz++) { /* the oldest goes */
    rotated_name(s, s->conf.max_file - 1, gz, to, sizeof to);
    unlink(to);
  }
  for (int64_t i = s->conf.max_file - 2; i >= 1; i--)
    for (int gz = 0; gz < 2; gz++) {
      rotated_name(s, i, gz, from, sizeof from);
      rotated_name(s, i + 1, gz, to, sizeof to);
      rename(from, to);
    }
  rotated_name(s, 1, false, to, sizeof to);
  if (rename(s->path, to) < 0) return;
  close(s->fd);
  struct berth_err e;
  if (open_live(s, &e) < 0) s->fd = -1;
  if (s->conf.compress) {
    rotated_name(s, 1, true, from, sizeof from);
    compress_file(to, from);
  }
}

static int l_log(void *sink, const struct berth_log_msg *m, struct berth_err *err) {
  struct lsink *s = sink;
  size_t len = m->len < MAX_LINE ? m->len : MAX_LINE;
  uint32_t size = (uint32_t)(META + len);
  if (s->conf.max_size && s->size && s->size + HDR + len + TRL > s->conf.max_size) rotate(s);
  if (s->fd < 0) return berth_err_set(err, BERTH_EINTERNAL, 0, "local: no log file");
  unsigned char hdr[HDR];
  int64_t t = m->time_ns;
  memcpy(hdr, &size, 4);
  memcpy(hdr + 4, &t, 8);
  hdr[12] = (unsigned char)m->stream;
  hdr[13] = (unsigned char)(m->partial != 0);
  struct iovec iov[3] = {{hdr, HDR}, {(void *)m->line, len}, {&size, TRL}};
  ssize_t w = writev(s->fd, iov, 3);
  if (w < 0) return berth_err_set(err, BERTH_EINTERNAL, errno, "local: write: %s", strerror(errno));
  s->size += (uint64_t)w;
  return 0;
}

static int l_close(void *sink, struct berth_err *err) {
  struct lsink *s = sink;
  (void)err;
  if (s->fd >= 0) close(s->fd);
  free(s);
  return 0;
}

/* ---------------- reading (berthd) ---------------- */

struct lreader {
  struct berth_log_read_cfg cfg;
  char path[PATH_MAX];
  int n_files, cur; /* files oldest first: rotated (gzip or plain), then live */
  char **files;
  gzFile gz;    /* the current rotated file */
  int fd;       /* the live file, once reached */
  off_t pos;    /* where in it */
  int64_t skip; /* records to pass over in the current file (tail) */
  /* the last record read (its time, and how many before it had that time):
   * after a rotation the files are listed again and read from there on */
  int64_t last_t, last_same, resume_same;
  bool resuming;
  unsigned char *line;
  size_t cap;
};

static void list_files(struct lreader *r) {
  char p[PATH_MAX + 32];
  int n = 0;
  for (int i = 1; i < 1000; i++, n++) {
    snprintf(p, sizeof p, "%s.%d.gz", r->path, i);
    if (access(p, F_OK) == 0) continue;
    snprintf(p, sizeof p, "%s.%d", r->path, i);
    if (access(p, F_OK) < 0) break;
  }
  r->files = calloc((size_t)n + 1, sizeof *r->files);
  for (int i = n; r->files && i >= 1; i--) {
    snprintf(p, sizeof p, "%s.%d.gz", r->path, i);
    if (access(p, F_OK) < 0) snprintf(p, sizeof p, "%s.%d", r->path, i);
    r->files[r->n_files++] = strdup(p);
  }
  if (r->files) r->files[r->n_files++] = strdup(r->path); /* the live one, last */
}

/* one record from a rotated file: 0, 1 at its end (or a torn record) */
static int next_gz(struct lreader *r, uint32_t *size, unsigned char hdr[HDR]) {
  if (gzread(r->gz, hdr, HDR) != (int)HDR) return 1;
  memcpy(size, hdr, 4);
  if (*size < META || *size - META > MAX_LINE) return 1;
  size_t len = *size - META;
  if (len + TRL > r->cap) {
    unsigned char *nl = realloc(r->line, len + TRL);
    if (!nl) return 1;
    r->line = nl, r->cap = len + TRL;
  }
  return gzread(r->gz, r->line, (unsigned)(len + TRL)) == (int)(len + TRL) ? 0 : 1;
}

/* one record from the live file at its offset: 0, 1 at the end (or at a
 * record still being written: read again later) */
static int next_live(struct lreader *r, uint32_t *size, unsigned char hdr[HDR]) {
  off_t *pos = &r->pos;
  if (pread(r->fd, hdr, HDR, *pos) != (ssize_t)HDR) return 1;
  memcpy(size, hdr, 4);
  if (*size < META || *size - META > MAX_LINE) return 1;
  size_t len = *size - META;
  if (len + TRL > r->cap) {
    unsigned char *nl = realloc(r->line, len + TRL);
    if (!nl) return 1;
    r->line = nl, r->cap = len + TRL;
  }
  if (pread(r->fd, r->line, len + TRL, *pos + HDR) != (ssize_t)(len + TRL)) return 1;
  *pos += (off_t)(HDR + len + TRL);
  return 0;
}

/* records in a rotated file */
static int64_t count_gz(struct lreader *r, const char *file) {
  r->gz = gzopen(file, "rb");
  int64_t n = 0;
  uint32_t size;
  unsigned char hdr[HDR];
  while (r->gz && next_gz(r, &size, hdr) == 0)
    n++;
  if (r->gz) gzclose(r->gz);
  r->gz = NULL;
  return n;
}

/* the offset of the last want records of the live file; *got says how
 * many there are, when fewer */
static off_t live_tail(int fd, int64_t want, int64_t *got) {
  struct stat st;
  off_t at = fstat(fd, &st) == 0 ? st.st_size : 0;
  *got = 0;
  while (*got < want && at >= (off_t)(HDR + TRL)) {
    uint32_t size;
    if (pread(fd, &size, TRL, at - TRL) != (ssize_t)TRL || size < META || (off_t)(size + 8) > at)
      break;
    at -= (off_t)(size + 8);
    (*got)++;
  }
  return at;
}

/* where reading starts: the whole log, or its last cfg.tail records */
static void seek_tail(struct lreader *r) {
  int last = r->n_files - 1;
  r->cur = 0;
  if (r->cfg.tail < 0) return;
  int64_t got, need = r->cfg.tail;
  off_t at = r->fd >= 0 ? live_tail(r->fd, need, &got) : 0;
  if (r->fd < 0) got = 0;
  if (got == need || last == 0) {
    r->cur = last, r->pos = at;
    return;
  }
  need -= got;
  for (int i = last - 1; i >= 0; i--) {
    int64_t c = count_gz(r, r->files[i]);
    if (c >= need) {
      r->cur = i, r->skip = c - need;
      return;
    }
    need -= c;
  }
}

static int l_read_open(void *drv, const struct berth_log_info *info,
                       const struct berth_log_read_cfg *cfg, void **out, struct berth_err *err) {
  (void)drv;
  struct lreader *r = calloc(1, sizeof *r);
  if (!r) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  int rc = live_path(info, r->path, sizeof r->path, err);
  if (rc < 0) {
    free(r);
    return rc;
  }
  r->cfg = *cfg;
  r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0 && errno != ENOENT) {
    rc = berth_err_set(err, BERTH_EINTERNAL, errno, "local: open %s: %s", r->path, strerror(errno));
    free(r);
    return rc;
  }
  list_files(r);
  if (!r->files) {
    if (r->fd >= 0) close(r->fd);
    free(r);
    return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  }
  seek_tail(r);
  *out = r;
  return 0;
}

/* at the end of the live file: a rotation (the path is another file now)
 * moves on to the new one; else wait for more, when following */
static int live_end(struct lreader *r, int timeout_ms) {
  struct stat a, b;
  if (r->fd < 0 || stat(r->path, &a) < 0 || fstat(r->fd, &b) < 0 || a.st_ino != b.st_ino) {
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) { /* rotated, maybe more than once: list the files again */
      if (r->fd >= 0) close(r->fd);
      r->fd = fd, r->pos = 0;
      for (int i = 0; i < r->n_files; i++)
        free(r->files[i]);
      free(r->files);
      r->files = NULL, r->n_files = 0;
      list_files(r);
      if (!r->files) return BERTH_LOG_EOF;
      r->cur = 0, r->skip = 0;
      r->resuming = true, r->resume_same = r->last_same + 1;
      return 0;
    }
  }
  if (!r->cfg.follow) return BERTH_LOG_EOF;
  poll(NULL, 0, timeout_ms < 100 ? timeout_ms : 100);
  return BERTH_LOG_AGAIN;
}

/* the next record of whichever file is current: 0, or EOF/AGAIN */
static int next_record(struct lreader *r, uint32_t *size, unsigned char hdr[HDR], int timeout_ms) {
  for (;;) {
    if (r->cur < r->n_files - 1) { /* a rotated file */
      if (!r->gz && !(r->gz = gzopen(r->files[r->cur], "rb"))) {
        r->cur++, r->skip = 0;
        continue;
      }
      if (next_gz(r, size, hdr) == 0) return 0;
      gzclose(r->gz);
      r->gz = NULL;
      r->cur++, r->skip = 0;
      if (r->cur == r->n_files - 1 && r->fd >= 0) r->pos = 0;
      continue;
    }
    if (r->fd >= 0 && next_live(r, size, hdr) == 0) return 0;
    int e = live_end(r, timeout_ms);
    if (e) return e;
  }
}

static int l_read_next(void *reader, struct berth_log_msg *m, int timeout_ms,
                       struct berth_err *err) {
  struct lreader *r = reader;
  (void)err;
  for (;;) {
    uint32_t size;
    unsigned char hdr[HDR];
    int e = next_record(r, &size, hdr, timeout_ms);
    if (e) return e;
    int64_t t;
    memcpy(&t, hdr + 4, 8);
    if (r->resuming) { /* pass over what was read before the rotation */
      if (t < r->last_t || (t == r->last_t && r->resume_same-- > 0)) continue;
      r->resuming = false;
    }
    r->last_same = t == r->last_t ? r->last_same + 1 : 0;
    r->last_t = t;
    if (r->skip > 0) {
      r->skip--;
      continue;
    }
    if ((r->cfg.since_ns && t < r->cfg.since_ns) || (r->cfg.until_ns && t > r->cfg.until_ns))
      continue;
    *m = (struct berth_log_msg){sizeof *m, hdr[12], t, (const char *)r->line, size - META, hdr[13]};
    return 0;
  }
}

static void l_read_close(void *reader) {
  struct lreader *r = reader;
  if (r->gz) gzclose(r->gz);
  if (r->fd >= 0) close(r->fd);
  for (int i = 0; i < r->n_files; i++)
    free(r->files[i]);
  free(r->files);
  free(r->line);
  free(r);
}

static const struct berth_logger_ops l_ops = {
    .struct_size = sizeof(struct berth_logger_ops),
    .features = BERTH_LOG_F_READ,
    .open = l_open,
    .log = l_log,
    .close = l_close,
    .validate_opts = l_validate,
    .read_open = l_read_open,
    .read_next = l_read_next,
    .read_close = l_read_close,
};

/* thread-safe: sinks and readers are each their own, settings read-only */
BERTH_PLUGIN(local, .kind = BERTH_KIND_LOGGER, .name = "local", .version = "1.0.0",
             .description = "compact binary log, compressed rotation",
             .flags = BERTH_PLUGIN_F_THREADSAFE, .init = l_init, .fini = l_fini, .ops = &l_ops);
