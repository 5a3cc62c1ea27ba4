/* Network namespaces made ahead for containers with one of their own
 * (--network none): unsharing one takes ~0.3-0.45 ms on this kind of
 * machine, the largest of the namespaces a start makes, and bringing its
 * lo up 0.1 more.  A thread of its own keeps one ready (rt_netns_ahead:
 * the thread unshares it and goes back; berthd's other threads never
 * leave their namespace), at a lower priority than requests; a start takes
 * it and the shim's init joins it instead of making one.  None ready (two
 * starts at once, or the thread could not make one): the init makes its
 * own, as before.  Not for a user-namespaced container, whose network
 * namespace must be owned by its user namespace. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../runtime/runtime.h"
#include "container.h"

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int ready; /* an fd, or -1 */
  bool run;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, false};

static void *maker(void *arg) {
  (void)arg;
  setpriority(PRIO_PROCESS, (id_t)gettid(), 10); /* requests first */
  int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  pthread_mutex_lock(&pool.mu);
  while (pool.run && own >= 0) {
    if (pool.ready >= 0) {
      pthread_cond_wait(&pool.cv, &pool.mu);
      continue;
    }
    pthread_mutex_unlock(&pool.mu);
    struct berth_err err = {0};
    bool stranded;
    int fd = rt_netns_ahead(own, &stranded, &err);
    pthread_mutex_lock(&pool.mu);
    if (fd < 0) {
      /* unshare refused (no CAP_SYS_ADMIN, a seccomp'd berthd): inits make theirs */
      log_warn("containers: no network namespaces made ahead (%s)", err.msg);
      break;
    }
    pool.ready = fd;
  }
  pool.run = false;
  pthread_mutex_unlock(&pool.mu);
  if (own >= 0) close(own);
  return NULL;
}

void ctr_netns_start(void) {
  pthread_mutex_lock(&pool.mu);
  pthread_t t;
  pool.run = pthread_create(&t, NULL, maker, NULL) == 0;
  if (pool.run) pthread_detach(t);
  pthread_mutex_unlock(&pool.mu);
}

int ctr_netns_take(void) {
  pthread_mutex_lock(&pool.mu);
  int fd = pool.ready;
  pool.ready = -1;
  if (fd >= 0) pthread_cond_signal(&pool.cv); /* the next one */
  pthread_mutex_unlock(&pool.mu);
  return fd;
}
