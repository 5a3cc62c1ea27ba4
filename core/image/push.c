/* Push: the image's layer blobs as stored (skipping what the registry
 * has), its config, then a schema-2 manifest under the tag. */
#include <fcntl.h>
#include <pthread.h>

#include "../daemon.h"
#include "../driver.h"
#include "../events/events.h"
#include "blobio.h"
#include "registry.h"

struct file_reader {
  int fd;
  const struct xfer_progress *pr; /* NULL: no progress */
  const char *id;
  uint64_t sent, total, last;
};

static ssize_t file_read(void *ctx, void *buf, size_t len) {
  struct file_reader *f = ctx;
  for (;;) {
    ssize_t n = read(f->fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && f->pr) {
      f->sent += (uint64_t)n;
      if (f->sent - f->last >= 512 * 1024 || f->sent == f->total) {
        f->last = f->sent;
        xfer_bytes(f->pr, "Pushing", f->id, f->sent, f->total);
      }
    }
    return n;
  }
}

/* what to send: the image's config and its layers, bottom first */
struct push_src {
  char *config;
  size_t config_len;
  char cfg_digest[DIGEST_LEN + 1];
  struct layer *layers;
  size_t n;
};

static bool push_src_get(struct daemon *d, const char *named, struct push_src *p) {
  pthread_mutex_lock(&d->images.lock);
  struct image *im = store_lookup_locked(&d->images, named);
  if (im) {
    p->n = im->n_layers;
    p->config = xstrdup(im->config_raw);
    p->config_len = im->config_len;
    snprintf(p->cfg_digest, sizeof p->cfg_digest, "%s", im->id);
    p->layers = xcalloc(p->n + 1, sizeof *p->layers);
    /* walk the chain from the top */
    struct layer *l = *im->top_chain ? store_layer_locked(&d->images, im->top_chain) : NULL;
    for (size_t i = p->n; l && i-- > 0;) {
      p->layers[i] = *l;
      l = *l->parent ? store_layer_locked(&d->images, l->parent) : NULL;
    }
  }
  pthread_mutex_unlock(&d->images.lock);
  return im != NULL;
}

static int push_layers(struct daemon *d, struct drv_reg *s, struct push_src *p,
                       const struct xfer_progress *pr, struct berth_err *err) {
  for (size_t i = p->n; i-- > 0;) /* layers made here: compressed now, once */
    if (store_compress_layer(&d->images, &p->layers[i], err) < 0) return -err->code;
  for (size_t i = p->n; i-- > 0;) {
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s", p->layers[i].blob + 7);
    xfer_status(pr, sid, "Preparing");
  }
  int r = 0;
  for (size_t i = p->n; r == 0 && i-- > 0;) {
    struct layer *l = &p->layers[i];
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s", l->blob + 7);
    struct berth_reg_desc have;
    struct berth_err e = {0};
    if (drv_reg_stat_blob(s, l->blob, &have, &e) == 0) {
      xfer_status(pr, sid, "Layer already exists");
      continue;
    }
    cleanup_free char *path = store_blob_path(&d->images, l->blob);
    struct file_reader fr = {open(path, O_RDONLY | O_CLOEXEC), pr, sid, 0, l->blob_size, 0};
    if (fr.fd < 0) return err_sys(err, BERTH_EINTERNAL, "open %s", path);
    xfer_bytes(pr, "Pushing", sid, 0, l->blob_size);
    struct berth_reg_desc dd = {sizeof dd, MT_DOCKER_LAYER, "", l->blob_size};
    snprintf(dd.digest, sizeof dd.digest, "%s", l->blob);
    struct berth_reader rd = BERTH_READER(&fr, file_read);
    r = drv_reg_put_blob(s, &dd, NULL, &rd, err);
    close(fr.fd);
    if (r == 0) xfer_status(pr, sid, "Pushed");
  }
  return r;
}

static int push_config(struct drv_reg *s, struct push_src *p, struct berth_err *err) {
  struct berth_reg_desc have;
  struct berth_err e = {0};
  if (drv_reg_stat_blob(s, p->cfg_digest, &have, &e) == 0) return 0;
  struct berth_reg_desc cd = {sizeof cd, MT_DOCKER_CONFIG, "", p->config_len};
  snprintf(cd.digest, sizeof cd.digest, "%s", p->cfg_digest);
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return err_sys(err, BERTH_EINTERNAL, "pipe");
  /* small: the config fits a pipe buffer */
  write_all_fd(pfd[1], p->config, p->config_len);
  close(pfd[1]);
  struct file_reader fr = {pfd[0], NULL, NULL, 0, 0, 0};
  struct berth_reader rd = BERTH_READER(&fr, file_read);
  int r = drv_reg_put_blob(s, &cd, NULL, &rd, err);
  close(pfd[0]);
  return r;
}

static int push_manifest(struct daemon *d, struct drv_reg *s, const struct image_ref *ref,
                         struct push_src *p, const struct xfer_progress *pr,
                         struct berth_err *err) {
  json_t *mlayers = json_array();
  for (size_t i = 0; i < p->n; i++)
    json_array_append_new(mlayers, json_pack("{s:s,s:I,s:s}", "mediaType", MT_DOCKER_LAYER, "size",
                                             (json_int_t)p->layers[i].blob_size, "digest",
                                             p->layers[i].blob));
  json_t *man = json_pack("{s:i,s:s,s:{s:s,s:I,s:s},s:o}", "schemaVersion", 2, "mediaType",
                          MT_DOCKER_MANIFEST, "config", "mediaType", MT_DOCKER_CONFIG, "size",
                          (json_int_t)p->config_len, "digest", p->cfg_digest, "layers", mlayers);
  cleanup_free char *text = json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(man);
  const char *t = ref->tag ? ref->tag : "latest";
  struct berth_reg_desc out;
  int r = drv_reg_put_manifest(s, t, MT_DOCKER_MANIFEST, text, strlen(text), &out, err);
  if (r < 0) return r;
  char hex[65], dg[DIGEST_LEN + 1];
  sha256_hex(text, strlen(text), hex);
  snprintf(dg, sizeof dg, "sha256:%s", hex);
  xfer_status(pr, NULL, "%s: digest: %s size: %zu", t, dg, strlen(text));
  xfer_aux(pr,
           json_pack("{s:s,s:s,s:I}", "Tag", t, "Digest", dg, "Size", (json_int_t)strlen(text)));
  /* record the digest for RepoDigests */
  struct image_ref dref = {ref->domain, ref->path, NULL, dg};
  struct berth_err e2 = {0};
  store_tag(&d->images, p->cfg_digest, &dref, &e2);
  return 0;
}

static int push_one(struct daemon *d, const char *name, const char *tag,
                    const struct berth_reg_auth *auth, const struct xfer_progress *pr,
                    struct berth_err *err) {
  struct image_ref ref;
  cleanup_free char *full = tag && *tag ? xasprintf("%s:%s", name, tag) : xstrdup(name);
  int r = ref_parse(full, true, &ref, err);
  if (r < 0) return r;
  cleanup_free char *canon = ref_repo_canonical(&ref);
  cleanup_free char *named = ref_canonical(&ref);
  struct push_src p = {0};
  if (!push_src_get(d, named, &p)) {
    ref_free(&ref);
    return berth_err_set(err, BERTH_ENOTFOUND, 0,
                         "An image does not exist locally with the tag: %s", name);
  }
  xfer_status(pr, NULL, "The push refers to repository [%s]", canon);
  struct berth_reg_target target = {sizeof target, ref.domain, ref.path, auth, BERTH_REG_PUSH};
  struct drv_reg s;
  r = drv_reg_open(d->registry, &target, &s, err);
  if (r == 0) r = push_layers(d, &s, &p, pr, err);
  if (r == 0) r = push_config(&s, &p, err);
  if (r == 0) r = push_manifest(d, &s, &ref, &p, pr, err);
  drv_reg_close(&s);
  if (r < 0) log_warn("push %s: %s", name, err->msg);
  if (r == 0) {
    cleanup_free char *fam = ref_familiar(&ref);
    ev_emit("image", "push", fam, json_pack("{s:s}", "name", fam));
  }
  free(p.layers);
  free(p.config);
  ref_free(&ref);
  return r;
}

char **image_push_tags(struct daemon *d, const char *name, const char *tag, size_t *n,
                       struct berth_err *err) {
  struct image_ref ref;
  cleanup_free char *full = tag && *tag ? xasprintf("%s:%s", name, tag) : xstrdup(name);
  *n = 0;
  if (ref_parse(full, false, &ref, err) < 0) return NULL;
  bool all = !ref.tag && !ref.digest; /* push -a */
  cleanup_free char *repo = ref_repo_canonical(&ref);
  cleanup_free char *canon = ref_canonical(&ref);
  ref_free(&ref);
  char **v = NULL;
  pthread_mutex_lock(&d->images.lock);
  if (all) {
    v = store_repo_tags_locked(&d->images, repo, n);
  } else if (store_lookup_locked(&d->images, canon)) {
    v = xcalloc(2, sizeof *v);
    v[(*n)++] = xstrdup(""); /* as asked */
  }
  pthread_mutex_unlock(&d->images.lock);
  if (!*n)
    berth_err_set(err, BERTH_ENOTFOUND, 0, "An image does not exist locally with the tag: %s",
                  name);
  return *n ? v : (free(v), NULL);
}

int image_push(struct daemon *d, const char *name, const char *tag,
               const struct berth_reg_auth *auth, const struct xfer_progress *pr,
               struct berth_err *err) {
  if (!d->registry)
    return berth_err_set(err, BERTH_ENOTSUP, 0,
                         "no registry driver is configured (set registry.driver in daemon.conf)");
  size_t n;
  char **tags = image_push_tags(d, name, tag, &n, err);
  int r = tags ? 0 : -err->code;
  for (size_t i = 0; i < n && r == 0; i++)
    r = push_one(d, name, *tags[i] ? tags[i] : tag, auth, pr, err);
  free_strv(tags, n);
  return r;
}
