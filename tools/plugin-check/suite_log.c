/* The log contract (include/berth/logger.h): a sink writes a container's
 * lines; a readable driver gives them back whole and in order, with tail,
 * since, until and follow; several containers are written at once; a
 * driver with rotation options rotates and still reads back a contiguous
 * run of the newest lines; an unknown option is refused. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define OPS(t) ((const struct berth_logger_ops *)(t)->ops)
#define MS 1000000LL

static int64_t t0; /* the time of line 0; line i is at t0 + i ms */

struct ctr {
  char id[65];
  char path[4096];
  struct berth_log_info info;
  struct berth_kv opts[4];
};

static void ctr_init(struct target *t, struct ctr *c, int n) {
  snprintf(c->id, sizeof c->id, "%064x", 0xa11ce + n);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/containers", t->scratch);
  mkdir(t->scratch, 0700);
  mkdir(dir, 0700);
  snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%.64s", c->id);
  mkdir(dir, 0700);
  snprintf(c->path, sizeof c->path, "%.4000s/%.64s-json.log", dir, c->id);
  c->info = (struct berth_log_info){
      sizeof c->info, c->id, "check", "sha256:0123456789ab", "busybox", t0, c->path, NULL, 0};
}

static void line_of(int i, char *out, size_t len) {
  snprintf(out, len, "line %d of the conformance suite", i);
}

/* lines [from, to) through a new sink; false when an op failed */
static bool write_lines(struct target *t, struct ctr *c, int from, int to, int gap_ms) {
  void *sink = NULL;
  struct berth_err e = {0};
  if (OP(t, "open", OPS(t)->open(t->drv, &c->info, &sink, &e)) < 0) {
    chk_note("open: %s", e.msg);
    return false;
  }
  bool good = true;
  for (int i = from; i < to && good; i++) {
    char line[128];
    line_of(i, line, sizeof line);
    struct berth_log_msg m = {sizeof m,     i % 3 ? BERTH_STREAM_STDOUT : BERTH_STREAM_STDERR,
                              t0 + i * MS,  line,
                              strlen(line), 0};
    good = OP(t, "log", OPS(t)->log(sink, &m, &e)) == 0;
    if (gap_ms) nanosleep(&(struct timespec){0, gap_ms * MS}, NULL);
  }
  good = OP(t, "close", OPS(t)->close(sink, &e)) == 0 && good;
  return good;
}

struct got {
  int n, first, wrong; /* lines read, the number of the first, lines out of place */
  bool stream_ok, time_ok;
};

/* read back with cfg; lines must run on from the first one read */
static struct got read_back(struct target *t, struct ctr *c, struct berth_log_read_cfg cfg,
                            int want_n, int wait_ms) {
  struct got g = {0, -1, 0, true, true};
  void *rd = NULL;
  struct berth_err e = {0};
  if (OP(t, "read_open", OPS(t)->read_open(t->drv, &c->info, &cfg, &rd, &e)) < 0) {
    chk_note("read_open: %s", e.msg);
    g.wrong = 1;
    return g;
  }
  for (int waited = 0; g.n < want_n || !cfg.follow;) {
    struct berth_log_msg m = {0};
    int r = OP(t, "read_next", OPS(t)->read_next(rd, &m, 100, &e));
    if (r == BERTH_LOG_AGAIN && (waited += 100) < wait_ms) continue;
    if (r != 0) break;
    int i = -1;
    char want[128];
    if (sscanf(m.line, "line %d ", &i) == 1 && g.first < 0) g.first = i;
    line_of(g.first + g.n, want, sizeof want);
    if (i < 0 || m.len != strlen(want) || memcmp(m.line, want, m.len)) g.wrong++;
    if (m.stream != (uint32_t)(i % 3 ? BERTH_STREAM_STDOUT : BERTH_STREAM_STDERR))
      g.stream_ok = false;
    int64_t dt = m.time_ns - (t0 + (int64_t)i * MS);
    if (dt > 1000 || dt < -1000) g.time_ok = false;
    g.n++;
  }
  OP_VOID(t, "read_close", OPS(t)->read_close(rd));
  return g;
}

static struct berth_log_read_cfg rcfg(int64_t since, int64_t until, int64_t tail, int follow) {
  return (struct berth_log_read_cfg){sizeof(struct berth_log_read_cfg), since, until, tail,
                                     (uint32_t)follow};
}

static void test_read_back(struct target *t, struct ctr *c) {
  struct got g = read_back(t, c, rcfg(0, 0, -1, 0), 100, 0);
  chk_ok(g.n == 100 && g.first == 0 && !g.wrong,
         "all 100 lines read back, whole and in order "
         "(%d read, %d out of place)",
         g.n, g.wrong);
  chk_ok(g.stream_ok, "each line on its stream (stdout, stderr)");
  chk_ok(g.time_ok, "each line's time kept (to the microsecond)");
  g = read_back(t, c, rcfg(0, 0, 10, 0), 10, 0);
  chk_ok(g.n == 10 && g.first == 90 && !g.wrong, "tail 10: the last ten (%d from line %d)", g.n,
         g.first);
  g = read_back(t, c, rcfg(0, 0, 0, 0), 0, 0);
  chk_ok(g.n == 0, "tail 0: nothing (%d)", g.n);
  g = read_back(t, c, rcfg(t0 + 50 * MS, 0, -1, 0), 50, 0);
  chk_ok(g.n == 50 && g.first == 50 && !g.wrong, "since: from that time on (%d from line %d)", g.n,
         g.first);
  g = read_back(t, c, rcfg(0, t0 + 19 * MS, -1, 0), 20, 0);
  chk_ok(g.n == 20 && g.first == 0 && !g.wrong, "until: up to that time (%d from line %d)", g.n,
         g.first);
}

struct writer {
  struct target *t;
  struct ctr *c;
  int from, to, gap_ms;
  bool good;
};

static void *writer_main(void *arg) {
  struct writer *w = arg;
  nanosleep(&(struct timespec){0, 200 * MS}, NULL); /* the reader waits first */
  w->good = write_lines(w->t, w->c, w->from, w->to, w->gap_ms);
  return NULL;
}

static void test_follow(struct target *t, struct ctr *c) {
  struct writer w = {t, c, 100, 120, 10, false};
  pthread_t th;
  pthread_create(&th, NULL, writer_main, &w);
  struct got g = read_back(t, c, rcfg(0, 0, 0, 1), 20, 15000);
  pthread_join(th, NULL);
  chk_ok(w.good && g.n == 20 && g.first == 100 && !g.wrong,
         "follow: lines written while reading arrive, in order (%d of 20 from line %d)", g.n,
         g.first);
}

static void *concurrent_main(void *arg) {
  struct writer *w = arg;
  w->good = write_lines(w->t, w->c, w->from, w->to, 0);
  return NULL;
}

static void test_concurrent(struct target *t, bool readable) {
  struct ctr c[4];
  struct writer w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    ctr_init(t, &c[i], 10 + i);
    w[i] = (struct writer){t, &c[i], 0, 300, 0, false};
    pthread_create(&th[i], NULL, concurrent_main, &w[i]);
  }
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    struct got g = readable ? read_back(t, &c[i], rcfg(0, 0, -1, 0), 300, 0)
                            : (struct got){300, 0, 0, true, true};
    if (!w[i].good || g.n != 300 || g.first != 0 || g.wrong) bad++;
  }
  chk_ok(bad == 0,
         "4 containers written at once%s: %d of 4 wrong (at most %d calls were inside "
         "the driver at once)",
         readable ? ", each read back whole" : "", bad, chk_max_inflight());
}

static void test_rotation(struct target *t) {
  struct ctr c;
  ctr_init(t, &c, 20);
  c.opts[0] = (struct berth_kv){sizeof c.opts[0], "max-size", "4k"};
  c.opts[1] = (struct berth_kv){sizeof c.opts[1], "max-file", "2"};
  c.info.opts = c.opts, c.info.n_opts = 2;
  struct berth_err e = {0};
  if (!OPS(t)->validate_opts ||
      OP(t, "validate_opts", OPS(t)->validate_opts(t->drv, c.opts, 2, &e)) < 0) {
    chk_note("no max-size/max-file options: rotation not checked");
    return;
  }
  bool good = write_lines(t, &c, 0, 1000, 0);
  struct got g = read_back(t, &c, rcfg(0, 0, -1, 0), 1000, 0);
  chk_ok(good && g.n > 0 && g.n < 1000 && g.first + g.n == 1000 && !g.wrong,
         "max-size 4k, max-file 2: rotated, and the newest lines read back in a contiguous run "
         "(%d, from line %d)",
         g.n, g.first);
}

int suite_log(struct target *t) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  t0 = ((int64_t)now.tv_sec - 60) * 1000000000LL;
  bool readable = (OPS(t)->features & BERTH_LOG_F_READ) && OPS(t)->read_open && OPS(t)->read_next &&
                  OPS(t)->read_close;
  struct berth_err e = {0};
  if (OPS(t)->validate_opts) {
    struct berth_kv bogus = {sizeof bogus, "no-such-option-anywhere", "1"};
    int r = OP(t, "validate_opts", OPS(t)->validate_opts(t->drv, &bogus, 1, &e));
    chk_ok(r == -BERTH_EINVAL && e.msg[0], "an unknown option is refused, saying so (%s)", e.msg);
  }
  struct ctr c;
  ctr_init(t, &c, 0);
  chk_ok(write_lines(t, &c, 0, 100, 0), "open, 100 lines, close");
  if (!readable) {
    chk_note("write-only driver: what it wrote cannot be read back here");
    test_concurrent(t, false);
    return 0;
  }
  test_read_back(t, &c);
  test_follow(t, &c);
  test_concurrent(t, true);
  test_rotation(t);
  return 0;
}
