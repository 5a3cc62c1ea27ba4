/* The mount namespace containers' inits are cloned from (rt_mntns_template,
 * core/runtime/mntns.c): made once at start-up, after the restore, on a
 * thread of its own and off the start-up path (with 1,000 containers
 * running it detaches 1,000 rootfs mounts from its copy: 60-130 ms here).  Until it is there, and
 * where it cannot be made, shims clone from berthd's own namespace, as before. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../daemon.h"
#include "../runtime/runtime.h"
#include "container.h"

static atomic_int template_fd = -1;

struct template_args {
  char *keep[3];
  size_t n_keep;
};

static void *make_template(void *p) {
  struct template_args *a = p;
  /* background work: requests first (the thread alone) */
  setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct berth_err err = {0};
  size_t n = 0;
  int fd = rt_mntns_template((const char *const *)a->keep, a->n_keep, &n, &err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (fd >= 0) {
    atomic_store(&template_fd, fd);
    log_info("containers: cloned from a mount namespace without %zu of berthd's mounts (made in "
             "%.1f ms)",
             n, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  } else {
    log_warn("containers: cloned from berthd's mount namespace (%s)", err.msg);
  }
  for (size_t i = 0; i < a->n_keep; i++)
    free(a->keep[i]);
  free(a);
  return NULL;
}

void ctr_mntns_start(struct daemon *d) {
  struct template_args *a = xcalloc(1, sizeof *a);
  a->keep[a->n_keep++] = xstrdup(d->cfg.data_root);
  a->keep[a->n_keep++] = xasprintf("%s/containers", d->cfg.data_root);
  if (d->storage && d->storage->host.root_dir)
    a->keep[a->n_keep++] = xstrdup(d->storage->host.root_dir);
  pthread_t t;
  if (pthread_create(&t, NULL, make_template, a) == 0) {
    pthread_detach(t);
    return;
  }
  log_warn("containers: cloned from berthd's mount namespace (no thread to make a template)");
  for (size_t i = 0; i < a->n_keep; i++)
    free(a->keep[i]);
  free(a);
}

int ctr_mntns_fd(void) {
  return atomic_load(&template_fd);
}
