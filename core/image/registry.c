/* The registry calls that are not pull or push: distribution inspect,
 * login and search. */
#include "registry.h"

#include "../daemon.h"
#include "../driver.h"

const char *const registry_accept_all[] = {MT_DOCKER_MANIFEST, MT_DOCKER_LIST, MT_OCI_MANIFEST,
                                           MT_OCI_INDEX, NULL};

static ssize_t mem_write(void *ctx, const void *buf, size_t len) {
  struct berth_buf *b = ctx;
  b->data = xrealloc(b->data, b->len + len + 1);
  memcpy(b->data + b->len, buf, len);
  b->len += len;
  b->data[b->len] = 0;
  return (ssize_t)len;
}

int registry_get_config(struct drv_reg *s, const char *digest, struct berth_buf *out,
                        struct berth_err *err) {
  struct berth_writer w = BERTH_WRITER(out, mem_write);
  int r = drv_reg_get_blob(s, digest, 0, &w, err);
  char hex[65];
  if (r == 0) sha256_hex(out->data, out->len, hex);
  if (r == 0 && (!digest || !str_has_prefix(digest, "sha256:") || strcmp(hex, digest + 7)))
    r = berth_err_set(err, BERTH_EINVAL, 0, "image config verification failed for digest %s",
                      digest);
  return r;
}

/* the platform of a single-platform image, from its config */
static json_t *config_platform(struct drv_reg *s, const char *cdig) {
  struct berth_buf cb = {sizeof cb, NULL, 0, 0};
  struct berth_err e = {0};
  json_t *out = NULL;
  if (registry_get_config(s, cdig, &cb, &e) == 0 && cb.data) {
    json_t *cfg = json_loadb(cb.data, cb.len, 0, NULL);
    out = json_pack("{s:s,s:s}", "architecture",
                    json_string_value(json_object_get(cfg, "architecture")) ?: "", "os",
                    json_string_value(json_object_get(cfg, "os")) ?: "");
    json_decref(cfg);
  }
  free(cb.data);
  return out;
}

json_t *image_distribution_inspect(struct daemon *d, const struct image_ref *ref,
                                   const struct berth_reg_auth *auth, struct berth_err *err) {
  if (!d->registry) {
    berth_err_set(err, BERTH_ENOTSUP, 0, "no registry driver is configured");
    return NULL;
  }
  struct berth_reg_target target = {sizeof target, ref->domain, ref->path, auth, 0};
  struct drv_reg s;
  struct berth_buf mb = {sizeof mb, NULL, 0, 0};
  struct berth_reg_desc desc = {0};
  json_t *out = NULL;
  int r = drv_reg_open(d->registry, &target, &s, err);
  if (r == 0)
    r = drv_reg_get_manifest(&s, ref->digest ? ref->digest : ref->tag, registry_accept_all, &mb,
                             &desc, err);
  json_t *man = r == 0 ? json_loadb(mb.data, mb.len, 0, NULL) : NULL;
  if (r == 0 && !man)
    berth_err_set(err, BERTH_EINVAL, 0, "the registry sent a manifest that is not JSON");
  if (man) {
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
    json_t *one = cdig && str_has_prefix(cdig, "sha256:") ? config_platform(&s, cdig) : NULL;
    if (one) json_array_append_new(plats, one);
    out = json_pack("{s:{s:s,s:s,s:I},s:o}", "Descriptor", "mediaType",
                    mt && *mt ? mt : desc.media_type, "digest", "", "size", (json_int_t)mb.len,
                    "Platforms", plats);
    json_object_set_new(json_object_get(out, "Descriptor"), "digest",
                        json_sprintf("sha256:%s", hex));
  }
  json_decref(man);
  free(mb.data);
  drv_reg_close(&s);
  return out;
}

int registry_login(struct daemon *d, const char *server, const char *user, const char *pass,
                   char host_out[256], struct berth_err *err) {
  cleanup_free char *srv =
      xstrdup(!server || !*server || strstr(server, "index.docker.io") ? "docker.io" : server);
  /* "https://host:5000/" -> "host:5000" */
  const char *h = str_has_prefix(srv, "https://")  ? srv + 8
                  : str_has_prefix(srv, "http://") ? srv + 7
                                                   : srv;
  snprintf(host_out, 256, "%.*s", (int)strcspn(h, "/"), h);
  if (!d->registry) return berth_err_set(err, BERTH_ENOTSUP, 0, "no registry driver is configured");
  struct berth_reg_auth a = {sizeof a, user, pass, NULL, NULL};
  return drv_reg_login(d->registry, host_out, &a, err);
}

json_t *registry_search(struct daemon *d, const char *term, int64_t limit,
                        const struct berth_reg_auth *auth, struct berth_err *err) {
  if (!d->registry) {
    berth_err_set(err, BERTH_ENOTSUP, 0, "no registry driver is configured");
    return NULL;
  }
  /* "host:5000/name" searches that registry; a bare term searches docker.io */
  cleanup_free char *host = NULL;
  const char *q = term, *slash = strchr(term, '/');
  if (slash && (memchr(term, '.', (size_t)(slash - term)) ||
                memchr(term, ':', (size_t)(slash - term)) || !strncmp(term, "localhost/", 10))) {
    host = strndup(term, (size_t)(slash - term));
    q = slash + 1;
  }
  struct berth_buf out = {sizeof out, NULL, 0, 0};
  int r = drv_reg_search(d->registry, host ? host : "docker.io", auth, q,
                         (uint32_t)(limit > 0 ? limit : 25), &out, err);
  json_t *j =
      r == 0 ? json_loadb(out.data ? out.data : "[]", out.data ? out.len : 2, 0, NULL) : NULL;
  free(out.data);
  if (r == 0 && !j)
    berth_err_set(err, BERTH_EINTERNAL, 0, "the registry driver's search result is not JSON");
  return j;
}
