/* An out-of-tree berth driver built only from the installed headers:
 *
 *   cc $(pkg-config --cflags berth-plugin) -shared -fPIC -o example-log.so example.c
 *
 * and named in daemon.conf by absolute path, with its settings:
 *
 *   log: { driver = "/path/example-log.so";
 *          example-log: { prefix = "ex"; stamp = true; max-line = "64k"; }; };
 *
 * A log sink that appends "<time_ns> <stream> <prefix>: <line>" to
 * <root_dir>/<container>.log, and reads it back for `docker logs` (tail,
 * since/until, follow).  berthd loads it for `logs`; berth-shim loads the
 * same file for writing and gets the same settings (it logs them at init,
 * in each process, so that can be checked). */
#include <berth/logger.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conf {
  const char *prefix;
  int stamp;         /* write the time (else 0) */
  uint64_t max_line; /* longer lines are cut */
};

struct drv {
  const struct berth_host *host;
  struct conf conf;
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("prefix", BERTH_CONF_STRING, struct conf, prefix, "ex"),
    BERTH_CONF_KEY("stamp", BERTH_CONF_BOOL, struct conf, stamp, "true"),
    BERTH_CONF_KEY("max-line", BERTH_CONF_SIZE, struct conf, max_line, "16k"),
};

static int ex_init(const struct berth_host *host, void **out, struct berth_err *err) {
  struct drv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r < 0) {
    free(d);
    return r;
  }
  host->log(host, BERTH_LOG_INFO, "example log driver ready in %s", host->root_dir);
  host->log(host, BERTH_LOG_INFO, "example-log settings: prefix=%s stamp=%d max-line=%llu",
            d->conf.prefix ? d->conf.prefix : "", d->conf.stamp,
            (unsigned long long)d->conf.max_line);
  *out = d;
  return 0;
}

static void ex_fini(void *drv) {
  free(drv);
}

static void file_of(const struct drv *d, const char *id, char *path, size_t len) {
  snprintf(path, len, "%s/%s.log", d->host->root_dir, id);
}

/* ---- writing (berth-shim) ---- */

struct sink {
  const struct drv *d;
  FILE *f;
};

static int ex_open(void *drv, const struct berth_log_info *info, void **out,
                   struct berth_err *err) {
  char path[4096];
  file_of(drv, info->container_id, path, sizeof path);
  struct sink *s = calloc(1, sizeof *s);
  if (!s || !(s->f = fopen(path, "a"))) {
    free(s);
    return berth_err_set(err, BERTH_EINTERNAL, errno, "open %s: %s", path, strerror(errno));
  }
  s->d = drv;
  *out = s;
  return 0;
}

static int ex_log(void *sink, const struct berth_log_msg *m, struct berth_err *err) {
  struct sink *s = sink;
  (void)err;
  size_t len = m->len > s->d->conf.max_line ? s->d->conf.max_line : m->len;
  fprintf(s->f, "%lld %u %s: %.*s\n", s->d->conf.stamp ? (long long)m->time_ns : 0LL, m->stream,
          s->d->conf.prefix ? s->d->conf.prefix : "", (int)len, m->line);
  fflush(s->f);
  return 0;
}

static int ex_close(void *sink, struct berth_err *err) {
  struct sink *s = sink;
  (void)err;
  fclose(s->f);
  free(s);
  return 0;
}

/* ---- reading (berthd) ---- */

struct reader {
  FILE *f;
  struct berth_log_read_cfg cfg;
  char *line;
  size_t cap;
  long start; /* where tail begins */
};

/* the offset of the last n lines */
static long tail_offset(FILE *f, int64_t n) {
  if (n < 0) return 0;
  long *pos = calloc((size_t)n + 1, sizeof *pos);
  if (!pos) return 0;
  int64_t count = 0;
  long at = ftell(f);
  int c, prev = '\n';
  while ((c = getc(f)) != EOF) {
    if (prev == '\n') pos[count++ % (n + 1)] = at;
    prev = c;
    at++;
  }
  long off = count > n ? pos[(count - n) % (n + 1)] : 0;
  if (n == 0) off = at;
  free(pos);
  return off;
}

static int ex_read_open(void *drv, const struct berth_log_info *info,
                        const struct berth_log_read_cfg *cfg, void **out, struct berth_err *err) {
  char path[4096];
  file_of(drv, info->container_id, path, sizeof path);
  struct reader *r = calloc(1, sizeof *r);
  if (!r) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  r->f = fopen(path, "r");
  if (!r->f && errno != ENOENT) {
    free(r);
    return berth_err_set(err, BERTH_EINTERNAL, errno, "open %s: %s", path, strerror(errno));
  }
  if (!r->f) r->f = fopen("/dev/null", "r"); /* nothing logged yet */
  r->cfg = *cfg;
  fseek(r->f, tail_offset(r->f, cfg->tail), SEEK_SET);
  *out = r;
  return 0;
}

static int ex_read_next(void *reader, struct berth_log_msg *m, int timeout_ms,
                        struct berth_err *err) {
  struct reader *r = reader;
  (void)err;
  for (;;) {
    long at = ftell(r->f);
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n <= 0 || r->line[n - 1] != '\n') {
      fseek(r->f, at, SEEK_SET); /* a line being written: again later */
      clearerr(r->f);
      if (!r->cfg.follow) return BERTH_LOG_EOF;
      poll(NULL, 0, timeout_ms < 100 ? timeout_ms : 100);
      return BERTH_LOG_AGAIN;
    }
    long long t;
    unsigned stream;
    int skip = 0;
    if (sscanf(r->line, "%lld %u %n", &t, &stream, &skip) < 2) continue;
    char *text = strstr(r->line + skip, ": ");
    if (!text) continue;
    text += 2;
    if ((r->cfg.since_ns && t < r->cfg.since_ns) || (r->cfg.until_ns && t > r->cfg.until_ns))
      continue;
    *m = (struct berth_log_msg){sizeof *m, stream, t, text, (size_t)(r->line + n - 1 - text), 0};
    return 0;
  }
}

static void ex_read_close(void *reader) {
  struct reader *r = reader;
  fclose(r->f);
  free(r->line);
  free(r);
}

static const struct berth_logger_ops ex_ops = {
    .struct_size = sizeof(struct berth_logger_ops),
    .features = BERTH_LOG_F_READ,
    .open = ex_open,
    .log = ex_log,
    .close = ex_close,
    .read_open = ex_read_open,
    .read_next = ex_read_next,
    .read_close = ex_read_close,
};

/* thread-safe: each sink and reader is its own, the settings are read-only */
BERTH_PLUGIN(example_log, .kind = BERTH_KIND_LOGGER, .name = "example-log", .version = "0.2.0",
             .description = "example out-of-tree log sink", .flags = BERTH_PLUGIN_F_THREADSAFE,
             .init = ex_init, .fini = ex_fini, .ops = &ex_ops);
