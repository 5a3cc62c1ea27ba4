/* Images in and out as tars: save (docker-save and OCI layout in one
 * tar), load (either format), import (a rootfs tar plus Dockerfile-style
 * changes).  No HTTP: the API streams, progress goes to a sink. */
#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "../events/events.h"
#include "../util/lazylib.h"
#include "blobio.h"
#include "imageconf.h"
#include "layer.h"

struct load_ctx {
  struct image_store *store;
  const char *dir; /* the extracted outer tar */
  const struct xfer_progress *pr;
};

/* A reader that reports progress on a stream every 1% or so. */
struct progress_reader {
  struct berth_reader inner;
  struct berth_reader self;
  const struct xfer_progress *pr;
  char id[16];
  uint64_t cur, total, last;
};

static ssize_t progress_read(void *ctx, void *buf, size_t len) {
  struct progress_reader *p = ctx;
  ssize_t n = p->inner.read(p->inner.ctx, buf, len);
  if (n > 0) {
    p->cur += (uint64_t)n;
    if (p->cur - p->last > p->total / 64 + 65536 || p->cur == p->total) {
      p->last = p->cur;
      xfer_bytes(p->pr, "Loading layer", p->id, p->cur, p->total);
    }
  }
  return n;
}

/* ---------------- save ---------------- */

struct save_image {
  char id[DIGEST_LEN + 1];
  char *config;
  size_t config_len;
  size_t n_layers;
  char **diff_ids;
  char **blobs; /* blob file paths */
  uint64_t *tar_sizes;
  json_t *tags; /* canonical refs */
};

struct image_save {
  struct save_image *images;
  size_t n;
};

void image_save_free(struct image_save *c) {
  for (size_t i = 0; i < c->n; i++) {
    struct save_image *s = &c->images[i];
    free(s->config);
    free_strv(s->diff_ids, s->n_layers);
    free_strv(s->blobs, s->n_layers);
    free(s->tar_sizes);
    json_decref(s->tags);
  }
  free(c->images);
  free(c);
}

static la_ssize_t fd_write_cb(struct archive *a, void *ctx, const void *buf, size_t len) {
  (void)a;
  return write_all_fd(*(int *)ctx, buf, len) < 0 ? -1 : (la_ssize_t)len;
}

static struct archive_entry *new_entry(const char *name, mode_t type, int64_t size) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e, size);
  archive_entry_set_mtime(e, 0, 0);
  return e;
}

static int tar_add_data(struct archive *a, const char *name, const void *data, size_t len) {
  struct archive_entry *e = new_entry(name, AE_IFREG, (int64_t)len);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) return -1;
  return archive_write_data(a, data, len) == (la_ssize_t)len ? 0 : -1;
}

static int tar_add_blob_json(struct archive *a, json_t *j, char digest[DIGEST_LEN + 1],
                             size_t *size) {
  char *s = json_dumps(j, JSON_COMPACT);
  size_t len = strlen(s);
  char hex[65];
  sha256_hex(s, len, hex);
  snprintf(digest, DIGEST_LEN + 1, "sha256:%s", hex);
  cleanup_free char *name = xasprintf("blobs/sha256/%s", hex);
  int r = tar_add_data(a, name, s, len);
  free(s);
  if (size) *size = len;
  return r;
}

static int tar_add_layer(struct archive *a, const char *name, const char *blob, uint64_t size) {
  struct berth_reader *in = gz_reader_open(blob);
  if (!in) return -1;
  struct archive_entry *e = new_entry(name, AE_IFREG, (int64_t)size);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  char buf[65536];
  uint64_t done = 0;
  while (r == ARCHIVE_OK && done < size) {
    ssize_t n = in->read(in->ctx, buf, sizeof buf);
    if (n <= 0) {
      r = -1;
      break;
    }
    if ((uint64_t)n > size - done) n = (ssize_t)(size - done);
    if (archive_write_data(a, buf, (size_t)n) != n) r = -1;
    done += (uint64_t)n;
  }
  gz_reader_free(in);
  return r == ARCHIVE_OK ? 0 : -1;
}

void image_save_write(struct image_save *c, int fd) {
  struct archive *a = archive_write_new(); /* not NULL: image_save_add opened libarchive */
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open(a, &fd, NULL, fd_write_cb, NULL) != ARCHIVE_OK) goto out;
  json_t *manifest = json_array();
  json_t *index = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType",
                            "application/vnd.oci.image.index.v1+json", "manifests");
  int r = 0;
  struct archive_entry *e = new_entry("blobs", AE_IFDIR, 0);
  archive_write_header(a, e);
  archive_entry_free(e);
  e = new_entry("blobs/sha256", AE_IFDIR, 0);
  archive_write_header(a, e);
  archive_entry_free(e);
  json_t *written = json_object(); /* layer blobs already in the tar */
  for (size_t i = 0; i < c->n && r == 0; i++) {
    struct save_image *s = &c->images[i];
    cleanup_free char *cfg_name = xasprintf("blobs/sha256/%s", s->id + 7);
    r = tar_add_data(a, cfg_name, s->config, s->config_len);
    json_t *layers = json_array(), *oci_layers = json_array();
    for (size_t l = 0; l < s->n_layers && r == 0; l++) {
      cleanup_free char *lname = xasprintf("blobs/sha256/%s", s->diff_ids[l] + 7);
      if (!json_object_get(written, lname)) {
        r = tar_add_layer(a, lname, s->blobs[l], s->tar_sizes[l]);
        json_object_set_new(written, lname, json_true());
      }
      json_array_append_new(layers, json_string(lname));
      json_array_append_new(oci_layers,
                            json_pack("{s:s,s:s,s:I}", "mediaType",
                                      "application/vnd.oci.image.layer.v1.tar", "digest",
                                      s->diff_ids[l], "size", (json_int_t)s->tar_sizes[l]));
    }
    json_t *repo_tags = json_array();
    size_t k;
    json_t *t;
    json_array_foreach(s->tags, k, t) {
      char *fam = ref_familiarize(json_string_value(t));
      json_array_append_new(repo_tags, json_string(fam));
      free(fam);
    }
    json_array_append_new(manifest, json_pack("{s:s,s:o,s:o}", "Config", cfg_name, "RepoTags",
                                              repo_tags, "Layers", layers));
    json_t *oci = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
                            "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                            "application/vnd.oci.image.config.v1+json", "digest", s->id, "size",
                            (json_int_t)s->config_len, "layers", oci_layers);
    char mdigest[DIGEST_LEN + 1];
    size_t msize = 0;
    if (r == 0) r = tar_add_blob_json(a, oci, mdigest, &msize);
    json_decref(oci);
    json_t *entries = json_object_get(index, "manifests");
    if (json_array_size(s->tags) == 0)
      json_array_append_new(entries, json_pack("{s:s,s:s,s:I}", "mediaType",
                                               "application/vnd.oci.image.manifest.v1+json",
                                               "digest", mdigest, "size", (json_int_t)msize));
    json_array_foreach(s->tags, k, t) {
      const char *ref = json_string_value(t);
      const char *colon = strrchr(ref, ':');
      json_array_append_new(entries, json_pack("{s:s,s:s,s:I,s:{s:s,s:s}}", "mediaType",
                                               "application/vnd.oci.image.manifest.v1+json",
                                               "digest", mdigest, "size", (json_int_t)msize,
                                               "annotations", "io.containerd.image.name", ref,
                                               "org.opencontainers.image.ref.name",
                                               colon ? colon + 1 : "latest"));
    }
  }
  json_decref(written);
  if (r == 0) {
    char *m = json_dumps(manifest, JSON_COMPACT);
    char *x = json_dumps(index, JSON_COMPACT);
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    r = tar_add_data(a, "index.json", x, strlen(x)) ||
        tar_add_data(a, "manifest.json", m, strlen(m)) ||
        tar_add_data(a, "oci-layout", layout, sizeof layout - 1);
    free(m);
    free(x);
  }
  json_decref(manifest);
  json_decref(index);
  if (r == 0)
    archive_write_close(a);
  else
    log_error("image save: failed while writing the tar; the stream is cut short");
out:
  archive_write_free(a);
}

int image_save_add(struct image_store *s, struct image_save *c, const char *name,
                   struct berth_err *err) {
  if (lazylib_need(&lazy_libarchive, err) < 0) return -err->code;
  pthread_mutex_lock(&s->lock);
  struct image *im = store_lookup_locked(s, name);
  if (!im) {
    pthread_mutex_unlock(&s->lock);
    /* dockerd's words: a name with its tag or digest is a reference its
     * store does not have */
    const char *last = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    bool ref = strncmp(name, "sha256:", 7) && (strchr(last, ':') || strchr(name, '@'));
    if (ref) return berth_err_set(err, BERTH_ENOTFOUND, 0, "reference does not exist");
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", name);
  }
  ev_emit("image", "save", im->id, json_pack("{s:s}", "name", im->id)); /* docker's: the id */
  struct save_image *si = NULL;
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->images[i].id, im->id)) si = &c->images[i];
  if (!si) {
    c->images = xrealloc(c->images, (c->n + 1) * sizeof *c->images);
    si = &c->images[c->n++];
    memset(si, 0, sizeof *si);
    memcpy(si->id, im->id, sizeof si->id);
    si->config = xmalloc(im->config_len);
    memcpy(si->config, im->config_raw, im->config_len);
    si->config_len = im->config_len;
    si->n_layers = im->n_layers;
    si->diff_ids = xcalloc(im->n_layers + 1, sizeof(char *));
    si->blobs = xcalloc(im->n_layers + 1, sizeof(char *));
    si->tar_sizes = xcalloc(im->n_layers + 1, sizeof(uint64_t));
    si->tags = json_array();
    struct layer *l = *im->top_chain ? store_layer_locked(s, im->top_chain) : NULL;
    for (size_t i = im->n_layers; i > 0 && l; i--) {
      si->diff_ids[i - 1] = xstrdup(l->diff_id);
      si->blobs[i - 1] = store_blob_path(s, l->blob);
      si->tar_sizes[i - 1] = l->tar_size;
      l = *l->parent ? store_layer_locked(s, l->parent) : NULL;
    }
  }
  /* A name that is a tag saves that tag; an id saves none (like docker). */
  struct image_ref r;
  if (strncmp(im->id + 7, str_has_prefix(name, "sha256:") ? name + 7 : name, strlen(name)) &&
      ref_parse(name, true, &r, NULL) == 0) {
    if (r.tag && !r.digest) {
      char *canon = ref_canonical(&r);
      json_array_append_new(si->tags, json_string(canon));
      free(canon);
    }
    ref_free(&r);
  }
  pthread_mutex_unlock(&s->lock);
  return 0;
}

/* A relative path inside the extracted archive, or NULL. */
static char *inside(const char *dir, const char *rel) {
  if (!rel || rel[0] == '/' || strstr(rel, "..")) return NULL;
  return xasprintf("%s/%s", dir, rel);
}

static int load_one(struct load_ctx *c, const char *config_path, json_t *layer_paths, json_t *names,
                    json_t *loaded, struct berth_err *err) {
  size_t clen;
  cleanup_free char *config = config_path ? read_file(config_path, &clen) : NULL;
  if (!config) return berth_err_set(err, BERTH_EINVAL, 0, "invalid image archive: config missing");
  json_t *cj = json_loadb(config, clen, 0, NULL);
  json_t *diff_ids = json_object_get(json_object_get(cj, "rootfs"), "diff_ids");
  if (!json_is_array(diff_ids) || json_array_size(diff_ids) != json_array_size(layer_paths)) {
    json_decref(cj);
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid image archive: %zu layers listed, the config has %zu",
                         json_array_size(layer_paths), json_array_size(diff_ids));
  }
  char chain[DIGEST_LEN + 1] = "";
  int r = 0;
  for (size_t i = 0; i < json_array_size(layer_paths) && r == 0; i++) {
    const char *diff = json_string_value(json_array_get(diff_ids, i));
    cleanup_free char *path = inside(c->dir, json_string_value(json_array_get(layer_paths, i)));
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
      r = berth_err_set(err, BERTH_EINVAL, 0, "invalid image archive: layer %zu missing", i + 1);
      break;
    }
    struct stat st;
    fstat(fd, &st);
    struct progress_reader pr = {BERTH_READER(&fd, fd_reader_read),
                                 BERTH_READER(NULL, progress_read),
                                 c->pr,
                                 "",
                                 0,
                                 (uint64_t)st.st_size,
                                 0};
    pr.self.ctx = &pr;
    snprintf(pr.id, sizeof pr.id, "%.12s", diff && strlen(diff) > 7 ? diff + 7 : "layer");
    char next[DIGEST_LEN + 1];
    r = store_add_layer(c->store, chain, &pr.self, diff, next, err);
    close(fd);
    if (r == 0) {
      memcpy(chain, next, sizeof chain);
      xfer_bytes(c->pr, "Loading layer", pr.id, pr.total, pr.total);
    }
  }
  json_decref(cj);
  if (r < 0) return r;
  char id[DIGEST_LEN + 1];
  if ((r = store_add_image(c->store, config, clen, NULL, id, err)) < 0) return r;
  size_t k;
  json_t *n;
  size_t tagged = 0;
  json_array_foreach(names, k, n) {
    struct image_ref ref;
    if (ref_parse(json_string_value(n), true, &ref, err) < 0) return -err->code;
    r = store_tag(c->store, id, &ref, err);
    cleanup_free char *fam = ref_familiar(&ref);
    ref_free(&ref);
    if (r < 0) return r;
    xfer_stream(c->pr, "Loaded image: %s\n", fam);
    tagged++;
  }
  if (!tagged) xfer_stream(c->pr, "Loaded image ID: %s\n", id);
  /* docker's: one load of the id (its names come as tag events) */
  ev_emit("image", "load", id, json_pack("{s:s}", "name", id));
  json_array_append_new(loaded, json_string(id));
  return 0;
}

static char *blob_file(const char *dir, const char *digest) {
  if (!digest || !str_has_prefix(digest, "sha256:") || strlen(digest) != DIGEST_LEN ||
      !is_hex(digest + 7, 64))
    return NULL;
  return xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
}

/* A JSON blob of an OCI layout, checked against the digest that names it. */
#define OCI_JSON_MAX (4u << 20)
static json_t *load_blob_json(const char *dir, const char *digest, const char *what,
                              struct berth_err *err) {
  cleanup_free char *p = blob_file(dir, digest);
  size_t len = 0;
  cleanup_free char *text = p ? read_file(p, &len) : NULL;
  if (!text || len > OCI_JSON_MAX) {
    berth_err_set(err, BERTH_EINVAL, 0, "invalid image archive: %s %s missing", what,
                  digest ? digest : "");
    return NULL;
  }
  char hex[65];
  sha256_hex(text, len, hex);
  if (strcmp(hex, digest + 7)) {
    berth_err_set(err, BERTH_EINVAL, 0,
                  "invalid image archive: %s %s: content does not match its digest", what, digest);
    return NULL;
  }
  json_t *j = json_loadb(text, len, 0, NULL);
  if (!j)
    berth_err_set(err, BERTH_EINVAL, 0, "invalid image archive: %s %s is not JSON", what, digest);
  return j;
}

static int load_oci_manifest(struct load_ctx *c, const char *digest, json_t *names, json_t *loaded,
                             struct berth_err *err);

/* An index may name nested indexes (a multi-platform image under a
 * tagged one); deeper than this is a cycle or an attack. */
#define OCI_INDEX_DEPTH 4

static int load_oci_index(struct load_ctx *c, json_t *index, json_t *loaded, int depth,
                          struct berth_err *err) {
  if (depth > OCI_INDEX_DEPTH)
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "invalid image archive: indexes nested deeper than %d (an index that lists itself?)",
        OCI_INDEX_DEPTH);
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(index, "manifests"), i, m) {
    const char *mt = json_string_value(json_object_get(m, "mediaType"));
    const char *digest = json_string_value(json_object_get(m, "digest"));
    json_t *ann = json_object_get(m, "annotations");
    const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
    const char *refname =
        json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
    json_t *names = json_array();
    if (name)
      json_array_append_new(names, json_string(name));
    else if (refname && strchr(refname, '/'))
      json_array_append_new(names, json_string(refname));
    int r;
    if (mt && strstr(mt, "index")) {
      json_t *sub = load_blob_json(c->dir, digest, "index", err);
      if (!sub) {
        json_decref(names);
        return -err->code;
      }
      /* pick this machine's platform from a multi-platform index */
      json_t *pick = json_pack("{s:[]}", "manifests");
      size_t k;
      json_t *e;
      json_array_foreach(json_object_get(sub, "manifests"), k, e) {
        json_t *pl = json_object_get(e, "platform");
        const char *os = json_string_value(json_object_get(pl, "os"));
        const char *arch = json_string_value(json_object_get(pl, "architecture"));
        if (!pl || ((!os || !strcmp(os, "linux")) && (!arch || !strcmp(arch, host_arch())))) {
          json_t *copy = json_deep_copy(e);
          if (!json_object_get(copy, "annotations") && ann)
            json_object_set(copy, "annotations", ann);
          json_array_append_new(json_object_get(pick, "manifests"), copy);
          break;
        }
      }
      r = load_oci_index(c, pick, loaded, depth + 1, err);
      json_decref(pick);
      json_decref(sub);
    } else {
      r = load_oci_manifest(c, digest, names, loaded, err);
    }
    json_decref(names);
    if (r < 0) return r;
  }
  return 0;
}

static int load_oci_manifest(struct load_ctx *c, const char *digest, json_t *names, json_t *loaded,
                             struct berth_err *err) {
  json_t *m = load_blob_json(c->dir, digest, "manifest", err);
  if (!m) return -err->code;
  json_t *layers = json_array();
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(m, "layers"), i, l) {
    const char *ld = json_string_value(json_object_get(l, "digest"));
    if (!ld || strlen(ld) != DIGEST_LEN) continue;
    json_array_append_new(layers, json_sprintf("blobs/sha256/%s", ld + 7));
  }
  cleanup_free char *cfg =
      blob_file(c->dir, json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
  int r = load_one(c, cfg, layers, names, loaded, err);
  json_decref(layers);
  json_decref(m);
  return r;
}

int image_load_dir(struct image_store *s, const char *dir, const struct xfer_progress *pr,
                   struct berth_err *errp) {
  struct load_ctx ctx = {s, dir, pr}, *c = &ctx;
  struct berth_err err = {0};
  json_t *loaded = json_array();
  cleanup_free char *mpath = xasprintf("%s/manifest.json", c->dir);
  cleanup_free char *ipath = xasprintf("%s/index.json", c->dir);
  json_t *manifest = json_load_file(mpath, 0, NULL);
  int r = 0;
  if (json_is_array(manifest)) {
    size_t i;
    json_t *m;
    json_array_foreach(manifest, i, m) {
      cleanup_free char *cfg = inside(c->dir, json_string_value(json_object_get(m, "Config")));
      json_t *names = json_object_get(m, "RepoTags");
      r = load_one(c, cfg, json_object_get(m, "Layers"), json_is_array(names) ? names : NULL,
                   loaded, &err);
      if (r < 0) break;
    }
  } else {
    json_t *index = json_load_file(ipath, 0, NULL);
    if (!index)
      r = berth_err_set(&err, BERTH_EINVAL, 0,
                        "invalid image archive: neither manifest.json nor index.json found");
    else
      r = load_oci_index(c, index, loaded, 0, &err);
    json_decref(index);
  }
  if (r == 0 && json_array_size(loaded) == 0)
    r = berth_err_set(&err, BERTH_EINVAL, 0, "invalid image archive: no images found");
  if (r < 0) *errp = err;
  json_decref(manifest);
  json_decref(loaded);
  return r;
}

/* ---------------- load: the receiving half ---------------- */

char *image_load_receive(struct image_store *s, int fd, struct berth_err *err) {
  struct berth_reader in = BERTH_READER(&fd, fd_reader_read);
  cleanup_free char *parent = xasprintf("%s/tmp", s->root);
  return untar_to_new_dir(&in, parent, "load", NULL, err); /* the tar's words, as dockerd's */
}

/* ---------------- import ---------------- */

int image_import_receive(struct image_store *s, int fd, char chain[DIGEST_LEN + 1],
                         struct berth_err *err) {
  struct berth_reader in = BERTH_READER(&fd, fd_reader_read);
  return store_add_layer(s, "", &in, NULL, chain, err);
}

int image_import(struct image_store *s, const char *chain, const char *const *changes,
                 size_t n_changes, const char *message, const struct image_ref *ref,
                 char id[DIGEST_LEN + 1], struct berth_err *err) {
  char now[64];
  format_rfc3339(now_ns(), now, sizeof now);
  json_t *config = json_object();
  int r = 0;
  for (size_t i = 0; i < n_changes && r == 0; i++)
    r = imageconf_apply_change(config, changes[i], err);
  if (r < 0) {
    json_decref(config);
    return r;
  }
  json_t *diff_ids = json_array();
  pthread_mutex_lock(&s->lock);
  struct layer *l = store_layer_locked(s, chain);
  if (l) json_array_append_new(diff_ids, json_string(l->diff_id));
  pthread_mutex_unlock(&s->lock);
  json_t *img = json_pack("{s:s,s:s,s:o,s:s,s:{s:s,s:o},s:[{s:s,s:s}]}", "architecture",
                          host_arch(), "os", "linux", "config", config, "created", now, "rootfs",
                          "type", "layers", "diff_ids", diff_ids, "history", "created", now,
                          "comment", message && *message ? message : "Imported from -");
  if (message && *message) json_object_set_new(img, "comment", json_string(message));
  char *raw = json_dumps(img, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(img);
  r = store_add_image(s, raw, strlen(raw), NULL, id, err);
  free(raw);
  if (r == 0 && ref) r = store_tag(s, id, ref, err);
  if (r == 0) ev_emit("image", "import", id, json_pack("{s:s}", "name", id));
  return r;
}

struct image_save *image_save_new(void) {
  return xcalloc(1, sizeof(struct image_save));
}
