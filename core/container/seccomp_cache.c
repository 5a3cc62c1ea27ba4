/* The containers' seccomp filters, compiled by berthd once per profile and
 * capability set (libseccomp takes ~15 ms to build docker's allowlist for
 * three architectures: too long for every start and exec) and handed to
 * the runtime as BPF in the spec.  Entries live as long as berthd. */
#include <pthread.h>

#include "../runtime/runtime.h"
#include "container.h"

#define CACHE_MAX 64

struct entry {
  char key[65]; /* sha256 of the profile text and the caps */
  char *b64;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry cache[CACHE_MAX];
static size_t n_cache;
static char *default_text; /* daemon.conf's seccomp-profile, or NULL: the built-in */

void ctr_seccomp_set_default(const char *text) {
  free(default_text);
  default_text = text ? xstrdup(text) : NULL;
}

const char *ctr_seccomp_bpf(const char *profile, uint64_t caps) {
  const char *text = profile && *profile ? profile
                     : default_text      ? default_text
                                         : rt_seccomp_default_json;
  struct sha256_ctx *h = sha256_new();
  sha256_update(h, text, strlen(text));
  sha256_update(h, &caps, sizeof caps);
  char key[65];
  sha256_final_hex(h, key);
  pthread_mutex_lock(&mu);
  const char *found = NULL;
  for (size_t i = 0; i < n_cache && !found; i++)
    if (!strcmp(cache[i].key, key)) found = cache[i].b64;
  if (!found && n_cache < CACHE_MAX) {
    size_t len = 0;
    struct berth_err err = {0};
    char *bpf = rt_seccomp_compile(text, caps, &len, &err);
    if (bpf) {
      memcpy(cache[n_cache].key, key, sizeof key);
      found = cache[n_cache++].b64 = base64_encode(bpf, len, false);
      free(bpf);
    } else {
      log_warn("seccomp: %s (the container's runtime will build the filter itself)", err.msg);
    }
  }
  pthread_mutex_unlock(&mu);
  return found; /* NULL: the runtime builds it from the profile */
}
