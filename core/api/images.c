/* /images/...: list, inspect, history, tag, delete, prune */
#include "images.h"
#include "../daemon.h"
#include "../driver.h"
#include "../image/imageconf.h"
#include "../image/list.h"
#include "../util/filters.h"
#include "routes.h"

static char *created_string(struct image *im) {
  const char *c = json_string_value(json_object_get(im->config, "created"));
  return xstrdup(c ? c : "0001-01-01T00:00:00Z");
}

/* the config's comment, else its last history entry's (dockerd's: an
 * import's "Imported from -") */
static const char *image_comment(json_t *cfg) {
  const char *c = json_string_value(json_object_get(cfg, "comment"));
  json_t *h = json_object_get(cfg, "history");
  if ((!c || !*c) && json_array_size(h))
    c = json_string_value(json_object_get(json_array_get(h, json_array_size(h) - 1), "comment"));
  return c ? c : "";
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
  json_object_set_new(j, "RepoTags", image_tags_json(s, im->id, false));
  json_object_set_new(j, "RepoDigests", image_tags_json(s, im->id, true));
  json_object_set_new(j, "Parent", json_string(im->parent));
  json_object_set_new(j, "Comment", json_string(image_comment(cfg)));
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
  if (!j) {
    cleanup_free char *fam = ref_not_found_name(name);
    return api_reply_error(req, 404, "no such image: %s: No such image: %s", name, fam);
  }
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
    cleanup_free char *fam = ref_not_found_name(name);
    return api_reply_error(req, 404, "No such image: %s", fam);
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
    json_t *tags = image_tags_json(s, at->id, false);
    json_object_set_new(row, "Tags",
                        json_array_size(tags) ? tags : (json_decref(tags), json_null()));
    at = *at->parent ? store_lookup_locked(s, at->parent) : NULL;
  }
  pthread_mutex_unlock(&s->lock);
  free(sizes);
  return api_reply_json(req, 200, out);
}

static int list(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  if (filters_parse(api_query(req, "filters"), &f, &err) < 0) return api_reply_err(req, &err);
  json_t *j = image_list(&req->d->images, &f, api_query_bool(req, "all", false), &err);
  filters_free(&f);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
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
    cleanup_free char *fam = ref_not_found_name(name);
    return api_reply_error(req, 404, "No such image: %s", fam);
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

static int prune(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  if (filters_parse(api_query(req, "filters"), &f, &err) < 0) return api_reply_err(req, &err);
  json_t *j = image_prune(&req->d->images, &f, &err);
  filters_free(&f);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
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
