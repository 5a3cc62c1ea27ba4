#include "../../core/image/reference.h"
#include "tap.h"

static void norm(const char *in, const char *canon, const char *fam) {
  struct image_ref r;
  struct berth_err e = {0};
  int rc = ref_parse(in, true, &r, &e);
  ok(rc == 0, "parse %s (%s)", in, rc ? e.msg : "ok");
  if (rc) return;
  char *c = ref_canonical(&r), *f = ref_familiar(&r);
  is_str(c, canon, "canonical of %s", in);
  is_str(f, fam, "familiar of %s", in);
  free(c);
  free(f);
  ref_free(&r);
}

static void bad(const char *in, const char *msg) {
  struct image_ref r;
  struct berth_err e = {0};
  ok(ref_parse(in, true, &r, &e) < 0 && e.code == BERTH_EINVAL, "refuse '%s'", in);
  contains(e.msg, msg, "message for '%s'", in);
}

int main(void) {
  const char *dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  norm("busybox", "docker.io/library/busybox:latest", "busybox:latest");
  norm("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36");
  norm("library/busybox", "docker.io/library/busybox:latest", "busybox:latest");
  norm("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest");
  norm("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest");
  norm("user/app:v1", "docker.io/user/app:v1", "user/app:v1");
  norm("localhost/app", "localhost/app:latest", "localhost/app:latest");
  norm("localhost:5000/foo/bar:1", "localhost:5000/foo/bar:1", "localhost:5000/foo/bar:1");
  norm("127.0.0.1:5000/a", "127.0.0.1:5000/a:latest", "127.0.0.1:5000/a:latest");
  norm("my.registry.io/x/y/z", "my.registry.io/x/y/z:latest", "my.registry.io/x/y/z:latest");
  norm("a__b-c/e.f", "docker.io/a__b-c/e.f:latest", "a__b-c/e.f:latest");
  char in[200], canon[200], fam[200];
  snprintf(in, sizeof in, "busybox@%s", dg);
  snprintf(canon, sizeof canon, "docker.io/library/busybox@%s", dg);
  snprintf(fam, sizeof fam, "busybox@%s", dg);
  norm(in, canon, fam);
  snprintf(in, sizeof in, "host:5000/r:tag@%s", dg);
  snprintf(canon, sizeof canon, "host:5000/r:tag@%s", dg);
  norm(in, canon, canon);
  bad("Busybox", "must be lowercase");
  bad("", "invalid reference format");
  bad("busybox:", "invalid reference format");
  bad("bus..box", "invalid reference format");
  bad("busybox@sha256:1234", "invalid reference format");
  bad("a/-b", "invalid reference format");
  bad("busybox:-tag", "invalid reference format");
  ok(ref_valid_tag("v1.2_3-x"), "valid tag");
  ok(!ref_valid_tag(".x"), "tag cannot start with a dot");
  char *f = ref_familiarize("docker.io/library/busybox:latest");
  is_str(f, "busybox:latest", "familiarize");
  free(f);
  return done();
}
