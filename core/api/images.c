/* /images/...: list, inspect, history, tag, delete, prune */
#include <fnmatch.h>

#include "../daemon.h"
#include "../driver.h"
#include "../image/imageconf.h"
#include "images.h"
#include "routes.h"

static json_t *tags_json(struct image_store *s, const char *id, bool digests) {
  size_t n;
  char **refs = store_refs_of_locked(s, id, &n);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    bool is_digest = strchr(refs[i], '@') != NULL;
    if (is_digest != digests) continue;
    char *fam = ref_familiarize(refs[i]);
    json_array_append_new(a, json_string(fam));
    free(fam);
  }
  free_strv(refs, n);
  return a;
}

static json_t *image_labels(struct image *im) {
  json_t *l = json_object_get(json_object_get(im->config, "config"), "Labels");
  return json_is_object(l) ? json_incref(l) : json_null();
}

static char *created_string(struct image *im) {
  const char *c = json_string_value(json_object_get(im->config, "created"));
  return xstrdup(c ? c : "0001-01-01T00:00:00Z");
}

json_t *image_inspect_json(struct daemon *d, struct image *im) {
  struct image_store *s = &d->images;
  json_t *cfg = im->config;
  json_t *layers = json_array();
  for (size_t i = 0; i < im->n_layers; i++)
    json_array_append_new(layers, json_string(im->diff_ids[i]));
  struct layer *top = *im->top_chain ? store_layer_locked(s, im->top_chain) : NULL;
  json_t *gd = top ? store_graph_data(s, top->storage_id) : json_object();
  char last_tag[64];
  if (im->last_tag_ns)
    format_rfc3339(im->last_tag_ns, last_tag, sizeof last_tag);
  else
    snprintf(last_tag, sizeof last_tag, "0001-01-01T00:00:00Z");
  const char *str;
  cleanup_free char *created = created_string(im);
  json_t *j = json_object();
  json_object_set_new(j, "Id", json_string(im->id));
  json_object_set_new(j, "RepoTags", tags_json(s, im->id, false));
  json_object_set_new(j, "RepoDigests", tags_json(s, im->id, true));
  json_object_set_new(j, "Parent", json_string(im->parent));
  json_object_set_new(
      j, "Comment",
      json_string((str = json_string_value(json_object_get(cfg, "comment"))) ? str : ""));
  json_object_set_new(j, "Created", json_string(created));
  json_object_set_new(
      j, "Container",
      json_string((str = json_string_value(json_object_get(cfg, "container"))) ? str : ""));
  json_object_set_new(j, "ContainerConfig",
                      imageconf_container_config(json_object_get(cfg, "container_config")));
  json_object_set_new(
      j, "DockerVersion",
      json_string((str = json_string_value(json_object_get(cfg, "docker_version"))) ? str : ""));
  json_object_set_new(
      j, "Author",
      json_string((str = json_string_value(json_object_get(cfg, "author"))) ? str : ""));
  json_object_set_new(j, "Config", imageconf_container_config(json_object_get(cfg, "config")));
  json_object_set_new(j, "Architecture",
                      json_string((str = json_string_value(json_object_get(cfg, "architecture")))
                                      ? str
                                      : host_arch()));
  if ((str = json_string_value(json_object_get(cfg, "variant"))))
    json_object_set_new(j, "Variant", json_string(str));
  json_object_set_new(
      j, "Os", json_string((str = json_string_value(json_object_get(cfg, "os"))) ? str : "linux"));
  json_object_set_new(j, "Size", json_integer((json_int_t)im->size));
  json_object_set_new(j, "VirtualSize", json_integer((json_int_t)im->size));
  json_object_set_new(j, "GraphDriver",
                      json_pack("{s:s,s:o}", "Name", d->storage->name, "Data", gd));
  json_object_set_new(j, "RootFS", json_pack("{s:s,s:o}", "Type", "layers", "Layers", layers));
  json_object_set_new(j, "Metadata", json_pack("{s:s}", "LastTagTime", last_tag));
  return j;
}

static int inspect(struct api_request *req) {
  struct daemon *d = req->d;
  const char *name = api_param(req, 0);
  pthread_mutex_lock(&d->images.lock);
  struct image *im = store_lookup_locked(&d->images, name);
  json_t *j = im ? image_inspect_json(d, im) : NULL;
  pthread_mutex_unlock(&d->images.lock);
  if (!j) return api_reply_error(req, 404, "No such image: %s", name);
  return api_reply_json(req, 200, j);
}

static int history(struct api_request *req) {
  struct daemon *d = req->d;
  const char *name = api_param(req, 0);
  struct image_store *s = &d->images;
  pthread_mutex_lock(&s->lock);
  struct image *im = store_lookup_locked(s, name);
  if (!im) {
    pthread_mutex_unlock(&s->lock);
    return api_reply_error(req, 404, "No such image: %s", name);
  }
  /* sizes of the layers, bottom up, matched to non-empty history entries */
  uint64_t *sizes = xcalloc(im->n_layers + 1, sizeof *sizes);
  struct layer *l = *im->top_chain ? store_layer_locked(s, im->top_chain) : NULL;
  for (size_t i = im->n_layers; l && i > 0; i--) {
    sizes[i - 1] = l->size;
    l = *l->parent ? store_layer_locked(s, l->parent) : NULL;
  }
  json_t *hist = json_object_get(im->config, "history");
  json_t *out = json_array();
  size_t layer_i = 0, i;
  json_t *h;
  json_array_foreach(hist, i, h) {
    bool empty = json_is_true(json_object_get(h, "empty_layer"));
    const char *c = json_string_value(json_object_get(h, "created"));
    int64_t ns = c ? parse_rfc3339(c) : INT64_MIN;
    const char *by = json_string_value(json_object_get(h, "created_by"));
    const char *comment = json_string_value(json_object_get(h, "comment"));
    uint64_t size = 0;
    if (!empty && layer_i < im->n_layers) size = sizes[layer_i++];
    json_array_insert_new(out, 0,
                          json_pack("{s:s,s:I,s:s,s:n,s:I,s:s}", "Id", "<missing>", "Created",
                                    (json_int_t)(ns == INT64_MIN ? 0 : ns / 1000000000LL),
                                    "CreatedBy", by ? by : "", "Tags", "Size", (json_int_t)size,
                                    "Comment", comment ? comment : ""));
  }
  if (json_array_size(out) == 0)
    json_array_append_new(out, json_pack("{s:s,s:I,s:s,s:n,s:I,s:s}", "Id", "<missing>", "Created",
                                         (json_int_t)im->created, "CreatedBy", "", "Tags", "Size",
                                         (json_int_t)im->size, "Comment", ""));
  /* docker's ids and tags: row k is the image's k-th local parent (one
   * history line per build step), <missing> past the chain */
  struct image *at = im;
  for (size_t k = 0; at && k < json_array_size(out); k++) {
    json_t *row = json_array_get(out, k);
    json_object_set_new(row, "Id", json_string(at->id));
    json_t *tags = tags_json(s, at->id, false);
    json_object_set_new(row, "Tags",
                        json_array_size(tags) ? tags : (json_decref(tags), json_null()));
    at = *at->parent ? store_lookup_locked(s, at->parent) : NULL;
  }
  pthread_mutex_unlock(&s->lock);
  free(sizes);
  return api_reply_json(req, 200, out);
}

static bool match_reference(struct image_store *s, const char *id, json_t *patterns) {
  size_t n;
  char **refs = store_refs_of_locked(s, id, &n);
  bool ok = false;
  for (size_t i = 0; i < n && !ok; i++) {
    cleanup_free char *fam = ref_familiarize(refs[i]);
    struct image_ref r;
    if (ref_parse(refs[i], false, &r, NULL) < 0) continue;
    cleanup_free char *repo = ref_repo_familiar(&r);
    ref_free(&r);
    size_t k;
    json_t *p;
    json_array_foreach(patterns, k, p) {
      const char *pat = json_string_value(p);
      if (!fnmatch(pat, fam, FNM_PATHNAME) || !fnmatch(pat, repo, FNM_PATHNAME)) ok = true;
    }
  }
  free_strv(refs, n);
  return ok;
}

static bool match_labels(json_t *labels, json_t *wanted) {
  size_t k;
  json_t *p;
  json_array_foreach(wanted, k, p) {
    const char *w = json_string_value(p);
    const char *eq = strchr(w, '=');
    cleanup_free char *key = eq ? strndup(w, (size_t)(eq - w)) : xstrdup(w);
    json_t *v = json_object_get(labels, key);
    if (!v) return false;
    if (eq && strcmp(json_string_value(v) ? json_string_value(v) : "", eq + 1)) return false;
  }
  return true;
}

/* only the tags (or digests) a reference filter names, as docker does;
 * takes tags */
static json_t *tags_matching(json_t *tags, json_t *patterns) {
  json_t *kept = json_array();
  size_t ti;
  json_t *tv;
  json_array_foreach(tags, ti, tv) {
    const char *t = json_string_value(tv);
    cleanup_free char *repo = xstrdup(t);
    char *at = strchr(repo, '@');
    if (at) *at = 0; /* a RepoDigests entry: repo@sha256:... */
    char *slash = strrchr(repo, '/'), *colon = strrchr(slash ? slash : repo, ':');
    if (colon) *colon = 0;
    size_t k;
    json_t *p;
    bool m = false;
    json_array_foreach(patterns, k, p) {
      const char *pat = json_string_value(p);
      if (!fnmatch(pat, t, FNM_PATHNAME) || !fnmatch(pat, repo, FNM_PATHNAME)) m = true;
    }
    if (m) json_array_append(kept, tv);
  }
  json_decref(tags);
  return kept;
}

static int cmp_created_desc(const void *a, const void *b) {
  json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "Created"));
  json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "Created"));
  return x < y ? 1 : x > y ? -1 : 0;
}

/* newest first (a stable sort: equal times keep the store's order) */
static json_t *sorted_by_created(json_t *list) {
  size_t n = json_array_size(list);
  json_t **v = xcalloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_incref(json_array_get(list, i));
  /* insertion sort: stable, unlike qsort (O(n^2): issue 16 has ps/images
   * with 1,000 entries) */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && cmp_created_desc(&v[j - 1], &v[j]) > 0; j--) {
      json_t *t = v[j - 1];
      v[j - 1] = v[j];
      v[j] = t;
    }
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(out, v[i]);
  free(v);
  json_decref(list);
  return out;
}

json_t *image_summary_json(struct image_store *s, struct image *im) {
  json_t *j = json_object();
  json_object_set_new(j, "Id", json_string(im->id));
  json_object_set_new(j, "ParentId", json_string(im->parent));
  json_object_set_new(j, "RepoTags", tags_json(s, im->id, false));
  json_object_set_new(j, "RepoDigests", tags_json(s, im->id, true));
  json_object_set_new(j, "Created", json_integer(im->created));
  json_object_set_new(j, "Size", json_integer((json_int_t)im->size));
  json_object_set_new(j, "SharedSize", json_integer(-1));
  json_object_set_new(j, "VirtualSize", json_integer((json_int_t)im->size));
  json_object_set_new(j, "Labels", image_labels(im));
  json_object_set_new(j, "Containers", json_integer(-1));
  return j;
}

static const char *valid_image_filters[] = {"dangling", "reference", "label", "before", "since"};

static int list(struct api_request *req) {
  struct daemon *d = req->d;
  struct image_store *s = &d->images;
  struct berth_err err = {0};
  json_t *f = api_filters(req, &err);
  if (!f) return api_reply_err(req, &err);
  const char *key;
  json_t *v;
  json_object_foreach(f, key, v) {
    bool known = false;
    for (size_t i = 0; i < ARRAY_SIZE(valid_image_filters); i++)
      if (!strcmp(key, valid_image_filters[i])) known = true;
    if (!known) {
      json_decref(f);
      return api_reply_error(req, 400, "invalid filter '%s'", key);
    }
  }
  bool all = api_query_bool(req, "all", false);
  json_t *dangling = json_object_get(f, "dangling");
  int want_dangling = -1;
  if (json_array_size(dangling)) {
    const char *dv = json_string_value(json_array_get(dangling, 0));
    if (strcmp(dv, "true") && strcmp(dv, "false") && strcmp(dv, "1") && strcmp(dv, "0")) {
      json_decref(f);
      return api_reply_error(req, 400, "invalid filter 'dangling=%s'", dv);
    }
    want_dangling = parse_bool_value(dv);
  }
  json_t *out = json_array();
  pthread_mutex_lock(&s->lock);
  int64_t before = INT64_MAX, since = INT64_MIN;
  json_t *b = json_object_get(f, "before"), *sn = json_object_get(f, "since");
  if (json_array_size(b)) {
    struct image *bi = store_lookup_locked(s, json_string_value(json_array_get(b, 0)));
    if (bi) before = bi->created;
  }
  if (json_array_size(sn)) {
    struct image *si = store_lookup_locked(s, json_string_value(json_array_get(sn, 0)));
    if (si) since = si->created;
  }
  for (size_t i = 0; i < s->n_images; i++) {
    struct image *im = s->images[i];
    size_t nrefs;
    char **refs = store_refs_of_locked(s, im->id, &nrefs);
    free_strv(refs, nrefs);
    if (!all && !nrefs && store_has_child_locked(s, im->id)) continue; /* an intermediate one */
    if (want_dangling >= 0 && (nrefs == 0) != (bool)want_dangling) continue;
    if (json_object_get(f, "reference") &&
        !match_reference(s, im->id, json_object_get(f, "reference")))
      continue;
    json_t *labels = json_object_get(json_object_get(im->config, "config"), "Labels");
    if (json_object_get(f, "label") && !match_labels(labels, json_object_get(f, "label"))) continue;
    if (im->created >= before || im->created <= since) continue;
    json_t *j = image_summary_json(s, im);
    json_t *refpat = json_object_get(f, "reference");
    if (refpat) {
      json_object_set_new(j, "RepoTags", tags_matching(tags_json(s, im->id, false), refpat));
      json_object_set_new(j, "RepoDigests",
                          tags_matching(json_incref(json_object_get(j, "RepoDigests")), refpat));
    }
    json_array_append_new(out, j);
  }
  pthread_mutex_unlock(&s->lock);
  json_decref(f);
  return api_reply_json(req, 200, sorted_by_created(out));
}

static int tag(struct api_request *req) {
  struct daemon *d = req->d;
  const char *name = api_param(req, 0);
  const char *repo = api_query(req, "repo");
  const char *tagq = api_query(req, "tag");
  if (!repo || !*repo)
    return api_reply_error(req, 400, "repository name must have at least one component");
  cleanup_free char *full = tagq && *tagq ? xasprintf("%s:%s", repo, tagq) : xstrdup(repo);
  struct image_ref r;
  struct berth_err err = {0};
  if (ref_parse(full, true, &r, &err) < 0) return api_reply_err(req, &err);
  if (r.digest) {
    ref_free(&r);
    return api_reply_error(req, 400, "refusing to create a tag with a digest reference");
  }
  pthread_mutex_lock(&d->images.lock);
  struct image *im = store_lookup_locked(&d->images, name);
  char id[DIGEST_LEN + 1] = "";
  if (im) memcpy(id, im->id, sizeof id);
  pthread_mutex_unlock(&d->images.lock);
  if (!*id) {
    ref_free(&r);
    return api_reply_error(req, 404, "No such image: %s", name);
  }
  int rc = store_tag_event(&d->images, id, &r, &err);
  ref_free(&r);
  if (rc < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, 201);
}

static int delete (struct api_request *req) {
  struct daemon *d = req->d;
  json_t *result = json_array();
  struct berth_err err = {0};
  int r = store_delete(&d->images, api_param(req, 0), api_query_bool(req, "force", false),
                       api_query_bool(req, "noprune", false), result, &err);
  if (r < 0) {
    json_decref(result);
    return api_reply_err(req, &err);
  }
  return api_reply_json(req, 200, result);
}

/* one pass of prune: the images it may take (all unused, or only the
 * untagged), collected first and deleted without the lock; how many went */
static size_t prune_pass(struct image_store *s, bool only_dangling, json_t *deleted) {
  pthread_mutex_lock(&s->lock);
  char(*ids)[DIGEST_LEN + 1] = xcalloc(s->n_images + 1, sizeof *ids);
  size_t n = 0, gone = 0;
  for (size_t i = 0; i < s->n_images; i++) {
    size_t nrefs;
    char **refs = store_refs_of_locked(s, s->images[i]->id, &nrefs);
    free_strv(refs, nrefs);
    if (only_dangling && nrefs) continue;
    memcpy(ids[n++], s->images[i]->id, DIGEST_LEN + 1);
  }
  pthread_mutex_unlock(&s->lock);
  for (size_t i = 0; i < n; i++) {
    struct berth_err e = {0};
    gone += store_delete(s, ids[i], !only_dangling, false, deleted, &e) == 0;
  }
  free(ids);
  return gone;
}

/* the bytes the store's layers hold on disk */
static uint64_t layers_size(struct image_store *s) {
  uint64_t n = 0;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->n_layers; i++)
    n += s->layers[i]->size;
  pthread_mutex_unlock(&s->lock);
  return n;
}

/* passes until one takes nothing: an image refused for its child (a
 * parent listed before it) goes in the next, as docker's prune takes both */
static int prune(struct api_request *req) {
  struct berth_err err = {0};
  json_t *f = api_filters(req, &err);
  if (!f) return api_reply_err(req, &err);
  json_t *dv = json_object_get(f, "dangling");
  bool only_dangling =
      !json_array_size(dv) || parse_bool_value(json_string_value(json_array_get(dv, 0)));
  json_decref(f);
  json_t *deleted = json_array();
  /* what the layers that went held: a layer two images shared counts once */
  uint64_t before = layers_size(&req->d->images);
  while (prune_pass(&req->d->images, only_dangling, deleted) > 0) {
  }
  uint64_t after = layers_size(&req->d->images), reclaimed = before > after ? before - after : 0;
  return api_reply_json(
      req, 200,
      json_pack("{s:o,s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed));
}

const struct api_route image_routes[] = {
    {"GET", "/images/json", list, BODY_BUFFER, NULL},
    {"GET", "/images/get", image_save, BODY_BUFFER, NULL},
    {"POST", "/images/load", image_load, BODY_STREAM, image_load_consume},
    {"POST", "/images/create", image_create, BODY_STREAM, image_create_consume},
    {"POST", "/images/prune", prune, BODY_BUFFER, NULL},
    {"GET", "/images/{name*}/json", inspect, BODY_BUFFER, NULL},
    {"GET", "/images/{name*}/history", history, BODY_BUFFER, NULL},
    {"GET", "/images/{name*}/get", image_save, BODY_BUFFER, NULL},
    {"POST", "/images/{name*}/tag", tag, BODY_BUFFER, NULL},
    {"DELETE", "/images/{name*}", delete, BODY_BUFFER, NULL},
};
const size_t n_image_routes = ARRAY_SIZE(image_routes);
