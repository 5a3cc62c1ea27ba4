/* The registry contract (include/berth/registry.h), against a registry
 * given with --registry HOST:PORT (a local docker-registry): push a blob
 * and a manifest, stat and fetch them back (also from an offset), by tag
 * and by digest, the not-found cases, tag listing. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define OPS(t) ((const struct berth_registry_ops *)(t)->ops)
#define MT_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

static void sha256(const void *data, size_t len, char out[80]) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
  strcpy(out, "sha256:");
  for (unsigned i = 0; i < n; i++)
    sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

struct mem {
  char *buf;
  size_t len, off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  struct mem *m = ctx;
  size_t n = m->len - m->off < len ? m->len - m->off : len;
  memcpy(buf, m->buf + m->off, n);
  m->off += n;
  return (ssize_t)n;
}

static ssize_t mem_write(void *ctx, const void *buf, size_t len) {
  struct mem *m = ctx;
  char *nb = realloc(m->buf, m->len + len);
  if (!nb) return -1;
  m->buf = nb;
  memcpy(m->buf + m->len, buf, len);
  m->len += len;
  return (ssize_t)len;
}

static int push_blob(struct target *t, void *sess, const char *mt, struct mem *m, char digest[80],
                     struct berth_err *e) {
  sha256(m->buf, m->len, digest);
  struct berth_reg_desc d = {sizeof d, "", "", m->len};
  snprintf(d.media_type, sizeof d.media_type, "%s", mt);
  snprintf(d.digest, sizeof d.digest, "%s", digest);
  m->off = 0;
  struct berth_reader r = BERTH_READER(m, mem_read);
  return OP(t, "put_blob", OPS(t)->put_blob(sess, &d, NULL, &r, e));
}

static void test_blobs(struct target *t, void *sess, struct mem *layer, const char *digest,
                       struct berth_err *e) {
  struct berth_reg_desc d = {sizeof d, "", "", 0};
  chk_ok(OP(t, "stat_blob", OPS(t)->stat_blob(sess, digest, &d, e)) == 0 && d.size == layer->len,
         "stat_blob: there, with its size (%llu)", (unsigned long long)d.size);
  const char *none = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  chk_ok(OP(t, "stat_blob", OPS(t)->stat_blob(sess, none, &d, e)) == -BERTH_ENOTFOUND,
         "stat_blob of a blob that is not there: ENOTFOUND");
  struct mem got = {0};
  struct berth_writer w = BERTH_WRITER(&got, mem_write);
  int r = OP(t, "get_blob", OPS(t)->get_blob(sess, digest, 0, &w, e));
  chk_ok(r == 0 && got.len == layer->len && !memcmp(got.buf, layer->buf, got.len),
         "get_blob: the same bytes (%zu of %zu)", got.len, layer->len);
  free(got.buf);
  got = (struct mem){0};
  r = OP(t, "get_blob", OPS(t)->get_blob(sess, digest, 1000, &w, e));
  chk_ok(r == 0 && got.len == layer->len - 1000 && !memcmp(got.buf, layer->buf + 1000, got.len),
         "get_blob from offset 1000: the rest (%zu bytes)", got.len);
  free(got.buf);
}

static void test_manifest(struct target *t, void *sess, const char *body, const char *digest,
                          struct berth_err *e) {
  static const char *const accept[] = {MT_MANIFEST, "application/vnd.oci.image.manifest.v1+json",
                                       NULL};
  const char *refs[] = {"v1", digest};
  for (int i = 0; i < 2; i++) {
    struct berth_buf b = {sizeof b, NULL, 0, 0};
    struct berth_reg_desc d = {sizeof d, "", "", 0};
    int r = OP(t, "get_manifest", OPS(t)->get_manifest(sess, refs[i], accept, &b, &d, e));
    chk_ok(r == 0 && b.len == strlen(body) && !memcmp(b.data, body, b.len),
           "get_manifest by %s: the bytes pushed (%s)", i ? "digest" : "tag", r ? e->msg : "ok");
    chk_ok(!strcmp(d.digest, digest) && !strcmp(d.media_type, MT_MANIFEST),
           "with its digest and media type (%s, %s)", d.digest, d.media_type);
    chk_buf_free(&b);
  }
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct berth_reg_desc d = {sizeof d, "", "", 0};
  chk_ok(OP(t, "get_manifest", OPS(t)->get_manifest(sess, "no-such-tag", accept, &b, &d, e)) ==
             -BERTH_ENOTFOUND,
         "get_manifest of an unknown tag: ENOTFOUND");
  chk_buf_free(&b);
  if (OPS(t)->list_tags) {
    int r = OP(t, "list_tags", OPS(t)->list_tags(sess, &b, e));
    char *s = chk_buf_str(&b);
    chk_ok(r == 0 && strstr(s, "v1\n"), "list_tags has v1");
    free(s);
    chk_buf_free(&b);
  }
}

int suite_registry(struct target *t) {
  if (!t->registry) {
    chk_note("the registry suite needs a registry: --registry HOST:PORT (a docker-registry)");
    return -1;
  }
  char repo[64];
  snprintf(repo, sizeof repo, "berth-check/r%ld-%d", (long)time(NULL), (int)getpid());
  struct berth_reg_target tg = {sizeof tg, t->registry, repo, NULL, BERTH_REG_PUSH};
  void *sess = NULL;
  struct berth_err e = {0};
  int r = OP(t, "open", OPS(t)->open(t->drv, &tg, &sess, &e));
  chk_ok(r == 0, "open a push session to %s/%s (%s)", t->registry, repo, r ? e.msg : "ok");
  if (r) return 0;
  struct mem layer = {malloc(100000), 100000, 0};
  for (size_t i = 0; i < layer.len; i++)
    layer.buf[i] = (char)(i * 7 + i / 251);
  char ld[80], cd[80], md[80];
  chk_ok(push_blob(t, sess, MT_LAYER, &layer, ld, &e) == 0, "put_blob a layer (%s)", e.msg);
  test_blobs(t, sess, &layer, ld, &e);
  char config[512];
  snprintf(config, sizeof config,
           "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
           "\"diff_ids\":[\"%s\"]}}",
           ld);
  struct mem cm = {config, strlen(config), 0};
  chk_ok(push_blob(t, sess, MT_CONFIG, &cm, cd, &e) == 0, "put_blob a config (%s)", e.msg);
  char body[1024];
  snprintf(
      body, sizeof body,
      "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"size\":%zu,"
      "\"digest\":\"%s\"},\"layers\":[{\"mediaType\":\"%s\",\"size\":%zu,\"digest\":\"%s\"}]}",
      MT_MANIFEST, MT_CONFIG, cm.len, cd, MT_LAYER, layer.len, ld);
  sha256(body, strlen(body), md);
  struct berth_reg_desc out = {sizeof out, "", "", 0};
  r = OP(t, "put_manifest",
         OPS(t)->put_manifest(sess, "v1", MT_MANIFEST, body, strlen(body), &out, &e));
  chk_ok(r == 0 && !strcmp(out.digest, md), "put_manifest v1: its digest back (%s)",
         r ? e.msg : out.digest);
  test_manifest(t, sess, body, md, &e);
  OP_VOID(t, "close", OPS(t)->close(sess));
  free(layer.buf);
  return 0;
}
