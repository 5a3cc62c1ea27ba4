#include "store.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "../driver.h"
#include "../events/events.h"
#include "../util/idmap.h"
#include "blobio.h"
#include "layer.h"

/* ---- small helpers ---- */

void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

char *store_blob_path(struct image_store *s, const char *digest) {
  return xasprintf("%s/blobs/sha256/%s", s->root, digest + 7);
}

void store_chain_of(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN + 1]) {
  if (!*parent_chain) {
    snprintf(out, DIGEST_LEN + 1, "%s", diff_id);
    return;
  }
  char buf[2 * DIGEST_LEN + 2], hex[65];
  int n = snprintf(buf, sizeof buf, "%s %s", parent_chain, diff_id);
  sha256_hex(buf, (size_t)n, hex);
  snprintf(out, DIGEST_LEN + 1, "sha256:%s", hex);
}

static bool valid_digest(const char *d) {
  return d && strlen(d) == DIGEST_LEN && str_has_prefix(d, "sha256:") && is_hex(d + 7, 64);
}

struct layer *store_layer_locked(struct image_store *s, const char *chain_id) {
  for (size_t i = 0; i < s->n_layers; i++)
    if (!strcmp(s->layers[i]->chain_id, chain_id)) return s->layers[i];
  return NULL;
}

static struct image *image_by_id(struct image_store *s, const char *id) {
  for (size_t i = 0; i < s->n_images; i++)
    if (!strcmp(s->images[i]->id, id)) return s->images[i];
  return NULL;
}

/* ---- persistence ---- */

static int save_json(const char *path, json_t *j) {
  char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) return -ENOMEM;
  int r = write_file_atomic(path, text, strlen(text), 0600);
  free(text);
  return r;
}

static int save_layer(struct image_store *s, const struct layer *l) {
  cleanup_free char *dir = xasprintf("%s/layers/%s", s->root, l->chain_id + 7);
  int r = mkdir_p(dir, 0700);
  if (r < 0) return r;
  cleanup_free char *path = xasprintf("%s/layer.json", dir);
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "chain_id", l->chain_id, "diff_id",
                        l->diff_id, "parent", l->parent, "storage_id", l->storage_id, "blob",
                        l->blob, "blob_size", (json_int_t)l->blob_size, "tar_size",
                        (json_int_t)l->tar_size, "size", (json_int_t)l->size);
  r = save_json(path, j);
  json_decref(j);
  return r;
}

static int save_image_meta(struct image_store *s, const struct image *im) {
  cleanup_free char *path = xasprintf("%s/images/%s.json", s->root, im->id + 7);
  json_t *j = json_pack("{s:s,s:s,s:I}", "id", im->id, "parent", im->parent, "last_tag_ns",
                        (json_int_t)im->last_tag_ns);
  int r = save_json(path, j);
  json_decref(j);
  return r;
}

static int save_tags(struct image_store *s) {
  json_t *repos = json_object();
  for (size_t i = 0; i < s->n_tags; i++) {
    struct image_ref r;
    if (ref_parse(s->tags[i].ref, false, &r, NULL) < 0) continue;
    cleanup_free char *repo = ref_repo_familiar(&r);
    cleanup_free char *fam = ref_familiar(&r);
    ref_free(&r);
    json_t *m = json_object_get(repos, repo);
    if (!m) json_object_set_new(repos, repo, m = json_object());
    json_object_set_new(m, fam, json_string(s->tags[i].id));
  }
  json_t *root = json_pack("{s:o}", "Repositories", repos);
  cleanup_free char *path = xasprintf("%s/repositories.json", s->root);
  int r = save_json(path, root);
  json_decref(root);
  return r;
}

static int parse_config(struct image *im, struct berth_err *err) {
  json_error_t je;
  im->config = json_loadb(im->config_raw, im->config_len, 0, &je);
  if (!im->config || !json_is_object(im->config))
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid image config: %s", je.text);
  json_t *ids = json_object_get(json_object_get(im->config, "rootfs"), "diff_ids");
  if (ids && !json_is_array(ids))
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid image config: rootfs.diff_ids");
  im->n_layers = json_array_size(ids);
  im->diff_ids = xcalloc(im->n_layers + 1, sizeof(char *));
  char chain[DIGEST_LEN + 1] = "";
  for (size_t i = 0; i < im->n_layers; i++) {
    const char *d = json_string_value(json_array_get(ids, i));
    if (!valid_digest(d))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid image config: bad diff id %s",
                           d ? d : "(null)");
    im->diff_ids[i] = xstrdup(d);
    char next[DIGEST_LEN + 1];
    store_chain_of(chain, d, next);
    memcpy(chain, next, sizeof chain);
  }
  memcpy(im->top_chain, chain, sizeof chain);
  const char *created = json_string_value(json_object_get(im->config, "created"));
  int64_t ns = created ? parse_rfc3339(created) : INT64_MIN;
  im->created = ns == INT64_MIN ? 0 : ns / 1000000000LL;
  return 0;
}

static void image_free(struct image *im) {
  if (!im) return;
  free(im->config_raw);
  json_decref(im->config);
  free_strv(im->diff_ids, im->n_layers);
  free(im);
}

/* Walk the chain under an image's top layer; fn gets each layer. */
static void for_chain(struct image_store *s, const char *top, void (*fn)(struct layer *, void *),
                      void *arg) {
  struct layer *l = *top ? store_layer_locked(s, top) : NULL;
  while (l) {
    struct layer *parent = *l->parent ? store_layer_locked(s, l->parent) : NULL;
    fn(l, arg);
    l = parent;
  }
}

static void add_ref(struct layer *l, void *arg) {
  l->refs++;
}
static void add_size(struct layer *l, void *arg) {
  *(uint64_t *)arg += l->size;
}

static bool chain_complete(struct image_store *s, const char *top, size_t n) {
  size_t count = 0;
  struct layer *l = *top ? store_layer_locked(s, top) : NULL;
  while (l) {
    count++;
    l = *l->parent ? store_layer_locked(s, l->parent) : NULL;
  }
  return count == n;
}

static void index_image(struct image_store *s, struct image *im) {
  for_chain(s, im->top_chain, add_ref, NULL);
  im->size = 0;
  for_chain(s, im->top_chain, add_size, &im->size);
  s->images = xrealloc(s->images, (s->n_images + 1) * sizeof *s->images);
  s->images[s->n_images++] = im;
}

static void load_layers(struct image_store *s) {
  cleanup_free char *dir = xasprintf("%s/layers", s->root);
  cleanup_dir DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    cleanup_free char *path = xasprintf("%s/%s/layer.json", dir, de->d_name);
    json_t *j = json_load_file(path, 0, NULL);
    const char *chain = json_string_value(json_object_get(j, "chain_id"));
    const char *sid = json_string_value(json_object_get(j, "storage_id"));
    if (!j || !valid_digest(chain) || !sid) {
      log_warn("image store: ignoring unreadable layer record %s", path);
      json_decref(j);
      continue;
    }
    struct layer *l = xcalloc(1, sizeof *l);
    snprintf(l->chain_id, sizeof l->chain_id, "%s", chain);
    snprintf(l->diff_id, sizeof l->diff_id, "%s", json_string_value(json_object_get(j, "diff_id")));
    snprintf(l->parent, sizeof l->parent, "%s",
             json_string_value(json_object_get(j, "parent")) ?: "");
    snprintf(l->storage_id, sizeof l->storage_id, "%s", sid);
    snprintf(l->blob, sizeof l->blob, "%s", json_string_value(json_object_get(j, "blob")) ?: "");
    l->blob_size = (uint64_t)json_integer_value(json_object_get(j, "blob_size"));
    l->tar_size = (uint64_t)json_integer_value(json_object_get(j, "tar_size"));
    l->size = (uint64_t)json_integer_value(json_object_get(j, "size"));
    json_decref(j);
    s->layers = xrealloc(s->layers, (s->n_layers + 1) * sizeof *s->layers);
    s->layers[s->n_layers++] = l;
  }
}

static void load_images(struct image_store *s) {
  cleanup_free char *dir = xasprintf("%s/images", s->root);
  cleanup_dir DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!str_has_suffix(de->d_name, ".json") || strlen(de->d_name) != 64 + 5) continue;
    cleanup_free char *path = xasprintf("%s/%s", dir, de->d_name);
    json_t *j = json_load_file(path, 0, NULL);
    struct image *im = xcalloc(1, sizeof *im);
    snprintf(im->id, sizeof im->id, "sha256:%.64s", de->d_name);
    snprintf(im->parent, sizeof im->parent, "%s",
             json_string_value(json_object_get(j, "parent")) ?: "");
    im->last_tag_ns = json_integer_value(json_object_get(j, "last_tag_ns"));
    json_decref(j);
    cleanup_free char *blob = store_blob_path(s, im->id);
    im->config_raw = read_file(blob, &im->config_len);
    struct berth_err e = {0};
    char hex[65];
    if (!im->config_raw ||
        (sha256_hex(im->config_raw, im->config_len, hex), strcmp(hex, im->id + 7)) ||
        parse_config(im, &e) < 0 || !chain_complete(s, im->top_chain, im->n_layers)) {
      log_warn("image store: dropping image %s: config or layers missing or corrupt", im->id);
      image_free(im);
      continue;
    }
    index_image(s, im);
  }
}

static void load_tags(struct image_store *s) {
  cleanup_free char *path = xasprintf("%s/repositories.json", s->root);
  json_t *root = json_load_file(path, 0, NULL);
  json_t *repos = json_object_get(root, "Repositories");
  const char *repo, *key;
  json_t *m, *v;
  json_object_foreach(repos, repo, m) {
    json_object_foreach(m, key, v) {
      struct image_ref r;
      const char *id = json_string_value(v);
      if (!id || ref_parse(key, false, &r, NULL) < 0) continue;
      if (!image_by_id(s, id)) { /* a tag of an image that was dropped */
        ref_free(&r);
        continue;
      }
      s->tags = xrealloc(s->tags, (s->n_tags + 1) * sizeof *s->tags);
      s->tags[s->n_tags].ref = ref_canonical(&r);
      snprintf(s->tags[s->n_tags].id, sizeof s->tags[0].id, "%s", id);
      s->n_tags++;
      ref_free(&r);
    }
  }
  json_decref(root);
}

static int storage_remove(struct image_store *s, const char *sid) {
  struct berth_err e = {0};
  int r = drv_storage_remove(s->storage, sid, &e);
  if (r < 0) log_warn("image store: removing storage layer %s: %s", sid, e.msg);
  return r;
}

#define INIT_SUFFIX "-init"

static void drop_layer_files(struct image_store *s, struct layer *l) {
  cleanup_free char *init = xasprintf("%s" INIT_SUFFIX, l->storage_id);
  struct berth_err e = {0};
  store_rw_ahead_drop(s, init); /* its child, made ahead for a container */
  if (drv_storage_exists(s->storage, init, &e) > 0) storage_remove(s, init);
  storage_remove(s, l->storage_id);
  if (*l->blob) {
    cleanup_free char *b = store_blob_path(s, l->blob);
    unlink(b);
  }
  cleanup_free char *dir = xasprintf("%s/layers/%s", s->root, l->chain_id + 7);
  rm_rf(dir);
}

/* A storage layer being made is recorded as <image>/pending/<sid> until
 * its owner (a layer record, a container record) is on disk and the mark
 * is removed.  One left at start-up belongs to an operation a crash cut
 * short: its layer is removed, unless an owner that names it was loaded
 * (the crash came between the owner's record and the mark's removal):
 * store_sweep_pending, once the containers are known too. */
void store_pending_begin(struct image_store *s, const char *sid) {
  cleanup_free char *p = xasprintf("%s/pending/%s", s->root, sid);
  int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}

void store_pending_end(struct image_store *s, const char *sid) {
  cleanup_free char *p = xasprintf("%s/pending/%s", s->root, sid);
  unlink(p);
}

void store_sweep_pending(struct image_store *s, bool (*owned)(const char *sid)) {
  cleanup_free char *dir = xasprintf("%s/pending", s->root);
  cleanup_dir DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if ((n != 64 && (n != 64 + strlen(INIT_SUFFIX) || strcmp(de->d_name + 64, INIT_SUFFIX))) ||
        !is_hex(de->d_name, 64))
      continue;
    bool keep = owned && owned(de->d_name);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; !keep && i < s->n_layers; i++)
      keep = !strcmp(s->layers[i]->storage_id, de->d_name);
    pthread_mutex_unlock(&s->lock);
    if (!keep) {
      log_warn("image store: removing storage layer %s left by an interrupted operation",
               de->d_name);
      if (storage_remove(s, de->d_name) < 0) continue;
    }
    store_pending_end(s, de->d_name);
  }
}

/* Layers no image references (left by a crash between layer and image
 * creation) are removed at start-up, children first. */
static void gc_layers(struct image_store *s) {
  bool again = true;
  while (again) {
    again = false;
    for (size_t i = 0; i < s->n_layers; i++) {
      struct layer *l = s->layers[i];
      bool has_child = false;
      for (size_t j = 0; j < s->n_layers; j++)
        if (!strcmp(s->layers[j]->parent, l->chain_id)) has_child = true;
      if (l->refs || has_child) continue;
      log_info("image store: removing unreferenced layer %s", l->chain_id);
      drop_layer_files(s, l);
      free(l);
      s->layers[i] = s->layers[--s->n_layers];
      again = true;
      break;
    }
  }
}

int store_open(struct image_store *s, const char *data_root, struct loaded_plugin *storage,
               struct berth_err *err) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->root = xasprintf("%s/image", data_root);
  s->storage = storage;
  const char *subdirs[] = {"blobs/sha256", "layers", "images", "tmp", "pending"};
  for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
    cleanup_free char *d = xasprintf("%s/%s", s->root, subdirs[i]);
    int r = mkdir_p(d, 0700);
    if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "image store: mkdir %s", d);
  }
  cleanup_free char *tmp = xasprintf("%s/tmp", s->root);
  rm_rf(tmp);
  mkdir_p(tmp, 0700);
  load_layers(s);
  /* Layers whose storage is gone are dropped with their images; one the
   * driver cannot tell about (an I/O error) is kept. */
  for (size_t i = 0; i < s->n_layers;) {
    struct berth_err e = {0};
    int ex = drv_storage_exists(storage, s->layers[i]->storage_id, &e);
    if (ex < 0)
      log_warn("image store: layer %s kept, its storage could not be checked: %s",
               s->layers[i]->chain_id, e.msg);
    if (ex == 0) {
      log_warn("image store: layer %s has no storage (driver %s); dropping it",
               s->layers[i]->chain_id, storage->name);
      cleanup_free char *dir = xasprintf("%s/layers/%s", s->root, s->layers[i]->chain_id + 7);
      rm_rf(dir);
      free(s->layers[i]);
      s->layers[i] = s->layers[--s->n_layers];
      continue;
    }
    i++;
  }
  load_images(s);
  load_tags(s);
  gc_layers(s);
  log_info("image store: %zu images, %zu layers, %zu tags", s->n_images, s->n_layers, s->n_tags);
  return 0;
}

void store_close(struct image_store *s) {
  store_rw_ahead_stop(s);
  for (size_t i = 0; i < s->n_images; i++)
    image_free(s->images[i]);
  for (size_t i = 0; i < s->n_layers; i++)
    free(s->layers[i]);
  for (size_t i = 0; i < s->n_tags; i++)
    free(s->tags[i].ref);
  free(s->images);
  free(s->layers);
  free(s->tags);
  free(s->root);
  pthread_mutex_destroy(&s->lock);
  memset(s, 0, sizeof *s);
}

/* ---- lookups ---- */

static struct tag *tag_find(struct image_store *s, const char *canonical) {
  for (size_t i = 0; i < s->n_tags; i++)
    if (!strcmp(s->tags[i].ref, canonical)) return &s->tags[i];
  return NULL;
}

static void add_descendants_locked(struct image_store *s, const char *id, json_t *set) {
  if (json_object_get(set, id)) return;
  json_object_set_new(set, id, json_true());
  for (size_t i = 0; i < s->n_images; i++)
    if (!strcmp(s->images[i]->parent, id)) add_descendants_locked(s, s->images[i]->id, set);
}

bool store_descendants(struct image_store *s, const char *name, json_t *set) {
  pthread_mutex_lock(&s->lock);
  struct image *im = store_lookup_locked(s, name);
  if (im) add_descendants_locked(s, im->id, set);
  pthread_mutex_unlock(&s->lock);
  return im != NULL;
}

struct image *store_lookup_locked(struct image_store *s, const char *name) {
  if (!name || !*name) return NULL;
  const char *hex = str_has_prefix(name, "sha256:") ? name + 7 : name;
  size_t n = strlen(hex);
  if (n >= 1 && n <= 64 && is_hex(hex, n) && (hex != name || n >= 12 || n == 64)) {
    struct image *found = NULL;
    int matches = 0;
    for (size_t i = 0; i < s->n_images; i++)
      if (!strncmp(s->images[i]->id + 7, hex, n)) {
        found = s->images[i];
        matches++;
      }
    if (matches == 1) return found;
    if (hex != name) return NULL;
  }
  struct image_ref r;
  if (ref_parse(name, true, &r, NULL) < 0) {
    /* a short id prefix (<12 hex) that is not a valid name */
    return NULL;
  }
  struct image *im = NULL;
  cleanup_free char *canon = ref_canonical(&r);
  struct tag *t = tag_find(s, canon);
  if (t) im = image_by_id(s, t->id);
  if (!im && r.digest) {
    /* name@sha256:... with the digest being the image id itself */
    struct image *byid = image_by_id(s, r.digest);
    if (byid) im = byid;
  }
  ref_free(&r);
  if (im) return im;
  /* short id prefixes shorter than 12 */
  if (is_hex(name, n) && n >= 1 && n <= 64) {
    struct image *found = NULL;
    int matches = 0;
    for (size_t i = 0; i < s->n_images; i++)
      if (!strncmp(s->images[i]->id + 7, name, n)) {
        found = s->images[i];
        matches++;
      }
    if (matches == 1) return found;
  }
  return NULL;
}

char **store_refs_of_locked(struct image_store *s, const char *id, size_t *n) {
  char **v = NULL;
  *n = 0;
  for (size_t i = 0; i < s->n_tags; i++) {
    if (strcmp(s->tags[i].id, id)) continue;
    v = xrealloc(v, (*n + 1) * sizeof *v);
    v[(*n)++] = xstrdup(s->tags[i].ref);
  }
  if (*n) qsort(v, *n, sizeof *v, strp_cmp);
  return v;
}

char **store_repo_tags_locked(struct image_store *s, const char *repo, size_t *n) {
  char **v = NULL;
  *n = 0;
  size_t rl = strlen(repo);
  for (size_t i = 0; i < s->n_tags; i++) {
    const char *ref = s->tags[i].ref;
    if (strncmp(ref, repo, rl) || ref[rl] != ':') continue;
    v = xrealloc(v, (*n + 1) * sizeof *v);
    v[(*n)++] = xstrdup(ref + rl + 1);
  }
  if (*n) qsort(v, *n, sizeof *v, strp_cmp);
  return v;
}

/* ---- layers ---- */

static int apply_fallback(struct image_store *s, const char *sid, struct berth_reader *in,
                          struct berth_err *err) {
  char path[BERTH_STORAGE_PATH_MAX];
  int r = store_mount_layer(s, sid, path, err);
  if (r < 0) return r;
  r = layer_untar(in, path, BERTH_UNTAR_WHITEOUT_DELETE, NULL, err);
  struct berth_err e2 = {0};
  store_unmount_layer(s, sid, &e2);
  return r;
}

static int add_layer(struct image_store *s, const char *parent_chain, struct berth_reader *in,
                     const char *expect_diff_id, const char *have_blob, const char *have_digest,
                     uint64_t have_size, char out_chain[DIGEST_LEN + 1], struct berth_err *err);

int store_add_layer(struct image_store *s, const char *parent_chain, struct berth_reader *in,
                    const char *expect_diff_id, char out_chain[DIGEST_LEN + 1],
                    struct berth_err *err) {
  return add_layer(s, parent_chain, in, expect_diff_id, NULL, NULL, 0, out_chain, err);
}

int store_compress_layer(struct image_store *s, struct layer *l, struct berth_err *err) {
  if (strcmp(l->blob, l->diff_id)) return 0; /* compressed already */
  cleanup_free char *plain = store_blob_path(s, l->blob);
  char rnd[17];
  random_hex(rnd, 8);
  cleanup_free char *tmp = xasprintf("%s/tmp/gz-%s", s->root, rnd);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "create %s", tmp);
  char digest[DIGEST_LEN + 1];
  uint64_t size;
  int r = gzip_file(plain, fd, digest, &size, err);
  close(fd);
  pthread_mutex_lock(&s->lock);
  struct layer *have = r == 0 ? store_layer_locked(s, l->chain_id) : NULL;
  bool mine = have && !strcmp(have->blob, l->diff_id);
  cleanup_free char *gz = store_blob_path(s, digest);
  if (mine && rename(tmp, gz) == 0) {
    snprintf(have->blob, sizeof have->blob, "%s", digest);
    have->blob_size = size;
    int sr = save_layer(s, have);
    if (sr < 0) log_warn("image store: record layer %s: %s", have->chain_id, strerror(-sr));
    unlink(plain);
  }
  if (have) *l = *have; /* compressed by this call or another */
  pthread_mutex_unlock(&s->lock);
  unlink(tmp);
  return r;
}

int store_add_layer_blob(struct image_store *s, const char *parent_chain, const char *blob_path,
                         const char *blob_digest, uint64_t blob_size, const char *expect_diff_id,
                         char out_chain[DIGEST_LEN + 1], struct berth_err *err) {
  struct berth_reader *rd = gz_reader_open(blob_path);
  if (!rd) return err_sys(err, BERTH_EINTERNAL, "open %s", blob_path);
  int r = add_layer(s, parent_chain, rd, expect_diff_id, blob_path, blob_digest, blob_size,
                    out_chain, err);
  gz_reader_free(rd);
  return r;
}

static int add_layer(struct image_store *s, const char *parent_chain, struct berth_reader *in,
                     const char *expect_diff_id, const char *have_blob, const char *have_digest,
                     uint64_t have_size, char out_chain[DIGEST_LEN + 1], struct berth_err *err) {
  char parent_sid[65] = "";
  pthread_mutex_lock(&s->lock);
  if (expect_diff_id) {
    store_chain_of(parent_chain, expect_diff_id, out_chain);
    if (store_layer_locked(s, out_chain)) {
      pthread_mutex_unlock(&s->lock);
      return 0;
    }
  }
  if (*parent_chain) {
    struct layer *p = store_layer_locked(s, parent_chain);
    if (!p) {
      pthread_mutex_unlock(&s->lock);
      return berth_err_set(err, BERTH_ENOTFOUND, 0, "parent layer %s not found", parent_chain);
    }
    memcpy(parent_sid, p->storage_id, sizeof parent_sid);
  }
  pthread_mutex_unlock(&s->lock);

  char sid[65];
  random_hex(sid, 32);
  struct berth_storage_create_req req = {sizeof req, sid, *parent_sid ? parent_sid : NULL, NULL, 0};
  store_pending_begin(s, sid);
  int r = drv_storage_create(s->storage, &req, false, err);
  if (r < 0) {
    store_pending_end(s, sid);
    return r;
  }

  cleanup_free char *tmp =
      have_blob ? xstrdup(have_blob) : xasprintf("%s/tmp/layer-%s.tar", s->root, sid);
  int fd = have_blob ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && !have_blob) {
    storage_remove(s, sid);
    store_pending_end(s, sid);
    return err_sys(err, BERTH_EINTERNAL, "create %s", tmp);
  }
  /* a layer made here (load, import, commit) keeps its tar as it is:
   * compressing is for a push, which does it once, when it happens */
  struct layer_pipe *pipe = layer_pipe_new(in, fd, true);
  uint64_t size = 0;
  if (drv_storage_can_apply_diff(s->storage)) {
    r = drv_storage_apply_diff(s->storage, sid, *parent_sid ? parent_sid : NULL,
                               layer_pipe_reader(pipe), &size, err);
  } else {
    r = apply_fallback(s, sid, layer_pipe_reader(pipe), err);
  }
  struct layer l = {0};
  if (r == 0) r = layer_pipe_finish(pipe, l.diff_id, l.blob, &l.tar_size, &l.blob_size, err);
  layer_pipe_free(pipe);
  if (fd >= 0) close(fd);
  if (have_blob) {
    snprintf(l.blob, sizeof l.blob, "%s", have_digest);
    l.blob_size = have_size;
  }
  if (r == 0 && expect_diff_id && strcmp(expect_diff_id, l.diff_id))
    r = berth_err_set(err, BERTH_EINVAL, 0,
                      "layer content does not match its digest: expected %s, got %s",
                      expect_diff_id, l.diff_id);
  struct berth_err size_err = {0};
  /* no diff_size (or it failed): the tar's size below; a layer of
   * directories alone adds 0 bytes, as docker counts it */
  bool sized = r == 0 && drv_storage_diff_size(s->storage, sid, *parent_sid ? parent_sid : NULL,
                                               &size, &size_err) == 0;
  if (r < 0) {
    unlink(tmp);
    storage_remove(s, sid);
    store_pending_end(s, sid);
    return r;
  }
  l.size = sized ? size : l.tar_size;
  memcpy(l.storage_id, sid, sizeof sid);
  snprintf(l.parent, sizeof l.parent, "%s", parent_chain);
  store_chain_of(parent_chain, l.diff_id, l.chain_id);

  pthread_mutex_lock(&s->lock);
  if (store_layer_locked(s, l.chain_id)) {
    /* someone else applied the same layer meanwhile */
    pthread_mutex_unlock(&s->lock);
    unlink(tmp);
    storage_remove(s, sid);
    store_pending_end(s, sid);
    memcpy(out_chain, l.chain_id, DIGEST_LEN + 1);
    return 0;
  }
  cleanup_free char *blob = store_blob_path(s, l.blob);
  if (rename(tmp, blob) < 0 || (r = save_layer(s, &l)) < 0) {
    int e = r < 0 ? -r : errno;
    pthread_mutex_unlock(&s->lock);
    unlink(tmp);
    storage_remove(s, sid);
    store_pending_end(s, sid);
    return err_sys_(err, BERTH_EINTERNAL, e, "record layer %s", l.chain_id);
  }
  struct layer *nl = xmalloc(sizeof *nl);
  *nl = l;
  s->layers = xrealloc(s->layers, (s->n_layers + 1) * sizeof *s->layers);
  s->layers[s->n_layers++] = nl;
  pthread_mutex_unlock(&s->lock);
  store_pending_end(s, sid);
  memcpy(out_chain, l.chain_id, DIGEST_LEN + 1);
  return 0;
}

/* ---- images and tags ---- */

int store_add_image(struct image_store *s, const char *config, size_t len, const char *parent,
                    char out_id[DIGEST_LEN + 1], struct berth_err *err) {
  struct image *im = xcalloc(1, sizeof *im);
  im->config_raw = xmalloc(len + 1);
  memcpy(im->config_raw, config, len);
  im->config_raw[len] = 0;
  im->config_len = len;
  char hex[65];
  sha256_hex(config, len, hex);
  snprintf(im->id, sizeof im->id, "sha256:%s", hex);
  snprintf(im->parent, sizeof im->parent, "%s", parent ? parent : "");
  int r = parse_config(im, err);
  if (r < 0) {
    image_free(im);
    return r;
  }
  memcpy(out_id, im->id, DIGEST_LEN + 1);
  pthread_mutex_lock(&s->lock);
  if (image_by_id(s, im->id)) {
    pthread_mutex_unlock(&s->lock);
    image_free(im);
    return 0;
  }
  if (!chain_complete(s, im->top_chain, im->n_layers)) {
    pthread_mutex_unlock(&s->lock);
    image_free(im);
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "image config refers to layers that are not present");
  }
  cleanup_free char *blob = store_blob_path(s, im->id);
  if ((r = write_file_atomic(blob, config, len, 0600)) < 0 || (r = save_image_meta(s, im)) < 0) {
    pthread_mutex_unlock(&s->lock);
    image_free(im);
    return err_sys_(err, BERTH_EINTERNAL, -r, "record image");
  }
  index_image(s, im);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

int store_tag(struct image_store *s, const char *id, const struct image_ref *ref,
              struct berth_err *err) {
  cleanup_free char *canon = ref_canonical(ref);
  pthread_mutex_lock(&s->lock);
  struct image *im = image_by_id(s, id);
  if (!im) {
    pthread_mutex_unlock(&s->lock);
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", id);
  }
  struct tag *t = tag_find(s, canon);
  char old[DIGEST_LEN + 1] = "";
  if (t) {
    memcpy(old, t->id, sizeof old);
    snprintf(t->id, sizeof t->id, "%s", id);
  } else {
    s->tags = xrealloc(s->tags, (s->n_tags + 1) * sizeof *s->tags);
    s->tags[s->n_tags].ref = xstrdup(canon);
    snprintf(s->tags[s->n_tags].id, sizeof s->tags[0].id, "%s", id);
    s->n_tags++;
  }
  im->last_tag_ns = now_ns();
  save_image_meta(s, im);
  int r = save_tags(s);
  if (r < 0) {
    /* roll back the in-memory change so memory and disk agree */
    if (t)
      snprintf(t->id, sizeof t->id, "%s", old);
    else
      free(s->tags[--s->n_tags].ref);
    pthread_mutex_unlock(&s->lock);
    return err_sys_(err, BERTH_EINTERNAL, -r, "write repositories.json");
  }
  pthread_mutex_unlock(&s->lock);
  return 0;
}

int store_tag_event(struct image_store *s, const char *id, const struct image_ref *ref,
                    struct berth_err *err) {
  int r = store_tag(s, id, ref, err);
  cleanup_free char *fam = ref_familiar(ref);
  if (r == 0) ev_emit("image", "tag", id, json_pack("{s:s}", "name", fam));
  return r;
}

static void untag_locked(struct image_store *s, struct tag *t, json_t *result) {
  cleanup_free char *fam = ref_familiarize(t->ref);
  json_array_append_new(result, json_pack("{s:s}", "Untagged", fam));
  ev_emit("image", "untag", t->id, json_pack("{s:s}", "name", t->id)); /* docker's: the id */
  free(t->ref);
  *t = s->tags[--s->n_tags];
}

bool store_has_child_locked(struct image_store *s, const char *id) {
  for (size_t j = 0; j < s->n_images; j++)
    if (!strcmp(s->images[j]->parent, id)) return true;
  return false;
}

bool store_hidden_locked(struct image_store *s, const struct image *im) {
  size_t nrefs;
  char **refs = store_refs_of_locked(s, im->id, &nrefs);
  free_strv(refs, nrefs);
  return !nrefs && store_has_child_locked(s, im->id);
}

static void count_layer(struct layer *l, void *refs) {
  json_t *n = json_object_get(refs, l->chain_id);
  json_object_set_new(refs, l->chain_id, json_integer(json_integer_value(n) + 1));
}

struct shared_sum {
  json_t *refs;
  uint64_t bytes;
};

static void add_shared(struct layer *l, void *p) {
  struct shared_sum *sum = p;
  if (json_integer_value(json_object_get(sum->refs, l->chain_id)) > 1) sum->bytes += l->size;
}

json_t *store_layer_refs_locked(struct image_store *s, struct image *const *ims, size_t n) {
  json_t *refs = json_object();
  for (size_t i = 0; i < n; i++)
    for_chain(s, ims[i]->top_chain, count_layer, refs);
  return refs;
}

uint64_t store_shared_size_locked(struct image_store *s, const struct image *im, json_t *refs) {
  struct shared_sum sum = {refs, 0};
  for_chain(s, im->top_chain, add_shared, &sum);
  return sum.bytes;
}

/* docker's names for one architecture (platforms.Normalize, the common ones) */
static const char *arch_name(const char *a) {
  return !strcmp(a, "x86_64") || !strcmp(a, "x86-64") ? "amd64"
         : !strcmp(a, "aarch64")                      ? "arm64"
                                                      : a;
}

int store_check_platform(struct image_store *s, const char *name, const char *platform,
                         struct berth_err *err) {
  char os[32] = "", arch[32] = "", variant[32] = "";
  if (!platform || !*platform) return 0;
  if (sscanf(platform, "%31[^/]/%31[^/]/%31s", os, arch, variant) < 1)
    return berth_err_set(err, BERTH_EINVAL, 0, "\"%s\": unknown operating system or architecture",
                         platform);
  pthread_mutex_lock(&s->lock);
  struct image *im = store_lookup_locked(s, name);
  char have_os[32] = "", have_arch[32] = "", have_var[32] = "";
  if (im) {
    snprintf(have_os, sizeof have_os, "%s",
             json_string_value(json_object_get(im->config, "os")) ?: "linux");
    snprintf(have_arch, sizeof have_arch, "%s",
             arch_name(json_string_value(json_object_get(im->config, "architecture")) ?: ""));
    snprintf(have_var, sizeof have_var, "%s",
             json_string_value(json_object_get(im->config, "variant")) ?: "");
  }
  pthread_mutex_unlock(&s->lock);
  if (!im) return 0; /* create's own "No such image" */
  if (!strcmp(os, have_os) && (!*arch || !strcmp(arch_name(arch), have_arch)) &&
      (!*variant || !strcmp(variant, have_var)))
    return 0;
  return berth_err_set(err, BERTH_ENOTFOUND, 0,
                       "image with reference %s was found but does not match the specified "
                       "platform: wanted %s, actual: %s/%s%s%s",
                       name, platform, have_os, have_arch, *have_var ? "/" : "", have_var);
}

static void unref_layer(struct layer *l, void *arg) {
  l->refs--;
}

static void delete_image_locked(struct image_store *s, struct image *im, bool noprune,
                                json_t *result) {
  for_chain(s, im->top_chain, unref_layer, NULL);
  cleanup_free char *meta = xasprintf("%s/images/%s.json", s->root, im->id + 7);
  unlink(meta);
  cleanup_free char *blob = store_blob_path(s, im->id);
  unlink(blob);
  json_array_append_new(result, json_pack("{s:s}", "Deleted", im->id));
  ev_emit("image", "delete", im->id, json_pack("{s:s}", "name", im->id));
  for (size_t i = 0; i < s->n_images; i++)
    if (s->images[i] == im) s->images[i] = s->images[--s->n_images];
  /* remove now-unreferenced layers from the top down */
  char cur[DIGEST_LEN + 1];
  snprintf(cur, sizeof cur, "%s", im->top_chain);
  while (!noprune && *cur) {
    struct layer *l = store_layer_locked(s, cur);
    if (!l || l->refs > 0) break;
    bool has_child = false;
    for (size_t j = 0; j < s->n_layers; j++)
      if (!strcmp(s->layers[j]->parent, l->chain_id)) has_child = true;
    if (has_child) break;
    snprintf(cur, sizeof cur, "%s", l->parent);
    drop_layer_files(s, l);
    json_array_append_new(result, json_pack("{s:s}", "Deleted", l->chain_id));
    for (size_t j = 0; j < s->n_layers; j++)
      if (s->layers[j] == l) s->layers[j] = s->layers[--s->n_layers];
    free(l);
  }
  image_free(im);
}

static size_t repo_count(struct image_store *s, const char *id) {
  size_t n, repos = 0;
  char **refs = store_refs_of_locked(s, id, &n);
  char *last = NULL;
  for (size_t i = 0; i < n; i++) {
    struct image_ref rr;
    if (ref_parse(refs[i], false, &rr, NULL) < 0) continue;
    char *repo = ref_repo_canonical(&rr);
    ref_free(&rr);
    if (!last || strcmp(last, repo)) repos++;
    free(last);
    last = repo;
  }
  free(last);
  free_strv(refs, n);
  return repos;
}

/* the repository of a canonical reference: before '@', or before the
 * tag's ':' (a ':' after the last '/') */
static size_t repo_len(const char *ref) {
  const char *at = strchr(ref, '@');
  if (at) return (size_t)(at - ref);
  const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
  return colon && (!slash || colon > slash) ? (size_t)(colon - ref) : strlen(ref);
}

static bool same_repo(const char *a, const char *b) {
  size_t la = repo_len(a);
  return la == repo_len(b) && !strncmp(a, b, la);
}

/* Would removing tag t of image id leave its repository's digest
 * references orphaned (no other tag of that repository)? */
static bool last_tag_of_repo_locked(struct image_store *s, const char *id, const struct tag *t) {
  if (strchr(t->ref, '@')) return false; /* t is a digest reference itself */
  for (size_t i = 0; i < s->n_tags; i++) {
    struct tag *o = &s->tags[i];
    if (o != t && !strcmp(o->id, id) && !strchr(o->ref, '@') && same_repo(o->ref, t->ref))
      return false;
  }
  return true;
}

/* references of id that outlive removing tag t */
static size_t other_refs_locked(struct image_store *s, const char *id, const struct tag *t) {
  bool drop_digests = last_tag_of_repo_locked(s, id, t);
  size_t n = 0;
  for (size_t i = 0; i < s->n_tags; i++) {
    struct tag *o = &s->tags[i];
    if (o == t || strcmp(o->id, id)) continue;
    if (drop_digests && strchr(o->ref, '@') && same_repo(o->ref, t->ref)) continue;
    n++;
  }
  return n;
}

static void untag_with_digests_locked(struct image_store *s, struct tag *t, json_t *result) {
  char id[DIGEST_LEN + 1];
  memcpy(id, t->id, sizeof id);
  cleanup_free char *ref = xstrdup(t->ref);
  bool drop_digests = last_tag_of_repo_locked(s, id, t);
  untag_locked(s, t, result);
  for (size_t i = 0; drop_digests && i < s->n_tags;)
    if (!strcmp(s->tags[i].id, id) && strchr(s->tags[i].ref, '@') && same_repo(s->tags[i].ref, ref))
      untag_locked(s, &s->tags[i], result);
    else
      i++;
}

/* docker's rmi without noprune: the deleted image's parents go after it,
 * each while no tag, no other image and no container has it (the build's
 * intermediate images); quietly stops at the first that stays */
static void prune_parents(struct image_store *s, const char *parent, json_t *result) {
  char id[DIGEST_LEN + 1];
  snprintf(id, sizeof id, "%s", parent);
  while (*id) {
    char cid[65] = "";
    if (s->in_use && s->in_use(id, cid)) return;
    pthread_mutex_lock(&s->lock);
    struct image *im = NULL;
    for (size_t i = 0; i < s->n_images && !im; i++)
      if (!strcmp(s->images[i]->id, id)) im = s->images[i];
    bool keep = !im;
    for (size_t i = 0; !keep && i < s->n_tags; i++)
      keep = !strcmp(s->tags[i].id, id);
    for (size_t i = 0; !keep && i < s->n_images; i++)
      keep = !strcmp(s->images[i]->parent, id);
    if (!keep) {
      snprintf(id, sizeof id, "%s", im->parent);
      delete_image_locked(s, im, false, result);
    }
    pthread_mutex_unlock(&s->lock);
    if (keep) return;
  }
}

int store_delete(struct image_store *s, const char *name, bool force, bool noprune, json_t *result,
                 struct berth_err *err) {
  char cid[65] = "";
  int use = 0;
  if (s->in_use) {
    pthread_mutex_lock(&s->lock);
    struct image *probe = store_lookup_locked(s, name);
    char id[DIGEST_LEN + 1] = "";
    if (probe) memcpy(id, probe->id, sizeof id);
    pthread_mutex_unlock(&s->lock);
    if (*id) use = s->in_use(id, cid);
  }
  pthread_mutex_lock(&s->lock);
  struct image *im = store_lookup_locked(s, name);
  if (!im) {
    pthread_mutex_unlock(&s->lock);
    /* moby names the normalised reference: "No such image: busybox:latest" */
    cleanup_free char *fam = ref_not_found_name(name);
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", fam);
  }
  bool children = false;
  for (size_t i = 0; i < s->n_images && !children; i++)
    children = !strcmp(s->images[i]->parent, im->id);
  struct image_ref r;
  struct tag *t = NULL;
  if (!str_has_prefix(name, "sha256:") && ref_parse(name, true, &r, NULL) == 0) {
    cleanup_free char *canon = ref_canonical(&r);
    ref_free(&r);
    t = tag_find(s, canon);
  }
  /* by id: a parent cannot go; by tag, dockerd untags it and keeps the
   * image quietly for its children (below) */
  if (!t && children) {
    pthread_mutex_unlock(&s->lock);
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "conflict: unable to delete %.12s (cannot be forced) - image has "
                         "dependent child images",
                         im->id + 7);
  }
  if (t && other_refs_locked(s, im->id, t) > 0) {
    /* other references remain: untag only (and, as docker does, the
     * repository's digest references when its last tag goes) */
    untag_with_digests_locked(s, t, result);
    int rr = save_tags(s);
    pthread_mutex_unlock(&s->lock);
    return rr < 0 ? err_sys_(err, BERTH_EINTERNAL, -rr, "write repositories.json") : 0;
  }
  if (!t && repo_count(s, im->id) > 1 && !force) {
    pthread_mutex_unlock(&s->lock);
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "conflict: unable to delete %.12s (must be forced) - image is "
                         "referenced in multiple repositories",
                         im->id + 7);
  }
  if (use == 2 || (use == 1 && !force)) {
    pthread_mutex_unlock(&s->lock);
    if (t)
      return berth_err_set(err, BERTH_ECONFLICT, 0,
                           "conflict: unable to remove repository reference \"%s\" (must force) - "
                           "container %.12s is using its referenced image %.12s",
                           name, cid, im->id + 7);
    return berth_err_set(
        err, BERTH_ECONFLICT, 0,
        "conflict: unable to delete %.12s (%s) - image is being used by %s container %.12s",
        im->id + 7, use == 2 ? "cannot be forced" : "must be forced",
        use == 2 ? "running" : "stopped", cid);
  }
  for (size_t i = 0; i < s->n_tags;)
    if (!strcmp(s->tags[i].id, im->id))
      untag_locked(s, &s->tags[i], result);
    else
      i++;
  int rr = save_tags(s);
  /* forced past a stopped container, or a parent of others: the image
   * stays, untagged */
  char parent[DIGEST_LEN + 1] = "";
  if (use == 0 && !children) {
    snprintf(parent, sizeof parent, "%s", im->parent);
    delete_image_locked(s, im, noprune, result);
  }
  pthread_mutex_unlock(&s->lock);
  if (rr < 0) return err_sys_(err, BERTH_EINTERNAL, -rr, "write repositories.json");
  if (!noprune) prune_parents(s, parent, result);
  return 0;
}

/* ---- layer data and mounts ---- */

struct mount_ref {
  char sid[STORE_INIT_ID_MAX];
  char path[BERTH_STORAGE_PATH_MAX];
  int count;
  bool mapped; /* mount_idmapped's */
  bool busy;   /* the driver mounts or unmounts it now, outside the lock */
};
static struct mount_ref *mounts;
static size_t n_mounts;
/* the table only: a driver's mount or unmount runs outside it (an
 * overlay's unmount syncs the upper filesystem: 50 at once by rm -f were
 * one after another), one at a time for a layer (busy) */
static pthread_mutex_t mounts_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mounts_cv = PTHREAD_COND_INITIALIZER;

/* sid's entry, once no mount or unmount of it is under way; -1: none */
static ssize_t mount_ref_locked(const char *sid) {
  for (;;) {
    ssize_t at = -1;
    for (size_t i = 0; i < n_mounts; i++)
      if (!strcmp(mounts[i].sid, sid)) at = (ssize_t)i;
    if (at < 0 || !mounts[at].busy) return at;
    pthread_cond_wait(&mounts_cv, &mounts_lock);
  }
}

static void mount_ref_drop_locked(const char *sid) {
  for (size_t i = 0; i < n_mounts; i++)
    if (!strcmp(mounts[i].sid, sid)) {
      mounts[i] = mounts[--n_mounts];
      break;
    }
}

/* map: NULL for a plain mount.  A layer is mounted one way at a time: a
 * request the other way while it is mounted is refused (ECONFLICT). */
static int mount_layer(struct image_store *s, const char *sid,
                       const struct berth_storage_idmap *map, char *path, struct berth_err *err) {
  pthread_mutex_lock(&mounts_lock);
  ssize_t at = mount_ref_locked(sid);
  struct mount_ref *m = at >= 0 ? &mounts[at] : NULL;
  if (m && m->mapped != (map != NULL)) {
    pthread_mutex_unlock(&mounts_lock);
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "layer %.12s is in use %s an id mapping; try again when it is not", sid,
                         m->mapped ? "with" : "without");
  }
  if (m) {
    m->count++;
    memcpy(path, m->path, BERTH_STORAGE_PATH_MAX);
    pthread_mutex_unlock(&mounts_lock);
    return 0;
  }
  mounts = xrealloc(mounts, (n_mounts + 1) * sizeof *mounts);
  m = &mounts[n_mounts++];
  *m = (struct mount_ref){.count = 0, .mapped = map != NULL, .busy = true};
  snprintf(m->sid, sizeof m->sid, "%s", sid);
  pthread_mutex_unlock(&mounts_lock);
  int r = map ? drv_storage_mount_idmapped(s->storage, sid, map, path, err)
              : drv_storage_mount(s->storage, sid, "", path, err);
  pthread_mutex_lock(&mounts_lock);
  for (size_t i = 0; i < n_mounts; i++) /* the array may have moved */
    if (!strcmp(mounts[i].sid, sid) && mounts[i].busy) m = &mounts[i];
  if (r == 0) {
    memcpy(m->path, path, BERTH_STORAGE_PATH_MAX);
    m->count = 1;
    m->busy = false;
  } else {
    mount_ref_drop_locked(sid);
  }
  pthread_cond_broadcast(&mounts_cv);
  pthread_mutex_unlock(&mounts_lock);
  return r;
}

int store_mount_layer(struct image_store *s, const char *sid, char *path, struct berth_err *err) {
  return mount_layer(s, sid, NULL, path, err);
}

int store_mount_layer_idmapped(struct image_store *s, const char *sid, const struct idmap *map,
                               int userns_fd, char *path, struct berth_err *err) {
  struct berth_storage_idmap m = {sizeof m, userns_fd, map->uid, map->gid, map->size};
  return mount_layer(s, sid, &m, path, err);
}

json_t *store_graph_data(struct image_store *s, const char *sid) {
  json_t *gd = json_object();
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct berth_err e = {0};
  if (drv_storage_metadata(s->storage, sid, &b, &e) == 0 && b.data) {
    char *save = NULL;
    for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char *tab = strchr(line, '\t');
      if (tab) {
        *tab = 0;
        json_object_set_new(gd, line, json_string(tab + 1));
      }
    }
  }
  host_buf_free(&b);
  return gd;
}

int store_unmount_layer(struct image_store *s, const char *sid, struct berth_err *err) {
  pthread_mutex_lock(&mounts_lock);
  ssize_t at = mount_ref_locked(sid);
  bool last = at >= 0 && --mounts[at].count == 0;
  if (last) mounts[at].busy = true;
  pthread_mutex_unlock(&mounts_lock);
  if (at < 0) return 1;
  if (!last) return 0;
  int r = drv_storage_unmount(s->storage, sid, err);
  pthread_mutex_lock(&mounts_lock);
  mount_ref_drop_locked(sid);
  pthread_cond_broadcast(&mounts_cv);
  pthread_mutex_unlock(&mounts_lock);
  return r;
}

void store_drop_unused_layer(struct image_store *s, const char *chain_id) {
  pthread_mutex_lock(&s->lock);
  struct layer *l = store_layer_locked(s, chain_id);
  bool has_child = false;
  for (size_t j = 0; l && j < s->n_layers; j++)
    if (!strcmp(s->layers[j]->parent, l->chain_id)) has_child = true;
  if (l && l->refs == 0 && !has_child) {
    drop_layer_files(s, l);
    for (size_t j = 0; j < s->n_layers; j++)
      if (s->layers[j] == l) s->layers[j] = s->layers[--s->n_layers];
    free(l);
  }
  pthread_mutex_unlock(&s->lock);
}

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;

static int make_init_layer(struct image_store *s, const char *top_sid, const char *id,
                           store_fill_fn *fill, void *arg, struct berth_err *err) {
  struct berth_storage_create_req req = {sizeof req, id, top_sid, NULL, 0};
  store_pending_begin(s, id); /* a crash before its end: swept at start-up */
  int r = drv_storage_create(s->storage, &req, true, err);
  char path[BERTH_STORAGE_PATH_MAX];
  if (r == 0 && (r = store_mount_layer(s, id, path, err)) == 0) {
    int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    r = rootfd < 0 ? err_sys(err, BERTH_EINTERNAL, "open %s", path) : fill(rootfd, arg, err);
    if (rootfd >= 0) close(rootfd);
    struct berth_err e = {0};
    store_unmount_layer(s, id, &e);
    if (r < 0) storage_remove(s, id);
  }
  store_pending_end(s, id);
  return r;
}

int store_init_layer(struct image_store *s, const char *top_sid, store_fill_fn *fill, void *arg,
                     char out[STORE_INIT_ID_MAX], struct berth_err *err) {
  if (snprintf(out, STORE_INIT_ID_MAX, "%s" INIT_SUFFIX, top_sid) >= STORE_INIT_ID_MAX)
    return berth_err_set(err, BERTH_EINVAL, 0, "layer id %s is too long", top_sid);
  pthread_mutex_lock(&init_mu);
  int r = drv_storage_exists(s->storage, out, err);
  if (r == 0) r = make_init_layer(s, top_sid, out, fill, arg, err);
  pthread_mutex_unlock(&init_mu);
  return r < 0 ? r : 0;
}
