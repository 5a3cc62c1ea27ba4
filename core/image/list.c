/* The image listing and prune (list.h). */
#include "list.h"

#include <fnmatch.h>

#include "reference.h"

json_t *image_tags_json(struct image_store *s, const char *id, bool digests) {
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

/* path.Match's patterns: a '[' must be closed */
static int check_patterns(const struct filter_key *k, struct berth_err *err) {
  for (size_t i = 0; k && i < k->n; i++) {
    const char *open = strchr(k->vals[i], '[');
    if (open && !strchr(open, ']'))
      return berth_err_set(err, BERTH_EINTERNAL, 0, "syntax error in pattern");
  }
  return 0;
}

static bool pattern_matches(const struct filter_key *k, const char *a, const char *b) {
  for (size_t i = 0; i < k->n; i++)
    if (!fnmatch(k->vals[i], a, FNM_PATHNAME) || !fnmatch(k->vals[i], b, FNM_PATHNAME)) return true;
  return false;
}

static bool match_reference(struct image_store *s, const char *id, const struct filter_key *k) {
  size_t n;
  char **refs = store_refs_of_locked(s, id, &n);
  bool ok = false;
  for (size_t i = 0; i < n && !ok; i++) {
    cleanup_free char *fam = ref_familiarize(refs[i]);
    struct image_ref r;
    if (ref_parse(refs[i], false, &r, NULL) < 0) continue;
    cleanup_free char *repo = ref_repo_familiar(&r);
    ref_free(&r);
    ok = pattern_matches(k, fam, repo);
  }
  free_strv(refs, n);
  return ok;
}

/* only the tags (or digests) a reference filter names, as docker does;
 * takes tags */
static json_t *tags_matching(json_t *tags, const struct filter_key *k) {
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
    if (pattern_matches(k, t, repo)) json_array_append(kept, tv);
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
  json_object_set_new(j, "RepoTags", image_tags_json(s, im->id, false));
  json_object_set_new(j, "RepoDigests", image_tags_json(s, im->id, true));
  json_object_set_new(j, "Created", json_integer(im->created));
  json_object_set_new(j, "Size", json_integer((json_int_t)im->size));
  json_object_set_new(j, "SharedSize", json_integer(-1));
  json_object_set_new(j, "VirtualSize", json_integer((json_int_t)im->size));
  json_object_set_new(j, "Labels", image_labels(im));
  json_object_set_new(j, "Containers", json_integer(-1));
  return j;
}

/* before and since: an image's creation time, or a 404 as docker's */
static int created_of_locked(struct image_store *s, struct filters *f, const char *key, int64_t *t,
                             struct berth_err *err) {
  const struct filter_key *k = filters_get(f, key);
  for (size_t i = 0; k && i < k->n; i++) {
    struct image *im = store_lookup_locked(s, k->vals[i]);
    if (!im) {
      cleanup_free char *fam = ref_not_found_name(k->vals[i]);
      return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", fam);
    }
    *t = im->created;
  }
  return 0;
}

static bool listed_locked(struct image_store *s, struct image *im, struct filters *f, bool all,
                          int dangling, int64_t before, int64_t since) {
  size_t nrefs;
  char **refs = store_refs_of_locked(s, im->id, &nrefs);
  free_strv(refs, nrefs);
  if (!all && !nrefs && store_has_child_locked(s, im->id)) return false; /* intermediate */
  if (dangling >= 0 && (nrefs == 0) != (bool)dangling) return false;
  const struct filter_key *ref = filters_get(f, "reference");
  if (ref && ref->n && !match_reference(s, im->id, ref)) return false;
  json_t *labels = json_object_get(json_object_get(im->config, "config"), "Labels");
  return filters_labels(f, "label", labels) && im->created < before && im->created > since;
}

json_t *image_list(struct image_store *s, struct filters *f, bool all, struct berth_err *err) {
  static const char *const accepted[] = {"dangling", "label", "before", "since", "reference", NULL};
  if (filters_check(f, accepted, err) < 0 || check_patterns(filters_get(f, "reference"), err) < 0)
    return NULL;
  int dangling = -1;
  if (filters_has(f, "dangling")) {
    if (filters_exact(f, "dangling", "true"))
      dangling = 1;
    else if (filters_exact(f, "dangling", "false"))
      dangling = 0;
    else {
      cleanup_free char *v = filters_text(f, "dangling");
      berth_err_set(err, BERTH_EINVAL, 0, "Invalid filter 'dangling=%s'", v);
      return NULL;
    }
  }
  int64_t before = INT64_MAX, since = INT64_MIN;
  json_t *out = json_array();
  const struct filter_key *ref = filters_get(f, "reference");
  pthread_mutex_lock(&s->lock);
  if (created_of_locked(s, f, "before", &before, err) < 0 ||
      created_of_locked(s, f, "since", &since, err) < 0) {
    pthread_mutex_unlock(&s->lock);
    json_decref(out);
    return NULL;
  }
  for (size_t i = 0; i < s->n_images; i++) {
    struct image *im = s->images[i];
    if (!listed_locked(s, im, f, all, dangling, before, since)) continue;
    json_t *j = image_summary_json(s, im);
    if (ref && ref->n) {
      json_object_set_new(j, "RepoTags", tags_matching(image_tags_json(s, im->id, false), ref));
      json_object_set_new(j, "RepoDigests",
                          tags_matching(json_incref(json_object_get(j, "RepoDigests")), ref));
    }
    json_array_append_new(out, j);
  }
  pthread_mutex_unlock(&s->lock);
  return sorted_by_created(out);
}

/* one pass of prune: the images it may take (all unused, or only the
 * untagged), collected first and deleted without the lock; how many went */
static size_t prune_pass(struct image_store *s, bool only_dangling, struct filters *f,
                         int64_t until_ns, json_t *deleted) {
  pthread_mutex_lock(&s->lock);
  char(*ids)[DIGEST_LEN + 1] = xcalloc(s->n_images + 1, sizeof *ids);
  size_t n = 0, gone = 0;
  for (size_t i = 0; i < s->n_images; i++) {
    size_t nrefs;
    char **refs = store_refs_of_locked(s, s->images[i]->id, &nrefs);
    free_strv(refs, nrefs);
    if (only_dangling && nrefs) continue;
    json_t *labels = json_object_get(json_object_get(s->images[i]->config, "config"), "Labels");
    if (s->images[i]->created * 1000000000 > until_ns || !filters_prune_labels(f, labels)) continue;
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
json_t *image_prune(struct image_store *s, struct filters *f, struct berth_err *err) {
  static const char *const accepted[] = {"dangling", "label", "label!", "until", NULL};
  int64_t until;
  if (filters_check(f, accepted, err) < 0 || filters_until(f, &until, err) < 0) return NULL;
  /* the CLI sends dangling=true unless -a */
  bool only_dangling = !filters_has(f, "dangling") || !(filters_exact(f, "dangling", "false") ||
                                                        filters_exact(f, "dangling", "0"));
  json_t *deleted = json_array();
  /* what the layers that went held: a layer two images shared counts once */
  uint64_t before = layers_size(s);
  while (prune_pass(s, only_dangling, f, until, deleted) > 0) {
  }
  uint64_t after = layers_size(s), reclaimed = before > after ? before - after : 0;
  return json_pack("{s:o,s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
}
