/* Layer extraction: ordinary entries, whiteouts in both modes, and hostile
 * tars that must be refused without touching anything outside the layer. */
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "../../core/image/layer.h"
#include "tap.h"

struct ent {
  const char *path;
  char type;        /* f file, d dir, l symlink, h hardlink, c chardev, b blockdev, p fifo */
  const char *data; /* content, or link target */
};

struct mem {
  char *buf;
  size_t len, off;
};

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *b, size_t n) {
  struct mem *m = ctx;
  m->buf = xrealloc(m->buf, m->len + n);
  memcpy(m->buf + m->len, b, n);
  m->len += n;
  return (la_ssize_t)n;
}

static struct mem make_tar(const struct ent *e, size_t n) {
  struct mem m = {0};
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &m, NULL, mem_write, NULL);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *x = archive_entry_new();
    archive_entry_set_pathname(x, e[i].path);
    archive_entry_set_perm(x, 0644);
    switch (e[i].type) {
    case 'f':
      archive_entry_set_filetype(x, AE_IFREG);
      archive_entry_set_size(x, (la_int64_t)strlen(e[i].data));
      break;
    case 'd':
      archive_entry_set_filetype(x, AE_IFDIR);
      archive_entry_set_perm(x, 0755);
      break;
    case 'l':
      archive_entry_set_filetype(x, AE_IFLNK);
      archive_entry_set_symlink(x, e[i].data);
      break;
    case 'h':
      archive_entry_set_filetype(x, AE_IFREG);
      archive_entry_set_hardlink(x, e[i].data);
      break;
    case 'c':
      archive_entry_set_filetype(x, AE_IFCHR);
      archive_entry_set_rdev(x, makedev(1, 3));
      break;
    case 'b':
      archive_entry_set_filetype(x, AE_IFBLK);
      archive_entry_set_rdev(x, makedev(8, 0));
      break;
    case 'p': archive_entry_set_filetype(x, AE_IFIFO); break;
    }
    archive_write_header(a, x);
    if (e[i].type == 'f') archive_write_data(a, e[i].data, strlen(e[i].data));
    archive_entry_free(x);
  }
  archive_write_close(a);
  archive_write_free(a);
  return m;
}

static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  struct mem *m = ctx;
  size_t n = m->len - m->off < len ? m->len - m->off : len;
  memcpy(buf, m->buf + m->off, n);
  m->off += n;
  return (ssize_t)n;
}

static int apply(const struct ent *e, size_t n, const char *dir, uint32_t flags,
                 struct berth_err *err) {
  struct mem m = make_tar(e, n);
  struct berth_reader r = BERTH_READER(&m, mem_read);
  memset(err, 0, sizeof *err);
  int rc = layer_untar(&r, dir, flags, NULL, err);
  free(m.buf);
  return rc;
}

static char base[] = "/tmp/berth-test-untar-XXXXXX";

static char *P(const char *rel) {
  static char buf[8][4096];
  static int i;
  i = (i + 1) % 8;
  snprintf(buf[i], sizeof buf[i], "%s/%s", base, rel);
  return buf[i];
}

static void hostile(const struct ent *e, size_t n, const char *what, const char *want) {
  rm_rf(P("layer"));
  mkdir(P("layer"), 0755);
  struct berth_err err;
  int rc = apply(e, n, P("layer"), BERTH_UNTAR_WHITEOUT_DELETE, &err);
  ok(rc < 0 && err.code == BERTH_EINVAL, "%s is refused", what);
  contains(err.msg, want, "%s: message", what);
  printf("#   %s\n", err.msg);
}

int main(void) {
  if (!mkdtemp(base)) return 1;
  struct berth_err err;
  mkdir(P("layer"), 0755);
  const struct ent normal[] = {
      {"./a/", 'd', NULL},        {"./a/f", 'f', "hi\n"},  {"a/l", 'l', "f"},
      {"a/h", 'h', "a/f"},        {"dev/null", 'c', NULL}, {"a/fifo", 'p', NULL},
      {"deep/er/file", 'f', "x"},
  };
  ok(apply(normal, ARRAY_SIZE(normal), P("layer"), 0, &err) == 0, "ordinary layer applies (%s)",
     err.msg);
  char *s = read_file(P("layer/a/f"), NULL);
  is_str(s, "hi\n", "file content");
  free(s);
  struct stat st1, st2;
  ok(lstat(P("layer/a/h"), &st1) == 0 && lstat(P("layer/a/f"), &st2) == 0 &&
         st1.st_ino == st2.st_ino,
     "hard link inside the layer");
  char target[64] = "";
  ok(readlink(P("layer/a/l"), target, sizeof target) == 1 && target[0] == 'f', "symlink kept");
  ok(lstat(P("layer/dev/null"), &st1) == 0 && S_ISCHR(st1.st_mode),
     "device node under /dev allowed");
  ok(path_exists(P("layer/deep/er/file")), "missing parents created");

  /* whiteouts, delete mode (vfs) */
  const struct ent wh[] = {
      {"a/.wh.f", 'f', ""}, {"deep/.wh..wh..opq", 'f', ""}, {"deep/new", 'f', "n"}};
  ok(apply(wh, ARRAY_SIZE(wh), P("layer"), BERTH_UNTAR_WHITEOUT_DELETE, &err) == 0,
     "whiteouts apply");
  ok(!path_exists(P("layer/a/f")) && path_exists(P("layer/a/h")), ".wh.f deletes f only");
  ok(!path_exists(P("layer/deep/er")) && path_exists(P("layer/deep/new")),
     "opaque dir drops old contents, keeps new");
  ok(!path_exists(P("layer/a/.wh.f")), "whiteout markers are not stored");

  /* whiteouts, overlay mode */
  rm_rf(P("ovl"));
  mkdir(P("ovl"), 0755);
  const struct ent owh[] = {
      {"x/", 'd', NULL}, {"x/.wh..wh..opq", 'f', ""}, {"y/.wh.gone", 'f', ""}};
  ok(apply(owh, ARRAY_SIZE(owh), P("ovl"), BERTH_UNTAR_WHITEOUT_OVERLAY, &err) == 0,
     "overlay whiteouts apply (%s)", err.msg);
  ok(lstat(P("ovl/y/gone"), &st1) == 0 && S_ISCHR(st1.st_mode) && st1.st_rdev == makedev(0, 0),
     ".wh.gone becomes a 0/0 character device");
  char v[4] = "";
  ok(getxattr(P("ovl/x"), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y',
     "opaque dir marked");

  /* hostile layers */
  struct stat shadow_before;
  stat("/etc/shadow", &shadow_before);
  const struct ent esc[] = {{"../escape", 'f', "x"}};
  hostile(esc, 1, "../escape", "absolute path or '..' component");
  ok(!path_exists(P("escape")), "nothing written beside the layer");
  const struct ent esc2[] = {{"a/../../escape2", 'f', "x"}};
  hostile(esc2, 1, "a/../../escape2", "absolute path or '..'");
  const struct ent abs[] = {{"/tmp/berth-abs-pwned", 'f', "x"}};
  hostile(abs, 1, "absolute path", "absolute path");
  ok(!path_exists("/tmp/berth-abs-pwned"), "absolute path not written");
  char outside[4200];
  snprintf(outside, sizeof outside, "%s/outside", base);
  mkdir(outside, 0755);
  const struct ent sym[] = {{"evil", 'l', outside}, {"evil/pwned", 'f', "x"}};
  hostile(sym, 2, "write through a symlink pointing out", "passes through a symlink");
  ok(!path_exists(P("outside/pwned")), "nothing written through the symlink");
  const struct ent sym2[] = {{"up", 'l', "../../../../.."}, {"up/tmp/berth-sym-pwned", 'f', "x"}};
  hostile(sym2, 2, "relative symlink escape", "passes through a symlink");
  ok(!path_exists("/tmp/berth-sym-pwned"), "nothing written through the relative symlink");
  const struct ent hl[] = {{"shadow", 'h', "/etc/shadow"}};
  hostile(hl, 1, "hard link to /etc/shadow", "points outside the layer");
  const struct ent hl2[] = {{"shadow", 'h', "../../../../etc/shadow"}};
  hostile(hl2, 1, "hard link to ../../etc/shadow", "points outside the layer");
  const struct ent hl3[] = {{"evil", 'l', "/etc"}, {"shadow", 'h', "evil/shadow"}};
  hostile(hl3, 2, "hard link through a symlink", "passes through a symlink");
  struct stat shadow_after;
  stat("/etc/shadow", &shadow_after);
  ok(shadow_before.st_nlink == shadow_after.st_nlink, "/etc/shadow gained no link");
  const struct ent dev[] = {{"sda", 'b', NULL}};
  hostile(dev, 1, "block device outside /dev", "device node outside /dev refused");
  ok(!path_exists(P("layer/sda")), "no device node created");
  const struct ent whesc[] = {{"a/.wh...", 'f', ""}};
  hostile(whesc, 1, "whiteout of '..'", "bad whiteout");

  struct mem junk = {xstrdup("this is not a tar archive at all, not even close........"), 56, 0};
  struct berth_reader jr = BERTH_READER(&junk, mem_read);
  rm_rf(P("layer"));
  mkdir(P("layer"), 0755);
  ok(layer_untar(&jr, P("layer"), 0, NULL, &err) < 0 && err.code == BERTH_EINVAL,
     "garbage is refused");
  printf("#   %s\n", err.msg);
  free(junk.buf);
  rm_rf(base);
  return done();
}
