/* The containers' seccomp filters, compiled by berthd once per profile and
 * capability set (libseccomp takes ~15 ms to build docker's allowlist for
 * three architectures: too long for every start and exec) and handed to
 * the runtime as BPF in the spec.  Entries live as long as berthd. */
#include <pthread.h>

#include "../runtime/runtime.h"
#include "container.h"

#define CACHE_MAX 64

struct entry {
  char key[65]; /* key_of: "default:<caps>", or the sha256 of a profile and the caps */
  char *b64;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry cache[CACHE_MAX];
static size_t n_cache;
static char *default_text; /* daemon.conf's seccomp-profile, or NULL: the built-in */

/* the daemon's default profile is keyed by the capabilities alone: no
 * hashing of its ~13 KB at every start; another profile by its text too */
static void key_of(const char *profile, uint64_t caps, char key[65]) {
  if (!profile || !*profile) {
    snprintf(key, 65, "default:%016llx", (unsigned long long)caps);
    return;
  }
  struct sha256_ctx *h = sha256_new();
  sha256_update(h, profile, strlen(profile));
  sha256_update(h, &caps, sizeof caps);
  sha256_final_hex(h, key);
}

/* with mu held; NULL with err set when it does not compile, or with err
 * empty when the cache is full */
static const char *get_locked(const char *key, const char *text, uint64_t caps,
                              struct berth_err *err) {
  for (size_t i = 0; i < n_cache; i++)
    if (!strcmp(cache[i].key, key)) return cache[i].b64;
  if (n_cache == CACHE_MAX) return NULL;
  size_t len = 0;
  char *bpf = rt_seccomp_compile(text, caps, &len, err);
  if (!bpf) return NULL;
  snprintf(cache[n_cache].key, sizeof cache[0].key, "%s", key);
  cache[n_cache].b64 = base64_encode(bpf, len, false);
  free(bpf);
  return cache[n_cache++].b64;
}

int ctr_seccomp_set_default(const char *text, struct berth_err *err) {
  pthread_mutex_lock(&mu);
  free(default_text);
  default_text = text ? xstrdup(text) : NULL;
  char key[65];
  key_of(NULL, rt_caps_from_names(NULL, 0, NULL, 0), key);
  /* compiled now for the default capabilities, which proves it loads: the
   * first container uses it */
  bool ok = !text || get_locked(key, text, rt_caps_from_names(NULL, 0, NULL, 0), err);
  if (!ok) {
    free(default_text);
    default_text = NULL;
  }
  pthread_mutex_unlock(&mu);
  return ok ? 0 : -err->code;
}

const char *ctr_seccomp_bpf(const char *profile, uint64_t caps) {
  const char *text = profile && *profile ? profile
                     : default_text      ? default_text
                                         : rt_seccomp_default_json;
  char key[65];
  key_of(profile, caps, key);
  struct berth_err err = {0};
  pthread_mutex_lock(&mu);
  const char *found = get_locked(key, text, caps, &err);
  pthread_mutex_unlock(&mu);
  if (!found && err.msg[0])
    log_warn("seccomp: %s (the container's runtime will build the filter itself)", err.msg);
  return found; /* NULL: the runtime builds it from the profile */
}
