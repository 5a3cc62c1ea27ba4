/* A container's read-write layer made ahead (store.h, store_rw_layer).
 * After a create, a thread of its own makes the next one on the same
 * parent (the image's init layer) while nobody waits, and the next create
 * of that image takes it instead of making one: a layer is four
 * directories, two files and their fsync, ~1 ms, a third of a create.  One
 * at a time: a create of another image replaces it.  It stays pending
 * (store_pending_begin) until a container's record owns it, so that a crash
 * leaves nothing (the start-up sweep removes it); the removal of its parent
 * removes it first (store_rw_ahead_drop); a driver whose create took longer
 * than AHEAD_MAX_NS (vfs copies the whole parent) gets none. */
#include <pthread.h>

#include "../driver.h"
#include "store.h"

#define AHEAD_MAX_NS (20 * 1000000LL)

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct image_store *s;
  bool thread, stop;
  char want[STORE_INIT_ID_MAX];   /* the parent to make one on next, "" none */
  char making[STORE_INIT_ID_MAX]; /* the parent of the one being made */
  uint64_t drops;                 /* store_rw_ahead_drop of making's parent meanwhile */
  char parent[STORE_INIT_ID_MAX]; /* the ready one's */
  char id[65];                    /* the ready one, "" none */
} A = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int make(struct image_store *s, const char *parent, char id[65], struct berth_err *err) {
  random_hex(id, 32);
  struct berth_storage_create_req req = {sizeof req, id, parent, NULL, 0};
  store_pending_begin(s, id); /* until a record owns it */
  int r = drv_storage_create(s->storage, &req, true, err);
  if (r < 0) store_pending_end(s, id);
  return r;
}

static void discard(struct image_store *s, const char *id) {
  struct berth_err e = {0};
  if (drv_storage_remove(s->storage, id, &e) < 0)
    log_warn("image store: removing layer %s made ahead: %s", id, e.msg);
  store_pending_end(s, id);
}

/* with A.mu held: the ready one, for the caller to use or discard */
static bool take_locked(const char *parent, char id[65]) {
  if (!A.id[0] || (parent && strcmp(A.parent, parent))) return false;
  memcpy(id, A.id, sizeof A.id);
  A.id[0] = 0;
  return true;
}

static void make_wanted_locked(void) {
  char parent[STORE_INIT_ID_MAX], old[65], id[65];
  snprintf(parent, sizeof parent, "%s", A.want);
  snprintf(A.making, sizeof A.making, "%s", A.want);
  A.want[0] = 0;
  bool had = take_locked(NULL, old);
  uint64_t drops = A.drops;
  struct image_store *s = A.s;
  pthread_mutex_unlock(&A.mu);
  if (had) discard(s, old);
  struct berth_err e = {0};
  int r = make(s, parent, id, &e);
  if (r < 0) log_debug("image store: no layer made ahead on %s: %s", parent, e.msg);
  pthread_mutex_lock(&A.mu);
  A.making[0] = 0;
  if (r == 0 && (drops != A.drops || A.stop || A.id[0])) {
    pthread_mutex_unlock(&A.mu);
    discard(s, id);
    pthread_mutex_lock(&A.mu);
  } else if (r == 0) {
    memcpy(A.id, id, sizeof id);
    snprintf(A.parent, sizeof A.parent, "%s", parent);
  }
}

static void *maker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&A.mu);
  while (!A.stop) {
    if (A.want[0])
      make_wanted_locked();
    else
      pthread_cond_wait(&A.cv, &A.mu);
  }
  A.thread = false;
  pthread_cond_broadcast(&A.cv);
  pthread_mutex_unlock(&A.mu);
  return NULL;
}

static void want(struct image_store *s, const char *parent) {
  pthread_mutex_lock(&A.mu);
  if (!A.stop) {
    A.s = s;
    snprintf(A.want, sizeof A.want, "%s", parent);
    pthread_t t;
    if (!A.thread && pthread_create(&t, NULL, maker, NULL) == 0) {
      A.thread = true;
      pthread_detach(t);
    }
    pthread_cond_signal(&A.cv);
  }
  pthread_mutex_unlock(&A.mu);
}

int store_rw_layer(struct image_store *s, const char *parent, char id[65], struct berth_err *err) {
  pthread_mutex_lock(&A.mu);
  bool took = parent && take_locked(parent, id);
  pthread_mutex_unlock(&A.mu);
  int64_t t = now_ns();
  int r = took ? 0 : make(s, parent, id, err);
  if (r == 0 && parent && (took || now_ns() - t < AHEAD_MAX_NS)) want(s, parent);
  return r;
}

void store_rw_ahead_drop(struct image_store *s, const char *parent) {
  char id[65];
  pthread_mutex_lock(&A.mu);
  if (!strcmp(A.want, parent)) A.want[0] = 0;
  if (!strcmp(A.making, parent)) A.drops++;
  bool had = take_locked(parent, id);
  pthread_mutex_unlock(&A.mu);
  if (had) discard(s, id);
}

void store_rw_ahead_stop(struct image_store *s) {
  char id[65];
  pthread_mutex_lock(&A.mu);
  A.stop = true;
  pthread_cond_broadcast(&A.cv);
  while (A.thread)
    pthread_cond_wait(&A.cv, &A.mu);
  bool had = take_locked(NULL, id);
  pthread_mutex_unlock(&A.mu);
  if (had) discard(s, id);
}
