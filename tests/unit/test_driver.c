/* The driver call layer (core/driver.c): a fake storage driver that counts
 * how many calls are inside it at once (one for a serialised driver; for a
 * thread-safe one, one per layer); optional ops missing; error context. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "../../core/driver.h"
#include "tap.h"

static atomic_int inside, max_inside, calls;

static void enter(void) {
  int n = atomic_fetch_add(&inside, 1) + 1;
  int m = atomic_load(&max_inside);
  while (n > m && !atomic_compare_exchange_weak(&max_inside, &m, n)) {
  }
  atomic_fetch_add(&calls, 1);
  usleep(300);
  atomic_fetch_sub(&inside, 1);
}

static int f_create(void *drv, const struct berth_storage_create_req *req, struct berth_err *err) {
  (void)drv;
  (void)req;
  enter();
  return berth_err_set(err, BERTH_ECONFLICT, EEXIST, "fake: layer already exists");
}
static int f_remove(void *drv, const char *id, struct berth_err *err) {
  (void)drv;
  (void)id;
  (void)err;
  enter();
  return 0;
}
static int f_exists(void *drv, const char *id, struct berth_err *err) {
  (void)drv;
  enter();
  if (!strcmp(id, "ioerror")) return berth_err_set(err, BERTH_EINTERNAL, EIO, "I/O error");
  return 1;
}
static int f_mount(void *drv, const char *id, const char *label, char *path, size_t len,
                   struct berth_err *err) {
  (void)drv;
  (void)label;
  enter();
  if (!strcmp(id, "full")) return berth_err_set(err, BERTH_EINTERNAL, ENOSPC, "disk full");
  snprintf(path, len, "/fake/%s", id);
  return 0;
}
static int f_unmount(void *drv, const char *id, struct berth_err *err) {
  (void)drv;
  (void)id;
  (void)err;
  enter();
  return 0;
}
static int f_status(void *drv, struct berth_buf *out, struct berth_err *err) {
  (void)drv;
  (void)out;
  (void)err;
  enter();
  return 0;
}

static struct loaded_plugin fake(uint64_t flags) {
  struct loaded_plugin p = {0};
  p.desc.kind = BERTH_KIND_STORAGE;
  p.desc.flags = flags;
  p.name = "fake";
  p.ops.storage = (struct berth_storage_ops){.struct_size = sizeof p.ops.storage,
                                             .create = f_create,
                                             .remove = f_remove,
                                             .exists = f_exists,
                                             .mount = f_mount,
                                             .unmount = f_unmount,
                                             .status = f_status};
  pthread_mutex_init(&p.lock, NULL);
  return p;
}

struct hammer_arg {
  struct loaded_plugin *p;
  char id[8]; /* the layer this thread works on */
};

static void *hammer(void *arg) {
  struct hammer_arg *a = arg;
  char path[BERTH_STORAGE_PATH_MAX];
  struct berth_err e = {0};
  for (int i = 0; i < 40; i++) {
    drv_storage_mount(a->p, a->id, NULL, path, &e);
    drv_storage_exists(a->p, a->id, &e);
    drv_storage_unmount(a->p, a->id, &e);
    drv_storage_remove(a->p, a->id, &e);
  }
  return NULL;
}

/* 8 threads on one layer ("a"), or each on its own: the most calls inside
 * the driver at once */
static int run_threads(struct loaded_plugin *p, bool one_layer) {
  atomic_store(&max_inside, 0);
  atomic_store(&calls, 0);
  pthread_t t[8];
  struct hammer_arg a[8];
  for (int i = 0; i < 8; i++) {
    a[i].p = p;
    snprintf(a[i].id, sizeof a[i].id, one_layer ? "a" : "l%d", i);
    pthread_create(&t[i], NULL, hammer, &a[i]);
  }
  for (int i = 0; i < 8; i++)
    pthread_join(t[i], NULL);
  return atomic_load(&max_inside);
}

int main(void) {
  struct loaded_plugin p = fake(0);
  int m = run_threads(&p, false);
  ok(atomic_load(&calls) == 8 * 40 * 4, "all %d calls arrived", atomic_load(&calls));
  ok(m == 1, "a driver not flagged thread-safe is never entered twice at once (max %d)", m);
  struct loaded_plugin ts = fake(BERTH_PLUGIN_F_THREADSAFE);
  m = run_threads(&ts, false);
  ok(m > 1, "a thread-safe driver is called concurrently for different layers (max %d at once)", m);
  m = run_threads(&ts, true);
  ok(atomic_load(&calls) == 8 * 40 * 4 && m == 1,
     "... and never twice at once for one layer (max %d, %d calls)", m, atomic_load(&calls));

  struct berth_err e = {0};
  char path[BERTH_STORAGE_PATH_MAX];
  ok(drv_storage_mount(&p, "full", NULL, path, &e) == -BERTH_EINTERNAL, "a failing mount: -code");
  is_str(e.msg, "fake: mount full: disk full", "one layer of context");
  struct berth_err e2 = {0};
  struct berth_storage_create_req req = {sizeof req, "0123456789abcdef", NULL, NULL, 0};
  drv_storage_create(&p, &req, true, &e2);
  is_str(e2.msg, "fake: create 0123456789ab: layer already exists",
         "the driver's own prefix is not repeated; create_rw falls back to create");
  struct berth_err e3 = {0};
  ok(drv_storage_exists(&p, "ioerror", &e3) == -BERTH_EINTERNAL,
     "exists can say it cannot tell (not \"absent\")");
  is_str(e3.msg, "fake: look for ioerror: I/O error", "with context");
  ok(drv_storage_metadata(&p, "a", NULL, &e) == -BERTH_ENOTSUP, "no metadata op: ENOTSUP");
  contains(e.msg, "has no metadata", "and says so: %s", e.msg);
  uint64_t size = 1;
  ok(drv_storage_diff_size(&p, "a", NULL, &size, &e) == -BERTH_ENOTSUP && size == 1,
     "no diff_size: ENOTSUP, size untouched");
  ok(!drv_storage_can_apply_diff(&p), "no apply_diff: the core's fallback is used");

  /* a logger that says it can read but has no read_next */
  struct loaded_plugin lg = {0};
  lg.desc.kind = BERTH_KIND_LOGGER;
  lg.name = "halflog";
  lg.ops.logger.features = BERTH_LOG_F_READ;
  lg.ops.logger.read_open = (void *)1; /* never called */
  pthread_mutex_init(&lg.lock, NULL);
  ok(!drv_log_readable(&lg), "a logger with read_open but no read_next is not readable");
  struct berth_log_info info = {sizeof info, "c0ffee", "n", "", "", 0, "", NULL, 0};
  void *rd = NULL;
  ok(drv_log_read_open(&lg, &info, NULL, &rd, &e) == -BERTH_ENOTSUP && !rd,
     "reading it: ENOTSUP, no NULL call");
  return done();
}
