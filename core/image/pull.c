/* Pull: manifest (and the platform's entry of an index), config, layers
 * downloaded registry.max-concurrent-downloads at a time with resume and
 * digest checks, applied in order through the store. */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "../daemon.h"
#include "../driver.h"
#include "../events/events.h"
#include "blobio.h"
#include "registry.h"

/* the caller's sink, shared by the download threads */
struct sink {
  const struct xfer_progress *pr;
  pthread_mutex_t mu;
};

static void say(struct sink *s, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct sink *s, const char *id, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&s->mu);
  xfer_status(s->pr, id, "%s", text);
  pthread_mutex_unlock(&s->mu);
}

/* ---- one blob to a file, resumed after a dropped connection ---- */

struct dl {
  struct loaded_plugin *reg;
  const struct berth_reg_target *target;
  struct sink *sink;
  char digest[DIGEST_LEN + 1];
  char short_id[13];
  uint64_t size;
  char *path;
  int fd;
  uint64_t got, last_report;
  struct sha256_ctx *sha;
  pthread_t thread;
  bool started;
  int rc;
  struct berth_err err;
};

static ssize_t dl_write(void *ctx, const void *buf, size_t len) {
  struct dl *x = ctx;
  if (write_all_fd(x->fd, buf, len) < 0) return -1;
  sha256_update(x->sha, buf, len);
  x->got += len;
  if (x->got - x->last_report >= 256 * 1024 || x->got == x->size) {
    x->last_report = x->got;
    pthread_mutex_lock(&x->sink->mu);
    xfer_bytes(x->sink->pr, "Downloading", x->short_id, x->got, x->size);
    pthread_mutex_unlock(&x->sink->mu);
  }
  return (ssize_t)len;
}

static int dl_fetch(struct dl *x, struct drv_reg *s) {
  for (int attempt = 0;; attempt++) {
    struct berth_writer w = BERTH_WRITER(x, dl_write);
    struct berth_err e = {0};
    int r = drv_reg_get_blob(s, x->digest, x->got, &w, &e);
    if (r == 0) return 0;
    if (attempt >= 3 || (r != -BERTH_EUNAVAILABLE && e.code != BERTH_EUNAVAILABLE)) {
      x->err = e;
      return r;
    }
    log_warn("pull %s: %s; retrying from byte %llu", x->short_id, e.msg,
             (unsigned long long)x->got);
    say(x->sink, x->short_id, "Retrying in %d second%s", attempt + 1, attempt ? "s" : "");
    sleep((unsigned)attempt + 1);
  }
}

static void *dl_thread(void *p) {
  struct dl *x = p;
  struct drv_reg s;
  x->rc = drv_reg_open(x->reg, x->target, &s, &x->err);
  x->fd = x->rc == 0 ? open(x->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  if (x->rc == 0 && x->fd < 0) x->rc = err_sys(&x->err, BERTH_EINTERNAL, "create %s", x->path);
  x->sha = sha256_new();
  if (x->rc == 0) x->rc = dl_fetch(x, &s);
  char hex[65];
  sha256_final_hex(x->sha, hex);
  x->sha = NULL;
  if (x->rc == 0 && (strcmp(hex, x->digest + 7) || (x->size && x->got != x->size)))
    x->rc = berth_err_set(&x->err, BERTH_EINVAL, 0,
                          "filesystem layer verification failed for digest %s", x->digest);
  if (x->fd >= 0) {
    if (x->rc == 0 && fsync(x->fd) < 0) x->rc = err_sys(&x->err, BERTH_EINTERNAL, "fsync");
    close(x->fd);
  }
  drv_reg_close(&s);
  if (x->rc == 0) {
    say(x->sink, x->short_id, "Verifying Checksum");
    say(x->sink, x->short_id, "Download complete");
  }
  return NULL;
}

/* ---- manifest and config ---- */

static json_t *pick_platform(json_t *index, const char *want, struct berth_err *err) {
  char os[32] = "linux", arch[32] = "", variant[32] = "";
  snprintf(arch, sizeof arch, "%s", host_arch());
  if (want && *want) sscanf(want, "%31[^/]/%31[^/]/%31s", os, arch, variant);
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(index, "manifests"), i, m) {
    json_t *p = json_object_get(m, "platform");
    const char *mo = json_string_value(json_object_get(p, "os"));
    const char *ma = json_string_value(json_object_get(p, "architecture"));
    const char *mv = json_string_value(json_object_get(p, "variant"));
    if (mo && ma && !strcmp(mo, os) && !strcmp(ma, arch) &&
        (!*variant || (mv && !strcmp(mv, variant))))
      return m;
  }
  berth_err_set(err, BERTH_ENOTFOUND, 0,
                "no matching manifest for %s/%s%s%s in the manifest list entries", os, arch,
                *variant ? "/" : "", variant);
  return NULL;
}

static json_t *get_manifest(struct drv_reg *s, const char *want, const char *verify_digest,
                            char digest_out[DIGEST_LEN + 1], const char **media_type,
                            struct berth_err *err) {
  struct berth_buf mb = {sizeof mb, NULL, 0, 0};
  struct berth_reg_desc desc = {0};
  int r = drv_reg_get_manifest(s, want, registry_accept_all, &mb, &desc, err);
  json_t *man = NULL;
  if (r == 0) {
    char hex[65];
    sha256_hex(mb.data, mb.len, hex);
    snprintf(digest_out, DIGEST_LEN + 1, "sha256:%s", hex);
    if (verify_digest && strcmp(digest_out, verify_digest))
      berth_err_set(err, BERTH_EINVAL, 0, "manifest verification failed for digest %s",
                    verify_digest);
    else if (!(man = json_loadb(mb.data, mb.len, 0, NULL)))
      berth_err_set(err, BERTH_EINVAL, 0, "the registry sent a manifest that is not JSON");
  }
  free(mb.data);
  static __thread char mt[128];
  const char *m = json_string_value(json_object_get(man, "mediaType"));
  snprintf(mt, sizeof mt, "%s", m && *m ? m : desc.media_type);
  *media_type = mt;
  return man;
}

/* The image manifest for the platform (resolving an index); its digest
 * (the index's when there is one: docker's RepoDigests) in man_digest. */
static json_t *resolve_manifest(struct drv_reg *s, const struct image_ref *ref,
                                const char *platform, char man_digest[DIGEST_LEN + 1],
                                struct berth_err *err) {
  const char *want = ref->digest ? ref->digest : ref->tag;
  const char *mt;
  json_t *man = get_manifest(s, want, ref->digest, man_digest, &mt, err);
  if (!man && err->code == BERTH_ENOTFOUND) {
    cleanup_free char *fam = ref_familiar(ref);
    berth_err_set(err, BERTH_ENOTFOUND, 0,
                  "manifest for %s not found: manifest unknown: manifest unknown", fam);
  }
  if (!man) return NULL;
  if (!strcmp(mt, MT_DOCKER_LIST) || !strcmp(mt, MT_OCI_INDEX) ||
      json_object_get(man, "manifests")) {
    json_t *pick = pick_platform(man, platform, err);
    char dg[DIGEST_LEN + 1], ignored[DIGEST_LEN + 1];
    snprintf(dg, sizeof dg, "%s", pick ? json_string_value(json_object_get(pick, "digest")) : "");
    json_decref(man);
    if (!pick) return NULL;
    if (!(man = get_manifest(s, dg, dg, ignored, &mt, err))) return NULL;
  }
  if (!json_object_get(man, "config") || !json_is_array(json_object_get(man, "layers"))) {
    berth_err_set(err, BERTH_EINVAL, 0, "unsupported manifest (schema 1 or unknown media type %s)",
                  mt);
    json_decref(man);
    return NULL;
  }
  return man;
}

/* ---- layers ---- */

struct layers {
  struct daemon *d;
  struct sink *sink;
  const struct berth_reg_target *target;
  json_t *descs, *diff_ids;
  size_t n;
  char (*chains)[DIGEST_LEN + 1];
  bool *have;
  struct dl *dls;
};

static void short_id(json_t *desc, char out[13]) {
  snprintf(out, 13, "%.12s", (json_string_value(json_object_get(desc, "digest")) ?: "sha256:") + 7);
}

/* which layers the store has already; true if the image is there too */
static bool layers_present(struct layers *L, const char *config_digest) {
  pthread_mutex_lock(&L->d->images.lock);
  char parent[DIGEST_LEN + 1] = "";
  for (size_t i = 0; i < L->n; i++) {
    store_chain_of(parent, json_string_value(json_array_get(L->diff_ids, i)), L->chains[i]);
    L->have[i] = store_layer_locked(&L->d->images, L->chains[i]) != NULL;
    snprintf(parent, sizeof parent, "%s", L->chains[i]);
  }
  bool up_to_date = store_lookup_locked(&L->d->images, config_digest) != NULL;
  pthread_mutex_unlock(&L->d->images.lock);
  return up_to_date;
}

static void join_oldest(struct layers *L, size_t before) {
  for (size_t k = 0; k < before; k++)
    if (L->dls[k].started) {
      pthread_join(L->dls[k].thread, NULL);
      L->dls[k].started = false;
      return;
    }
}

static int download_layers(struct layers *L, struct berth_err *err) {
  struct daemon *d = L->d;
  cleanup_free char *tmpdir = xasprintf("%s/image/tmp", d->cfg.data_root);
  mkdir_p(tmpdir, 0700);
  size_t max_par =
      d->cfg.max_concurrent_downloads > 0 ? (size_t)d->cfg.max_concurrent_downloads : 3;
  for (size_t i = 0; i < L->n; i++) {
    char sid[13];
    short_id(json_array_get(L->descs, i), sid);
    say(L->sink, sid, "%s", L->have[i] ? "Already exists" : "Pulling fs layer");
  }
  int r = 0;
  size_t running = 0;
  for (size_t i = 0; r == 0 && i < L->n; i++) {
    if (L->have[i]) continue;
    json_t *l = json_array_get(L->descs, i);
    struct dl *x = &L->dls[i];
    x->reg = d->registry;
    x->target = L->target;
    x->sink = L->sink;
    snprintf(x->digest, sizeof x->digest, "%s", json_string_value(json_object_get(l, "digest")));
    short_id(l, x->short_id);
    x->size = (uint64_t)json_integer_value(json_object_get(l, "size"));
    x->path = xasprintf("%s/%s.%d.partial", tmpdir, x->digest + 7, (int)getpid());
    if (running >= max_par) {
      join_oldest(L, i); /* wait for the oldest running one */
      running--;
    }
    if (pthread_create(&x->thread, NULL, dl_thread, x) != 0)
      r = berth_err_set(err, BERTH_EINTERNAL, 0, "cannot start a download thread");
    else
      x->started = true, running++;
  }
  for (size_t i = 0; i < L->n; i++)
    if (L->dls[i].started) pthread_join(L->dls[i].thread, NULL), L->dls[i].started = false;
  for (size_t i = 0; r == 0 && i < L->n; i++)
    if (!L->have[i] && L->dls[i].rc < 0) {
      *err = L->dls[i].err;
      r = L->dls[i].rc;
    }
  return r;
}

/* in order, each verified against its diff_id by the store */
static int apply_layers(struct layers *L, struct berth_err *err) {
  char parent[DIGEST_LEN + 1] = "";
  int r = 0;
  for (size_t i = 0; r == 0 && i < L->n; i++) {
    char sid[13];
    short_id(json_array_get(L->descs, i), sid);
    if (!L->have[i]) {
      say(L->sink, sid, "Extracting");
      char got[DIGEST_LEN + 1];
      struct dl *x = &L->dls[i];
      r = store_add_layer_blob(&L->d->images, parent, x->path, x->digest, x->got,
                               json_string_value(json_array_get(L->diff_ids, i)), got, err);
      if (r == 0) say(L->sink, sid, "Pull complete");
    }
    snprintf(parent, sizeof parent, "%s", L->chains[i]);
  }
  return r;
}

static void layers_free(struct layers *L) {
  for (size_t i = 0; i < L->n; i++) {
    if (L->dls[i].path) unlink(L->dls[i].path);
    free(L->dls[i].path);
    if (L->dls[i].sha) sha256_free(L->dls[i].sha);
  }
  free(L->dls);
  free(L->have);
  free(L->chains);
}

/* ---- one reference ---- */

static int pull_one(struct daemon *d, const struct image_ref *ref, const char *platform,
                    const struct berth_reg_target *target, struct sink *sink,
                    char id[DIGEST_LEN + 1], struct berth_err *err) {
  struct drv_reg s;
  int r = drv_reg_open(d->registry, target, &s, err);
  if (r < 0) return r;
  say(sink, ref->digest ? ref->digest : ref->tag, "Pulling from %s", ref->path);
  char man_digest[DIGEST_LEN + 1] = "";
  json_t *man = resolve_manifest(&s, ref, platform, man_digest, err);
  struct berth_buf cb = {sizeof cb, NULL, 0, 0};
  const char *cdig = json_string_value(json_object_get(json_object_get(man, "config"), "digest"));
  r = man ? registry_get_config(&s, cdig, &cb, err) : -err->code;
  drv_reg_close(&s);
  json_t *cfg = r == 0 ? json_loadb(cb.data, cb.len, 0, NULL) : NULL;
  struct layers L = {.d = d,
                     .sink = sink,
                     .target = target,
                     .descs = json_object_get(man, "layers"),
                     .diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")};
  L.n = json_array_size(L.descs);
  if (r == 0 && json_array_size(L.diff_ids) != L.n)
    r = berth_err_set(err, BERTH_EINVAL, 0, "the image config has %zu diff_ids for %zu layers",
                      json_array_size(L.diff_ids), L.n);
  L.chains = xcalloc(L.n + 1, sizeof *L.chains);
  L.have = xcalloc(L.n + 1, sizeof *L.have);
  L.dls = xcalloc(L.n + 1, sizeof *L.dls);
  bool up_to_date = r == 0 && layers_present(&L, cdig);
  if (r == 0) r = download_layers(&L, err);
  if (r == 0) r = apply_layers(&L, err);
  layers_free(&L);
  if (r == 0) r = store_add_image(&d->images, cb.data, cb.len, NULL, id, err);
  if (r == 0 && ref->tag) r = store_tag(&d->images, id, ref, err);
  if (r == 0) {
    /* RepoDigests: repo@manifest-digest */
    struct image_ref dref = {ref->domain, ref->path, NULL, man_digest};
    store_tag(&d->images, id, &dref, err);
    say(sink, NULL, "Digest: %s", man_digest);
    cleanup_free char *fam = ref_familiar(ref);
    ev_emit("image", "pull", fam, json_pack("{s:s}", "name", fam));
    say(sink, NULL, "Status: %s for %s",
        up_to_date ? "Image is up to date" : "Downloaded newer image", fam);
  }
  json_decref(cfg);
  free(cb.data);
  json_decref(man);
  return r;
}

/* pull -a: every tag the registry lists, one after the other */
static int pull_all_tags(struct daemon *d, const struct image_ref *ref, const char *platform,
                         const struct berth_reg_target *target, struct sink *sink,
                         char id[DIGEST_LEN + 1], struct berth_err *err) {
  struct drv_reg s;
  struct berth_buf tags = {sizeof tags, NULL, 0, 0};
  int r = drv_reg_open(d->registry, target, &s, err);
  if (r == 0) r = drv_reg_list_tags(&s, &tags, err);
  drv_reg_close(&s);
  struct image_ref one = *ref;
  char *save = NULL;
  for (char *t = r == 0 && tags.data ? strtok_r(tags.data, "\n", &save) : NULL; t && r == 0;
       t = strtok_r(NULL, "\n", &save)) {
    if (!ref_valid_tag(t)) continue;
    one.tag = t;
    r = pull_one(d, &one, platform, target, sink, id, err);
  }
  free(tags.data);
  return r;
}

int image_pull(struct daemon *d, const struct image_ref *ref, const char *platform,
               const struct berth_reg_auth *auth, const struct xfer_progress *pr,
               char id_out[DIGEST_LEN + 1], struct berth_err *err) {
  if (!d->registry)
    return berth_err_set(err, BERTH_ENOTSUP, 0,
                         "no registry driver is configured (set registry.driver in daemon.conf)");
  struct berth_reg_target target = {sizeof target, ref->domain, ref->path, auth, 0};
  struct sink sink = {pr, PTHREAD_MUTEX_INITIALIZER};
  char id[DIGEST_LEN + 1] = "";
  int r = ref->tag || ref->digest ? pull_one(d, ref, platform, &target, &sink, id, err)
                                  : pull_all_tags(d, ref, platform, &target, &sink, id, err);
  if (r == 0 && id_out) memcpy(id_out, id, sizeof id);
  if (r < 0) log_warn("pull %s/%s: %s", ref->domain, ref->path, err->msg);
  return r;
}
