/* The containers' seccomp filters, compiled by berthd once per profile and
 * capability set (libseccomp takes ~15 ms to build docker's allowlist for
 * three architectures: too long for every start and exec) and handed to
 * the runtime as a file of BPF, <exec-root>/seccomp/<sha256 of it>.bpf,
 * whose path the spec names.  Not the BPF in the spec: docker's allowlist
 * is ~10 KB of it, which as base64 in the JSON was most of what each shim
 * and exec helper parsed (300 us against 120 without it) and decoded.
 * Named by their content, the files never change once written; berthd
 * writes each again at its first use in its life (a restart may find a
 * file a power cut left empty) and removes the lot when it starts.
 * Entries live as long as berthd. */
#include <pthread.h>

#include "../runtime/runtime.h"
#include "container.h"

#define CACHE_MAX 64

struct entry {
  char key[65]; /* key_of: "default:<caps>", or the sha256 of a profile and the caps */
  char *path;   /* the file of its BPF */
  char *bpf;    /* kept, to write the file again if it goes */
  size_t len;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry cache[CACHE_MAX];
static size_t n_cache;
static char *default_text; /* daemon.conf's seccomp-profile, or NULL: the built-in */
static char *bpf_dir;      /* <exec-root>/seccomp */

void ctr_seccomp_init(const char *exec_root) {
  pthread_mutex_lock(&mu);
  free(bpf_dir);
  bpf_dir = xasprintf("%s/seccomp", exec_root);
  rm_rf(bpf_dir); /* an earlier berthd's: none of them is in use by this one */
  int r = mkdir_p(bpf_dir, 0700);
  if (r < 0) log_warn("seccomp: cannot create %s: %s", bpf_dir, strerror(-r));
  pthread_mutex_unlock(&mu);
}

/* the entry's file, written when it is not there: made at its first use,
 * and again if something removed it (a cleaned exec-root) */
static const char *entry_path(const struct entry *e, struct berth_err *err) {
  if (access(e->path, F_OK) == 0) return e->path;
  int r = mkdir_p(bpf_dir, 0700);
  if (r == 0) r = write_file_derived(e->path, e->bpf, e->len, 0600);
  if (r == 0) return e->path;
  berth_err_set(err, BERTH_EINTERNAL, -r, "seccomp: write %s: %s", e->path, strerror(-r));
  return NULL;
}

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
    if (!strcmp(cache[i].key, key)) return entry_path(&cache[i], err);
  if (n_cache == CACHE_MAX || !bpf_dir) return NULL;
  struct entry *e = &cache[n_cache];
  e->bpf = rt_seccomp_compile(text, caps, &e->len, err);
  if (!e->bpf) return NULL;
  char sum[65];
  sha256_hex(e->bpf, e->len, sum);
  snprintf(e->key, sizeof e->key, "%s", key);
  e->path = xasprintf("%s/%s.bpf", bpf_dir, sum); /* by its contents: never rewritten otherwise */
  n_cache++;
  return entry_path(e, err);
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

const char *ctr_seccomp_bpf_path(const char *profile, uint64_t caps) {
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
