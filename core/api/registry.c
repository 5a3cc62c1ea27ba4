/* Pull and push through the registry driver (pure transport): the core
 * owns manifests, platform selection, digests, retries, concurrency and
 * the progress stream (reference §7.1). */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "../image/blobio.h"
#include "../image/reference.h"
#include "images.h"

#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

static const char *const accept_all[] = {MT_DOCKER_MANIFEST, MT_DOCKER_LIST, MT_OCI_MANIFEST,
                                         MT_OCI_INDEX, NULL};

/* ---------------- X-Registry-Auth ---------------- */

struct reg_creds {
  char *user, *pass, *token;
  struct berth_reg_auth auth;
};

static void creds_from_header(struct api_request *req, struct reg_creds *c) {
  memset(c, 0, sizeof *c);
  const char *h = api_header(req, "X-Registry-Auth");
  if (!h || !*h) return;
  cleanup_free char *txt = base64_decode(h, NULL);
  json_t *j = json_loads(txt, 0, NULL);
  const char *u = json_string_value(json_object_get(j, "username"));
  const char *p = json_string_value(json_object_get(j, "password"));
  const char *t = json_string_value(json_object_get(j, "registrytoken"));
  c->user = u && *u ? xstrdup(u) : NULL;
  c->pass = p ? xstrdup(p) : NULL;
  c->token = t && *t ? xstrdup(t) : NULL;
  json_decref(j);
  c->auth = (struct berth_reg_auth){sizeof c->auth, c->user, c->pass, NULL, c->token};
}

static void creds_free(struct reg_creds *c) {
  free(c->user);
  free(c->pass);
  free(c->token);
}

/* ---------------- progress ---------------- */

static void say(int fd, const char *id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(int fd, const char *id, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  json_t *j = json_pack("{s:s}", "status", s ? s : "");
  if (id) json_object_set_new(j, "id", json_string(id));
  stream_json(fd, j);
  free(s);
}

/* ---------------- blob download with digest check and resume ---------------- */

struct dl {
  /* in */
  struct daemon *d;
  const struct berth_reg_target *target;
  char digest[DIGEST_LEN + 1];
  uint64_t size;
  char *path; /* where the blob lands */
  int out_fd; /* progress stream */
  pthread_mutex_t *out_lock;
  /* state */
  int fd;
  uint64_t got, last_report;
  struct sha256_ctx *sha;
  /* out */
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
    pthread_mutex_lock(x->out_lock);
    stream_json(x->out_fd, progress_msg("Downloading", x->digest + 7, x->got, x->size));
    pthread_mutex_unlock(x->out_lock);
  }
  return (ssize_t)len;
}

static void *dl_thread(void *p) {
  struct dl *x = p;
  char short_id[13];
  snprintf(short_id, sizeof short_id, "%.12s", x->digest + 7);
  void *sess = NULL;
  struct loaded_plugin *reg = x->d->registry;
  const struct berth_registry_ops *ops = &reg->ops.registry;
  x->rc = ops->open(reg->drv, x->target, &sess, &x->err);
  x->fd = x->rc == 0 ? open(x->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  if (x->rc == 0 && x->fd < 0) x->rc = err_sys(&x->err, BERTH_EINTERNAL, "create %s", x->path);
  x->sha = sha256_new();
  /* a dropped connection resumes from the byte we have */
  for (int attempt = 0; x->rc == 0; attempt++) {
    struct berth_writer w = {x, dl_write};
    struct berth_err e = {0};
    int r = ops->get_blob(sess, x->digest, x->got, &w, &e);
    if (r == 0) break;
    if (attempt >= 3 || (r != -BERTH_EUNAVAILABLE && e.code != BERTH_EUNAVAILABLE)) {
      x->rc = r;
      x->err = e;
      break;
    }
    log_warn("pull %s: %s; retrying from byte %llu", short_id, e.msg, (unsigned long long)x->got);
    pthread_mutex_lock(x->out_lock);
    say(x->out_fd, short_id, "Retrying in %d second%s", attempt + 1, attempt ? "s" : "");
    pthread_mutex_unlock(x->out_lock);
    sleep((unsigned)attempt + 1);
  }
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
  if (sess) ops->close(sess);
  pthread_mutex_lock(x->out_lock);
  if (x->rc == 0) {
    say(x->out_fd, short_id, "Verifying Checksum");
    say(x->out_fd, short_id, "Download complete");
  }
  pthread_mutex_unlock(x->out_lock);
  return NULL;
}

/* A small blob (config, manifest) into memory, verified. */
struct membuf {
  struct berth_buf b;
};
static ssize_t mem_write(void *ctx, const void *buf, size_t len) {
  struct berth_buf *b = ctx;
  b->data = xrealloc(b->data, b->len + len + 1);
  memcpy(b->data + b->len, buf, len);
  b->len += len;
  b->data[b->len] = 0;
  return (ssize_t)len;
}

static bool digest_ok(const char *digest, const void *data, size_t len) {
  char hex[65];
  sha256_hex(data, len, hex);
  return str_has_prefix(digest, "sha256:") && !strcmp(hex, digest + 7);
}

/* ---------------- pull ---------------- */

struct pull_ctx {
  struct daemon *d;
  struct image_ref ref;
  bool all_tags;  /* fromImage without a tag (pull -a) */
  char *platform; /* "linux/amd64" */
  struct reg_creds creds;
};

static json_t *pick_platform(json_t *index, const char *want, char *err, size_t elen) {
  char os[32] = "linux", arch[32] = "amd64", variant[32] = "";
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
  snprintf(err, elen, "no matching manifest for %s/%s%s%s in the manifest list entries", os, arch,
           *variant ? "/" : "", variant);
  return NULL;
}

static int do_pull(struct pull_ctx *p, int fd, struct berth_err *err) {
  struct daemon *d = p->d;
  struct loaded_plugin *reg = d->registry;
  const struct berth_registry_ops *ops = &reg->ops.registry;
  struct berth_reg_target target = {sizeof target, p->ref.domain, p->ref.path,
                                    p->creds.user || p->creds.token ? &p->creds.auth : NULL, 0};
  const char *want = p->ref.digest ? p->ref.digest : p->ref.tag;
  void *sess = NULL;
  int r = ops->open(reg->drv, &target, &sess, err);
  if (r < 0) return r;
  struct berth_buf mb = {sizeof mb, NULL, 0, 0};
  struct berth_descriptor desc;
  say(fd, want, "Pulling from %s", p->ref.path);
  r = ops->get_manifest(sess, want, accept_all, &mb, &desc, err);
  if (r < 0 && err->code == BERTH_ENOTFOUND) {
    cleanup_free char *fam = ref_familiar(&p->ref);
    r = berth_err_set(err, BERTH_ENOTFOUND, 0,
                      "manifest for %s not found: manifest unknown: manifest unknown", fam);
  }
  json_t *man = NULL;
  char man_digest[DIGEST_LEN + 1] = "";
  if (r == 0) {
    man = json_loadb(mb.data, mb.len, 0, NULL);
    char hex[65];
    sha256_hex(mb.data, mb.len, hex);
    snprintf(man_digest, sizeof man_digest, "sha256:%s", hex);
    if (p->ref.digest && strcmp(man_digest, p->ref.digest))
      r = berth_err_set(err, BERTH_EINVAL, 0, "manifest verification failed for digest %s",
                        p->ref.digest);
    else if (!man)
      r = berth_err_set(err, BERTH_EINVAL, 0, "the registry sent a manifest that is not JSON");
  }
  const char *mt = man ? json_string_value(json_object_get(man, "mediaType")) : NULL;
  if (r == 0 && (!mt || !*mt)) mt = desc.media_type;
  if (r == 0 && (!strcmp(mt, MT_DOCKER_LIST) || !strcmp(mt, MT_OCI_INDEX) ||
                 json_object_get(man, "manifests"))) {
    char perr[200];
    json_t *pick = pick_platform(man, p->platform, perr, sizeof perr);
    if (!pick)
      r = berth_err_set(err, BERTH_ENOTFOUND, 0, "%s", perr);
    else {
      char dg[DIGEST_LEN + 1];
      snprintf(dg, sizeof dg, "%s", json_string_value(json_object_get(pick, "digest")));
      free(mb.data);
      mb = (struct berth_buf){sizeof mb, NULL, 0, 0};
      json_decref(man);
      man = NULL;
      r = ops->get_manifest(sess, dg, accept_all, &mb, &desc, err);
      if (r == 0 && !digest_ok(dg, mb.data, mb.len))
        r = berth_err_set(err, BERTH_EINVAL, 0, "manifest verification failed for digest %s", dg);
      if (r == 0 && !(man = json_loadb(mb.data, mb.len, 0, NULL)))
        r = berth_err_set(err, BERTH_EINVAL, 0, "the registry sent a manifest that is not JSON");
    }
  }
  json_t *cfgd = man ? json_object_get(man, "config") : NULL;
  json_t *layers = man ? json_object_get(man, "layers") : NULL;
  if (r == 0 && (!cfgd || !json_is_array(layers)))
    r = berth_err_set(err, BERTH_EINVAL, 0,
                      "unsupported manifest (schema 1 or unknown media type %s)", mt ? mt : "");
  /* the config */
  struct berth_buf cb = {sizeof cb, NULL, 0, 0};
  const char *cdig = cfgd ? json_string_value(json_object_get(cfgd, "digest")) : NULL;
  if (r == 0) {
    struct berth_writer w = {&cb, mem_write};
    r = ops->get_blob(sess, cdig, 0, &w, err);
    if (r == 0 && !digest_ok(cdig, cb.data, cb.len))
      r = berth_err_set(err, BERTH_EINVAL, 0, "image config verification failed for digest %s",
                        cdig);
  }
  json_t *cfg = r == 0 ? json_loadb(cb.data, cb.len, 0, NULL) : NULL;
  json_t *diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
  size_t nl = json_array_size(layers);
  if (r == 0 && json_array_size(diff_ids) != nl)
    r = berth_err_set(err, BERTH_EINVAL, 0, "the image config has %zu diff_ids for %zu layers",
                      json_array_size(diff_ids), nl);
  if (sess) ops->close(sess);
  sess = NULL;
  /* which layers do we have already? */
  char(*chains)[DIGEST_LEN + 1] = xcalloc(nl + 1, sizeof *chains);
  bool *have = xcalloc(nl + 1, sizeof *have);
  struct dl *dls = xcalloc(nl + 1, sizeof *dls);
  pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
  bool up_to_date = false;
  if (r == 0) {
    pthread_mutex_lock(&d->images.lock);
    char parent[DIGEST_LEN + 1] = "";
    for (size_t i = 0; i < nl; i++) {
      store_chain_of(parent, json_string_value(json_array_get(diff_ids, i)), chains[i]);
      have[i] = store_layer_locked(&d->images, chains[i]) != NULL;
      snprintf(parent, sizeof parent, "%s", chains[i]);
    }
    up_to_date = store_lookup_locked(&d->images, cdig) != NULL;
    pthread_mutex_unlock(&d->images.lock);
  }
  cleanup_free char *tmpdir = xasprintf("%s/image/tmp", d->cfg.data_root);
  if (r == 0) mkdir_p(tmpdir, 0700);
  /* download what is missing, registry.max-concurrent-downloads at a time */
  size_t max_par =
      d->cfg.max_concurrent_downloads > 0 ? (size_t)d->cfg.max_concurrent_downloads : 3;
  pthread_t *th = xcalloc(nl + 1, sizeof *th);
  for (size_t i = 0; r == 0 && i < nl; i++) {
    json_t *l = json_array_get(layers, i);
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s", json_string_value(json_object_get(l, "digest")) + 7);
    if (have[i])
      say(fd, sid, "Already exists");
    else
      say(fd, sid, "Pulling fs layer");
  }
  size_t started = 0, joined = 0;
  for (size_t i = 0; r == 0 && i < nl; i++) {
    if (have[i]) continue;
    json_t *l = json_array_get(layers, i);
    struct dl *x = &dls[i];
    x->d = d;
    x->target = &target;
    snprintf(x->digest, sizeof x->digest, "%s", json_string_value(json_object_get(l, "digest")));
    x->size = (uint64_t)json_integer_value(json_object_get(l, "size"));
    x->path = xasprintf("%s/%s.%d.partial", tmpdir, x->digest + 7, (int)getpid());
    x->out_fd = fd;
    x->out_lock = &out_lock;
    if (started - joined >= max_par) {
      /* wait for the oldest running one */
      for (size_t k = 0; k < i; k++)
        if (!have[k] && th[k]) {
          pthread_join(th[k], NULL);
          th[k] = 0;
          joined++;
          break;
        }
    }
    if (pthread_create(&th[i], NULL, dl_thread, x) != 0) {
      r = berth_err_set(err, BERTH_EINTERNAL, 0, "cannot start a download thread");
      break;
    }
    started++;
  }
  for (size_t i = 0; i < nl; i++)
    if (th[i]) pthread_join(th[i], NULL);
  for (size_t i = 0; r == 0 && i < nl; i++)
    if (!have[i] && dls[i].rc < 0) {
      *err = dls[i].err;
      r = dls[i].rc;
    }
  /* apply in order, each verified against its diff_id by the store */
  char parent[DIGEST_LEN + 1] = "";
  for (size_t i = 0; r == 0 && i < nl; i++) {
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s",
             json_string_value(json_object_get(json_array_get(layers, i), "digest")) + 7);
    if (!have[i]) {
      say(fd, sid, "Extracting");
      char got[DIGEST_LEN + 1];
      r = store_add_layer_blob(&d->images, parent, dls[i].path, dls[i].digest, dls[i].got,
                               json_string_value(json_array_get(diff_ids, i)), got, err);
      if (r == 0) say(fd, sid, "Pull complete");
    }
    snprintf(parent, sizeof parent, "%s", chains[i]);
  }
  for (size_t i = 0; i < nl; i++) {
    if (dls[i].path) unlink(dls[i].path);
    free(dls[i].path);
    if (dls[i].sha) sha256_free(dls[i].sha);
  }
  free(th);
  free(dls);
  free(have);
  free(chains);
  char id[DIGEST_LEN + 1] = "";
  if (r == 0) r = store_add_image(&d->images, cb.data, cb.len, NULL, id, err);
  if (r == 0 && p->ref.tag) r = store_tag(&d->images, id, &p->ref, err);
  if (r == 0) {
    /* RepoDigests: repo@manifest-digest */
    struct image_ref dref = {p->ref.domain, p->ref.path, NULL, man_digest};
    store_tag(&d->images, id, &dref, err);
    say(fd, NULL, "Digest: %s", man_digest);
    cleanup_free char *fam = ref_familiar(&p->ref);
    say(fd, NULL, "Status: %s for %s",
        up_to_date ? "Image is up to date" : "Downloaded newer image", fam);
  }
  json_decref(cfg);
  free(cb.data);
  json_decref(man);
  free(mb.data);
  return r;
}

/* pull -a: every tag the registry lists, one after the other */
static int pull_all_tags(struct pull_ctx *p, int fd, struct berth_err *err) {
  struct loaded_plugin *reg = p->d->registry;
  const struct berth_registry_ops *ops = &reg->ops.registry;
  if (!ops->list_tags)
    return berth_err_set(err, BERTH_ENOTSUP, 0, "the registry driver cannot list tags");
  struct berth_reg_target target = {sizeof target, p->ref.domain, p->ref.path,
                                    p->creds.user || p->creds.token ? &p->creds.auth : NULL, 0};
  void *sess = NULL;
  struct berth_buf tags = {sizeof tags, NULL, 0, 0};
  int r = ops->open(reg->drv, &target, &sess, err);
  if (r == 0) r = ops->list_tags(sess, &tags, err);
  if (sess) ops->close(sess);
  char *save = NULL;
  for (char *t = r == 0 && tags.data ? strtok_r(tags.data, "\n", &save) : NULL; t && r == 0;
       t = strtok_r(NULL, "\n", &save)) {
    if (!ref_valid_tag(t)) continue;
    free(p->ref.tag);
    p->ref.tag = xstrdup(t);
    r = do_pull(p, fd, err);
  }
  free(tags.data);
  return r;
}

static void pull_producer(int fd, void *arg) {
  struct pull_ctx *p = arg;
  struct berth_err err = {0};
  if ((p->all_tags ? pull_all_tags(p, fd, &err) : do_pull(p, fd, &err)) < 0) {
    log_warn("pull %s/%s: %s", p->ref.domain, p->ref.path, err.msg);
    stream_error(fd, err.msg);
  }
  ref_free(&p->ref);
  creds_free(&p->creds);
  free(p->platform);
  free(p);
}

int image_pull(struct api_request *req, const char *from) {
  if (!req->d->registry)
    return api_reply_error(
        req, 501,
        "cannot pull %s: no registry driver is configured (set registry.driver in daemon.conf)",
        from);
  const char *tag = api_query(req, "tag");
  cleanup_free char *full =
      tag && *tag ? xasprintf("%s%s%s", from, str_has_prefix(tag, "sha256:") ? "@" : ":", tag)
                  : xstrdup(from);
  struct pull_ctx *p = xcalloc(1, sizeof *p);
  struct berth_err err = {0};
  if (ref_parse(full, false, &p->ref, &err) < 0) {
    free(p);
    return api_reply_error(req, 400, "%s", err.msg);
  }
  /* no tag and no digest: every tag (the docker CLI sends tag=latest itself) */
  p->all_tags = !p->ref.tag && !p->ref.digest;
  p->d = req->d;
  const char *plat = api_query(req, "platform");
  p->platform = xstrdup(plat && *plat ? plat : "linux/amd64");
  creds_from_header(req, &p->creds);
  return api_reply_stream(req, 200, "application/json", pull_producer, p);
}

/* ---------------- push ---------------- */

struct push_ctx {
  struct daemon *d;
  char *name; /* repo as given in the path */
  char *tag;
  struct reg_creds creds;
};

struct file_reader {
  int fd;
  /* progress while a layer uploads (out_fd < 0: none) */
  int out_fd;
  const char *id;
  uint64_t sent, total, last;
};
static ssize_t file_read(void *ctx, void *buf, size_t len) {
  struct file_reader *f = ctx;
  for (;;) {
    ssize_t n = read(f->fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && f->out_fd >= 0) {
      f->sent += (uint64_t)n;
      if (f->sent - f->last >= 512 * 1024 || f->sent == f->total) {
        f->last = f->sent;
        stream_json(f->out_fd, progress_msg("Pushing", f->id, f->sent, f->total));
      }
    }
    return n;
  }
}

static int do_push(struct push_ctx *p, int fd, struct berth_err *err) {
  struct daemon *d = p->d;
  struct image_ref ref;
  cleanup_free char *full =
      p->tag && *p->tag ? xasprintf("%s:%s", p->name, p->tag) : xstrdup(p->name);
  int r = ref_parse(full, true, &ref, err);
  if (r < 0) return r;
  cleanup_free char *canon = ref_repo_canonical(&ref);
  say(fd, NULL, "The push refers to repository [%s]", canon);
  /* what to send: the image's config and its layer blobs, as stored */
  cleanup_free char *named = ref_canonical(&ref);
  pthread_mutex_lock(&d->images.lock);
  struct image *im = store_lookup_locked(&d->images, named);
  size_t nl = im ? im->n_layers : 0;
  char *config = im ? xstrdup(im->config_raw) : NULL;
  size_t config_len = im ? im->config_len : 0;
  char cfg_digest[DIGEST_LEN + 1] = "";
  struct layer *ls = xcalloc(nl + 1, sizeof *ls);
  if (im) {
    snprintf(cfg_digest, sizeof cfg_digest, "%s", im->id);
    /* walk the chain from the top */
    struct layer *l = *im->top_chain ? store_layer_locked(&d->images, im->top_chain) : NULL;
    for (size_t i = nl; l && i-- > 0;) {
      ls[i] = *l;
      l = *l->parent ? store_layer_locked(&d->images, l->parent) : NULL;
    }
  }
  pthread_mutex_unlock(&d->images.lock);
  if (!im) {
    r = berth_err_set(err, BERTH_ENOTFOUND, 0, "An image does not exist locally with the tag: %s",
                      p->name);
    goto out;
  }
  struct loaded_plugin *reg = d->registry;
  const struct berth_registry_ops *ops = &reg->ops.registry;
  struct berth_reg_target target = {sizeof target, ref.domain, ref.path,
                                    p->creds.user || p->creds.token ? &p->creds.auth : NULL,
                                    BERTH_REG_PUSH};
  void *sess = NULL;
  if ((r = ops->open(reg->drv, &target, &sess, err)) < 0) goto out;
  for (size_t i = nl; i-- > 0;) {
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s", ls[i].blob + 7);
    say(fd, sid, "Preparing");
  }
  json_t *mlayers = json_array();
  for (size_t i = nl; r == 0 && i-- > 0;) {
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s", ls[i].blob + 7);
    struct berth_descriptor have;
    struct berth_err e = {0};
    if (ops->stat_blob(sess, ls[i].blob, &have, &e) == 0) {
      say(fd, sid, "Layer already exists");
      continue;
    }
    cleanup_free char *path = store_blob_path(&d->images, ls[i].blob);
    struct file_reader fr = {open(path, O_RDONLY | O_CLOEXEC), fd, sid, 0, ls[i].blob_size, 0};
    if (fr.fd < 0) {
      r = err_sys(err, BERTH_EINTERNAL, "open %s", path);
      break;
    }
    stream_json(fd, progress_msg("Pushing", sid, 0, ls[i].blob_size));
    struct berth_descriptor dd = {MT_DOCKER_LAYER, "", ls[i].blob_size};
    snprintf(dd.digest, sizeof dd.digest, "%s", ls[i].blob);
    struct berth_reader rd = {&fr, file_read};
    r = ops->put_blob(sess, &dd, NULL, &rd, err);
    close(fr.fd);
    if (r == 0) say(fd, sid, "Pushed");
  }
  for (size_t i = 0; i < nl; i++)
    json_array_append_new(mlayers, json_pack("{s:s,s:I,s:s}", "mediaType", MT_DOCKER_LAYER, "size",
                                             (json_int_t)ls[i].blob_size, "digest", ls[i].blob));
  /* the config blob */
  if (r == 0) {
    struct berth_descriptor have;
    struct berth_err e = {0};
    if (ops->stat_blob(sess, cfg_digest, &have, &e) < 0) {
      struct berth_descriptor cd = {MT_DOCKER_CONFIG, "", config_len};
      snprintf(cd.digest, sizeof cd.digest, "%s", cfg_digest);
      int pfd[2];
      if (pipe(pfd) == 0) {
        /* small: the config fits a pipe buffer */
        write_all_fd(pfd[1], config, config_len);
        close(pfd[1]);
        struct file_reader fr = {pfd[0], -1, NULL, 0, 0, 0};
        struct berth_reader rd = {&fr, file_read};
        r = ops->put_blob(sess, &cd, NULL, &rd, err);
        close(pfd[0]);
      } else {
        r = err_sys(err, BERTH_EINTERNAL, "pipe");
      }
    }
  }
  if (r == 0) {
    json_t *man = json_pack("{s:i,s:s,s:{s:s,s:I,s:s},s:o}", "schemaVersion", 2, "mediaType",
                            MT_DOCKER_MANIFEST, "config", "mediaType", MT_DOCKER_CONFIG, "size",
                            (json_int_t)config_len, "digest", cfg_digest, "layers", mlayers);
    mlayers = NULL;
    char *text = json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(man);
    struct berth_descriptor out;
    r = ops->put_manifest(sess, ref.tag ? ref.tag : "latest", MT_DOCKER_MANIFEST, text,
                          strlen(text), &out, err);
    if (r == 0) {
      char hex[65];
      sha256_hex(text, strlen(text), hex);
      char dg[DIGEST_LEN + 1];
      snprintf(dg, sizeof dg, "sha256:%s", hex);
      const char *t = ref.tag ? ref.tag : "latest";
      say(fd, NULL, "%s: digest: %s size: %zu", t, dg, strlen(text));
      stream_json(fd, json_pack("{s:{s:s,s:s,s:I}}", "aux", "Tag", t, "Digest", dg, "Size",
                                (json_int_t)strlen(text)));
      /* record the digest for RepoDigests */
      struct image_ref dref = {ref.domain, ref.path, NULL, dg};
      struct berth_err e2 = {0};
      store_tag(&d->images, cfg_digest, &dref, &e2);
    }
    free(text);
  }
  json_decref(mlayers);
  if (sess) ops->close(sess);
out:
  free(ls);
  free(config);
  ref_free(&ref);
  return r;
}

static void push_producer(int fd, void *arg) {
  struct push_ctx *p = arg;
  struct berth_err err = {0};
  if (do_push(p, fd, &err) < 0) {
    log_warn("push %s: %s", p->name, err.msg);
    stream_error(fd, err.msg);
  }
  free(p->name);
  free(p->tag);
  creds_free(&p->creds);
  free(p);
}

static int image_push(struct api_request *req) {
  const char *name = api_param(req, 0);
  if (!req->d->registry)
    return api_reply_error(
        req, 501,
        "cannot push %s: no registry driver is configured (set registry.driver in daemon.conf)",
        name);
  struct push_ctx *p = xcalloc(1, sizeof *p);
  p->d = req->d;
  p->name = xstrdup(name);
  const char *tag = api_query(req, "tag");
  p->tag = tag && *tag ? xstrdup(tag) : NULL;
  creds_from_header(req, &p->creds);
  /* 404 before streaming, as docker does */
  struct image_ref ref;
  struct berth_err err = {0};
  cleanup_free char *full = p->tag ? xasprintf("%s:%s", name, p->tag) : xstrdup(name);
  if (ref_parse(full, true, &ref, &err) < 0) {
    free(p->name);
    free(p->tag);
    creds_free(&p->creds);
    free(p);
    return api_reply_error(req, 400, "%s", err.msg);
  }
  cleanup_free char *canon = ref_canonical(&ref);
  ref_free(&ref);
  pthread_mutex_lock(&req->d->images.lock);
  bool exists = store_lookup_locked(&req->d->images, canon) != NULL;
  pthread_mutex_unlock(&req->d->images.lock);
  if (!exists) {
    free(p->name);
    free(p->tag);
    creds_free(&p->creds);
    free(p);
    return api_reply_error(req, 404, "An image does not exist locally with the tag: %s", name);
  }
  return api_reply_stream(req, 200, "application/json", push_producer, p);
}

/* ---------------- login ---------------- */

static int auth(struct api_request *req) {
  json_t *body = api_body_json(req);
  if (!body) return 0;
  const char *user = json_string_value(json_object_get(body, "username"));
  const char *pass = json_string_value(json_object_get(body, "password"));
  const char *sv = json_string_value(json_object_get(body, "serveraddress"));
  cleanup_free char *server =
      xstrdup(!sv || !*sv || strstr(sv, "index.docker.io") ? "docker.io" : sv);
  /* "https://host:5000/" -> "host:5000" */
  cleanup_free char *host = xstrdup(str_has_prefix(server, "https://")  ? server + 8
                                    : str_has_prefix(server, "http://") ? server + 7
                                                                        : server);
  host[strcspn(host, "/")] = 0;
  int r = 0;
  struct berth_err err = {0};
  struct loaded_plugin *reg = req->d->registry;
  if (!reg)
    r = berth_err_set(&err, BERTH_ENOTSUP, 0, "no registry driver is configured");
  else if (!reg->ops.registry.login)
    r = berth_err_set(&err, BERTH_ENOTSUP, 0, "the registry driver cannot log in");
  else {
    struct berth_reg_auth a = {sizeof a, user, pass, NULL, NULL};
    r = reg->ops.registry.login(reg->drv, host, &a, NULL, &err);
  }
  json_decref(body);
  if (r < 0) {
    if (err.code == BERTH_EUNAUTHORIZED)
      return api_reply_error(
          req, 401, "login attempt to https://%s/v2/ failed with status: 401 Unauthorized", host);
    return api_reply_err(req, &err);
  }
  return api_reply_json(req, 200,
                        json_pack("{s:s,s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
}

/* ---------------- GET /distribution/{name}/json ---------------- */

static int distribution_inspect(struct api_request *req) {
  const char *name = api_param(req, 0);
  struct loaded_plugin *reg = req->d->registry;
  if (!reg) return api_reply_error(req, 501, "no registry driver is configured");
  struct image_ref ref;
  struct berth_err err = {0};
  if (ref_parse(name, true, &ref, &err) < 0) return api_reply_error(req, 400, "%s", err.msg);
  struct reg_creds creds;
  creds_from_header(req, &creds);
  const struct berth_registry_ops *ops = &reg->ops.registry;
  struct berth_reg_target target = {sizeof target, ref.domain, ref.path,
                                    creds.user || creds.token ? &creds.auth : NULL, 0};
  void *sess = NULL;
  struct berth_buf mb = {sizeof mb, NULL, 0, 0}, cb = {sizeof cb, NULL, 0, 0};
  struct berth_descriptor desc;
  json_t *out = NULL;
  int r = ops->open(reg->drv, &target, &sess, &err);
  if (r == 0)
    r = ops->get_manifest(sess, ref.digest ? ref.digest : ref.tag, accept_all, &mb, &desc, &err);
  json_t *man = r == 0 ? json_loadb(mb.data, mb.len, 0, NULL) : NULL;
  if (r == 0 && !man)
    r = berth_err_set(&err, BERTH_EINVAL, 0, "the registry sent a manifest that is not JSON");
  if (r == 0) {
    char hex[65];
    sha256_hex(mb.data, mb.len, hex);
    const char *mt = json_string_value(json_object_get(man, "mediaType"));
    json_t *plats = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(man, "manifests"), i, m) {
      json_t *p = json_object_get(m, "platform");
      if (p) json_array_append(plats, p);
    }
    const char *cdig = json_string_value(json_object_get(json_object_get(man, "config"), "digest"));
    if (cdig) {
      struct berth_writer w = {&cb, mem_write};
      if (ops->get_blob(sess, cdig, 0, &w, &err) == 0 && digest_ok(cdig, cb.data, cb.len)) {
        json_t *cfg = json_loadb(cb.data, cb.len, 0, NULL);
        json_array_append_new(
            plats, json_pack("{s:s,s:s}", "architecture",
                             json_string_value(json_object_get(cfg, "architecture")) ?: "", "os",
                             json_string_value(json_object_get(cfg, "os")) ?: ""));
        json_decref(cfg);
      }
    }
    out = json_pack("{s:{s:s,s:s,s:I},s:o}", "Descriptor", "mediaType",
                    mt && *mt ? mt : desc.media_type, "digest", (char[72]){0}, "size",
                    (json_int_t)mb.len, "Platforms", plats);
    json_object_set_new(json_object_get(out, "Descriptor"), "digest",
                        json_sprintf("sha256:%s", hex));
  }
  json_decref(man);
  free(mb.data);
  free(cb.data);
  if (sess) ops->close(sess);
  creds_free(&creds);
  ref_free(&ref);
  if (r < 0)
    return err.code == BERTH_EUNAUTHORIZED || err.code == BERTH_ENOTFOUND
               ? api_reply_error(req, err.code == BERTH_ENOTFOUND ? 404 : 401, "%s", err.msg)
               : api_reply_err(req, &err);
  return api_reply_json(req, 200, out);
}

/* ---------------- GET /images/search ---------------- */

static int search(struct api_request *req) {
  const char *term = api_query(req, "term");
  if (!term || !*term) return api_reply_error(req, 400, "term is required");
  struct loaded_plugin *reg = req->d->registry;
  if (!reg) return api_reply_error(req, 501, "no registry driver is configured");
  if (!reg->ops.registry.search)
    return api_reply_error(req, 501, "the registry driver cannot search");
  /* "host:5000/name" searches that registry; a bare term searches docker.io */
  cleanup_free char *host = NULL;
  const char *q = term, *slash = strchr(term, '/');
  if (slash && (memchr(term, '.', (size_t)(slash - term)) ||
                memchr(term, ':', (size_t)(slash - term)) || !strncmp(term, "localhost/", 10))) {
    host = strndup(term, (size_t)(slash - term));
    q = slash + 1;
  }
  int64_t limit = api_query_int(req, "limit", 25);
  struct berth_buf out = {sizeof out, NULL, 0, 0};
  struct berth_err err = {0};
  int r = reg->ops.registry.search(reg->drv, host ? host : "docker.io", q,
                                   (uint32_t)(limit > 0 ? limit : 25), &out, &err);
  json_t *j =
      r == 0 ? json_loadb(out.data ? out.data : "[]", out.data ? out.len : 2, 0, NULL) : NULL;
  free(out.data);
  if (r < 0) return api_reply_err(req, &err);
  if (!j) return api_reply_error(req, 500, "the registry driver's search result is not JSON");
  /* filters: is-official, is-automated, stars */
  json_t *f = json_loads(api_query(req, "filters") ? api_query(req, "filters") : "{}", 0, NULL);
  json_t *stars = json_object_get(f, "stars");
  int64_t min_stars = 0;
  const char *k;
  json_t *v;
  json_object_foreach(stars, k, v) min_stars = strtoll(k, NULL, 10);
  bool want_official = json_object_get(json_object_get(f, "is-official"), "true") != NULL;
  json_t *res = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(j, i, e) {
    if (json_integer_value(json_object_get(e, "star_count")) < min_stars) continue;
    if (want_official && !json_is_true(json_object_get(e, "is_official"))) continue;
    json_array_append(res, e);
  }
  json_decref(f);
  json_decref(j);
  return api_reply_json(req, 200, res);
}

const struct api_route registry_routes[] = {
    {"GET", "/images/search", search, BODY_BUFFER, NULL},
    {"GET", "/distribution/{name*}/json", distribution_inspect, BODY_BUFFER, NULL},
    {"POST", "/images/{name*}/push", image_push, BODY_BUFFER, NULL},
    {"POST", "/auth", auth, BODY_BUFFER, NULL},
};
const size_t n_registry_routes = ARRAY_SIZE(registry_routes);
