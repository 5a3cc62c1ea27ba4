/* Images in and out as tars: save (docker-save + OCI layout), load (both
 * formats), import (a rootfs tar with Dockerfile-style changes). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include "../image/blobio.h"
#include "../image/imageconf.h"
#include "../image/layer.h"
#include "images.h"

/* ---------------- progress ---------------- */

static void human_size(uint64_t n, char *out, size_t len) {
  const char *units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)n;
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    u++;
  }
  snprintf(out, len, u ? "%.3g%s" : "%.0f%s", v, units[u]);
}

json_t *progress_msg(const char *status, const char *id, uint64_t cur, uint64_t total) {
  char bar[64], a[16], b[16], text[128];
  int width = 50, fill = total ? (int)((double)cur / (double)total * width) : 0;
  if (fill > width) fill = width;
  memset(bar, '=', (size_t)fill);
  if (fill < width) {
    bar[fill] = '>';
    memset(bar + fill + 1, ' ', (size_t)(width - fill - 1));
  }
  bar[width] = 0;
  human_size(cur, a, sizeof a);
  human_size(total, b, sizeof b);
  snprintf(text, sizeof text, "[%s] %8s/%s", bar, a, b);
  return json_pack("{s:s,s:{s:I,s:I},s:s,s:s}", "status", status, "progressDetail", "current",
                   (json_int_t)cur, "total", (json_int_t)total, "progress", text, "id", id);
}

void stream_error(int fd, const char *msg) {
  stream_json(fd, json_pack("{s:{s:s},s:s}", "errorDetail", "message", msg, "error", msg));
}

/* A reader that reports progress on a stream every 1% or so. */
struct progress_reader {
  struct berth_reader inner;
  struct berth_reader self;
  int out_fd;
  bool quiet;
  char id[16];
  uint64_t cur, total, last;
};

static ssize_t progress_read(void *ctx, void *buf, size_t len) {
  struct progress_reader *p = ctx;
  ssize_t n = p->inner.read(p->inner.ctx, buf, len);
  if (n > 0) {
    p->cur += (uint64_t)n;
    if (!p->quiet && (p->cur - p->last > p->total / 64 + 65536 || p->cur == p->total)) {
      p->last = p->cur;
      stream_json(p->out_fd, progress_msg("Loading layer", p->id, p->cur, p->total));
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

struct save_ctx {
  struct save_image *images;
  size_t n;
};

static void save_ctx_free(struct save_ctx *c) {
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
  return write_all(*(int *)ctx, buf, len) < 0 ? -1 : (la_ssize_t)len;
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

static void save_producer(int fd, void *p) {
  struct save_ctx *c = p;
  struct archive *a = archive_write_new();
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
  save_ctx_free(c);
}

static int save_add(struct daemon *d, struct save_ctx *c, const char *name, struct berth_err *err) {
  struct image_store *s = &d->images;
  pthread_mutex_lock(&s->lock);
  struct image *im = store_lookup_locked(s, name);
  if (!im) {
    pthread_mutex_unlock(&s->lock);
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", name);
  }
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

int image_save(struct api_request *req) {
  struct save_ctx *c = xcalloc(1, sizeof *c);
  struct berth_err err = {0};
  size_t n = 0;
  const char **names = NULL;
  if (req->n_params) {
    names = xmalloc(sizeof *names);
    names[0] = api_param(req, 0);
    n = 1;
  } else {
    names = api_query_all(req, "names", &n);
  }
  int r = n ? 0 : berth_err_set(&err, BERTH_EINVAL, 0, "no images given: use names=IMAGE");
  for (size_t i = 0; i < n && r == 0; i++)
    r = save_add(req->d, c, names[i], &err);
  free(names);
  if (r < 0) {
    save_ctx_free(c);
    return api_reply_err(req, &err);
  }
  return api_reply_stream(req, 200, "application/x-tar", save_producer, c);
}

/* ---------------- load ---------------- */

struct load_ctx {
  struct daemon *d;
  char *dir; /* extracted outer tar */
  bool quiet;
};

static void load_ctx_free(void *p) {
  struct load_ctx *c = p;
  if (!c) return;
  if (c->dir) rm_rf(c->dir);
  free(c->dir);
  free(c);
}

int image_load_consume(struct api_request *req, int fd) {
  struct daemon *d = req->d;
  struct load_ctx *c = xcalloc(1, sizeof *c);
  char rnd[17];
  random_hex(rnd, 8);
  c->d = d;
  c->dir = xasprintf("%s/tmp/load-%s", d->images.root, rnd);
  req->ctx = c;
  req->ctx_free = load_ctx_free;
  if (mkdir(c->dir, 0700) < 0)
    return err_sys(&req->consume_err, BERTH_EINTERNAL, "mkdir %s", c->dir);
  struct berth_reader in = {&fd, fd_reader_read};
  int r = layer_untar(&in, c->dir, BERTH_UNTAR_WHITEOUT_DELETE, NULL, &req->consume_err);
  if (r < 0) err_wrap(&req->consume_err, "invalid image archive");
  return r;
}

/* A relative path inside the extracted archive, or NULL. */
static char *inside(const char *dir, const char *rel) {
  if (!rel || rel[0] == '/' || strstr(rel, "..")) return NULL;
  return xasprintf("%s/%s", dir, rel);
}

static int load_one(struct load_ctx *c, int out, const char *config_path, json_t *layer_paths,
                    json_t *names, json_t *loaded, struct berth_err *err) {
  struct daemon *d = c->d;
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
    struct progress_reader pr = {{&fd, fd_reader_read},
                                 {NULL, progress_read},
                                 out,
                                 c->quiet,
                                 "",
                                 0,
                                 (uint64_t)st.st_size,
                                 0};
    pr.self.ctx = &pr;
    snprintf(pr.id, sizeof pr.id, "%.12s", diff && strlen(diff) > 7 ? diff + 7 : "layer");
    char next[DIGEST_LEN + 1];
    r = store_add_layer(&d->images, chain, &pr.self, diff, next, err);
    close(fd);
    if (r == 0) {
      memcpy(chain, next, sizeof chain);
      if (!c->quiet) stream_json(out, progress_msg("Loading layer", pr.id, pr.total, pr.total));
    }
  }
  json_decref(cj);
  if (r < 0) return r;
  char id[DIGEST_LEN + 1];
  if ((r = store_add_image(&d->images, config, clen, NULL, id, err)) < 0) return r;
  size_t k;
  json_t *n;
  size_t tagged = 0;
  json_array_foreach(names, k, n) {
    struct image_ref ref;
    if (ref_parse(json_string_value(n), true, &ref, err) < 0) return -err->code;
    r = store_tag(&d->images, id, &ref, err);
    cleanup_free char *fam = ref_familiar(&ref);
    ref_free(&ref);
    if (r < 0) return r;
    cleanup_free char *msg = xasprintf("Loaded image: %s\n", fam);
    stream_json(out, json_pack("{s:s}", "stream", msg));
    tagged++;
  }
  if (!tagged) {
    cleanup_free char *msg = xasprintf("Loaded image ID: %s\n", id);
    stream_json(out, json_pack("{s:s}", "stream", msg));
  }
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

static int load_oci_manifest(struct load_ctx *c, int out, const char *digest, json_t *names,
                             json_t *loaded, struct berth_err *err);

/* An index may name nested indexes (a multi-platform image under a
 * tagged one); deeper than this is a cycle or an attack. */
#define OCI_INDEX_DEPTH 4

static int load_oci_index(struct load_ctx *c, int out, json_t *index, json_t *loaded, int depth,
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
      /* pick linux/amd64 from a multi-platform index */
      json_t *pick = json_pack("{s:[]}", "manifests");
      size_t k;
      json_t *e;
      json_array_foreach(json_object_get(sub, "manifests"), k, e) {
        json_t *pl = json_object_get(e, "platform");
        const char *os = json_string_value(json_object_get(pl, "os"));
        const char *arch = json_string_value(json_object_get(pl, "architecture"));
        if (!pl || ((!os || !strcmp(os, "linux")) && (!arch || !strcmp(arch, "amd64")))) {
          json_t *copy = json_deep_copy(e);
          if (!json_object_get(copy, "annotations") && ann)
            json_object_set(copy, "annotations", ann);
          json_array_append_new(json_object_get(pick, "manifests"), copy);
          break;
        }
      }
      r = load_oci_index(c, out, pick, loaded, depth + 1, err);
      json_decref(pick);
      json_decref(sub);
    } else {
      r = load_oci_manifest(c, out, digest, names, loaded, err);
    }
    json_decref(names);
    if (r < 0) return r;
  }
  return 0;
}

static int load_oci_manifest(struct load_ctx *c, int out, const char *digest, json_t *names,
                             json_t *loaded, struct berth_err *err) {
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
  int r = load_one(c, out, cfg, layers, names, loaded, err);
  json_decref(layers);
  json_decref(m);
  return r;
}

static void load_producer(int out, void *p) {
  struct load_ctx *c = p;
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
      r = load_one(c, out, cfg, json_object_get(m, "Layers"), json_is_array(names) ? names : NULL,
                   loaded, &err);
      if (r < 0) break;
    }
  } else {
    json_t *index = json_load_file(ipath, 0, NULL);
    if (!index)
      r = berth_err_set(&err, BERTH_EINVAL, 0,
                        "invalid image archive: neither manifest.json nor index.json found");
    else
      r = load_oci_index(c, out, index, loaded, 0, &err);
    json_decref(index);
  }
  if (r == 0 && json_array_size(loaded) == 0)
    r = berth_err_set(&err, BERTH_EINVAL, 0, "invalid image archive: no images found");
  if (r < 0) stream_error(out, err.msg);
  json_decref(manifest);
  json_decref(loaded);
  load_ctx_free(c);
}

int image_load(struct api_request *req) {
  if (req->consume_ret < 0) return api_reply_err(req, &req->consume_err);
  struct load_ctx *c = req->ctx;
  req->ctx = NULL; /* the producer owns it now */
  req->ctx_free = NULL;
  c->quiet = api_query_bool(req, "quiet", false);
  return api_reply_stream(req, 200, "application/json", load_producer, c);
}

/* ---------------- import (POST /images/create?fromSrc=) ---------------- */

struct import_ctx {
  char chain[DIGEST_LEN + 1];
  bool used;
};

int image_create_consume(struct api_request *req, int fd) {
  const char *src = api_query(req, "fromSrc");
  if (!src || strcmp(src, "-")) return 0; /* pull, or import from a URL: no body */
  struct import_ctx *c = xcalloc(1, sizeof *c);
  req->ctx = c;
  req->ctx_free = free;
  c->used = true;
  struct berth_reader in = {&fd, fd_reader_read};
  return store_add_layer(&req->d->images, "", &in, NULL, c->chain, &req->consume_err);
}

static int import(struct api_request *req) {
  struct daemon *d = req->d;
  struct import_ctx *c = req->ctx;
  if (req->consume_ret < 0) return api_reply_err(req, &req->consume_err);
  if (!c || !c->used) return api_reply_error(req, 400, "import needs a tar body (fromSrc=-)");
  struct berth_err err = {0};
  char now[64];
  format_rfc3339(now_ns(), now, sizeof now);
  json_t *config = json_object();
  size_t n;
  const char **changes = api_query_all(req, "changes", &n);
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++)
    r = imageconf_apply_change(config, changes[i], &err);
  free(changes);
  struct image_ref ref = {0};
  const char *repo = api_query(req, "repo"), *tag = api_query(req, "tag");
  bool named = repo && *repo;
  if (r == 0 && named) {
    cleanup_free char *full = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
    r = ref_parse(full, true, &ref, &err);
  }
  if (r < 0) {
    json_decref(config);
    store_drop_unused_layer(&d->images, c->chain);
    return api_reply_err(req, &err);
  }
  const char *msg = api_query(req, "message");
  json_t *diff_ids = json_array();
  pthread_mutex_lock(&d->images.lock);
  struct layer *l = store_layer_locked(&d->images, c->chain);
  if (l) json_array_append_new(diff_ids, json_string(l->diff_id));
  pthread_mutex_unlock(&d->images.lock);
  json_t *img = json_pack("{s:s,s:s,s:o,s:s,s:{s:s,s:o},s:[{s:s,s:s}]}", "architecture", "amd64",
                          "os", "linux", "config", config, "created", now, "rootfs", "type",
                          "layers", "diff_ids", diff_ids, "history", "created", now, "comment",
                          msg && *msg ? msg : "Imported from -");
  if (msg && *msg) json_object_set_new(img, "comment", json_string(msg));
  char *raw = json_dumps(img, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(img);
  char id[DIGEST_LEN + 1];
  r = store_add_image(&d->images, raw, strlen(raw), NULL, id, &err);
  free(raw);
  if (r == 0 && named) r = store_tag(&d->images, id, &ref, &err);
  if (named) ref_free(&ref);
  if (r < 0) {
    store_drop_unused_layer(&d->images, c->chain);
    return api_reply_err(req, &err);
  }
  cleanup_free char *line = xasprintf("{\"status\":\"%s\"}\n", id);
  return api_reply_text(req, 200, "application/json", line);
}

int image_create(struct api_request *req) {
  const char *src = api_query(req, "fromSrc");
  if (src && !strcmp(src, "-")) return import(req);
  if (src && *src)
    return api_reply_error(
        req, 501,
        "importing from a URL (%s) is not supported; send the tar as the body with fromSrc=-", src);
  const char *from = api_query(req, "fromImage");
  if (!from || !*from) return api_reply_error(req, 400, "fromImage or fromSrc is required");
  return image_pull(req, from);
}
