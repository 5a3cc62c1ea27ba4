/* Libraries opened at their first use: see lazylib.h. */
#include "lazylib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lazylib_lock = PTHREAD_MUTEX_INITIALIZER;

bool lazylib_open(struct lazylib *l) {
  if (__atomic_load_n(&l->handle, __ATOMIC_ACQUIRE)) return true;
  pthread_mutex_lock(&lazylib_lock);
  if (!l->handle) {
    /* RTLD_NOW: every symbol bound here, none at a call in the middle of a
     * request; RTLD_LOCAL: its names stay out of the plugins' scope */
    void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (h) {
      __atomic_store_n(&l->handle, h, __ATOMIC_RELEASE);
    } else {
      const char *e = dlerror();
      snprintf(l->error, sizeof l->error, "%s", e ? e : "dlopen failed");
    }
  }
  bool ok = l->handle != NULL;
  pthread_mutex_unlock(&lazylib_lock);
  return ok;
}

int lazylib_fail(struct lazylib *l, struct berth_err *err) {
  pthread_mutex_lock(&lazylib_lock);
  int r = berth_err_set(err, BERTH_EINTERNAL, 0, "cannot load %s, which berthd needs for %s: %s",
                        l->soname, l->purpose, l->error[0] ? l->error : "not opened");
  pthread_mutex_unlock(&lazylib_lock);
  return r;
}

int lazylib_need(struct lazylib *l, struct berth_err *err) {
  return lazylib_open(l) ? 0 : lazylib_fail(l, err);
}

void *lazylib_sym(struct lazylib *l, const char *name) {
  bool opened = lazylib_open(l);
  void *p = opened ? dlsym(l->handle, name) : NULL;
  if (!p) { /* on stderr, which is berthd's log: berthd's logger is not in plugins */
    const char *why = opened ? dlerror() : l->error;
    fprintf(stderr,
            "berthd stops: %s is not in %s (%s); install the library berthd was built against\n",
            name, l->soname, why ? why : "no such symbol");
    abort();
  }
  return p;
}
