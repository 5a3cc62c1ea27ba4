/* Storage driver conformance: the same contract for every driver, run
 * through the real loader and host table.
 *   storage-conformance NAME|/path/to/driver.so [PLUGIN_DIR]  */
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "../../core/plugin.h"
#include "../unit/tap.h"

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

static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  struct mem *m = ctx;
  size_t n = m->len - m->off < len ? m->len - m->off : len;
  memcpy(buf, m->buf + m->off, n);
  m->off += n;
  return (ssize_t)n;
}

/* entries: "path=content" files, "path/" dirs */
static struct mem tar_of(const char *const *entries) {
  struct mem m = {0};
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &m, NULL, mem_write, NULL);
  for (; *entries; entries++) {
    struct archive_entry *e = archive_entry_new();
    const char *eq = strchr(*entries, '=');
    char *path = eq ? strndup(*entries, (size_t)(eq - *entries)) : xstrdup(*entries);
    archive_entry_set_pathname(e, path);
    if (str_has_suffix(path, "/")) {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, eq ? (la_int64_t)strlen(eq + 1) : 0);
    }
    archive_write_header(a, e);
    if (eq) archive_write_data(a, eq + 1, strlen(eq + 1));
    archive_entry_free(e);
    free(path);
  }
  archive_write_close(a);
  archive_write_free(a);
  return m;
}

static struct archive_entry *entry(const char *path, mode_t type, mode_t perm, int64_t size) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, perm);
  archive_entry_set_size(e, size);
  return e;
}

static void put(struct archive *a, struct archive_entry *e, const void *data, size_t len) {
  archive_write_header(a, e);
  if (len) archive_write_data(a, data, len);
  archive_entry_free(e);
}

#define BIG (20u << 20) /* a large file: 20 MiB */
#define HOLE (1u << 20) /* a sparse file: 1 MiB of hole, then "end" */

/* every kind of entry an image layer has, with owners, modes and xattrs */
static struct mem tar_kinds(void) {
  struct mem m = {0};
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &m, NULL, mem_write, NULL);
  put(a, entry("bin/", AE_IFDIR, 0755, 0), NULL, 0);
  put(a, entry("bin/busybox", AE_IFREG, 0755, 2), "BB", 2);
  struct archive_entry *e = entry("bin/sh", AE_IFLNK, 0777, 0);
  archive_entry_set_symlink(e, "busybox");
  put(a, e, NULL, 0);
  e = entry("abs", AE_IFLNK, 0777, 0);
  archive_entry_set_symlink(e, "/etc/passwd");
  put(a, e, NULL, 0);
  e = entry("bin/ln", AE_IFREG, 0755, 0);
  archive_entry_set_hardlink(e, "bin/busybox");
  put(a, e, NULL, 0);
  e = entry("secret", AE_IFREG, 0600, 1);
  archive_entry_set_uid(e, 1000);
  archive_entry_set_gid(e, 2000);
  put(a, e, "s", 1);
  put(a, entry("suid", AE_IFREG, 04755, 1), "u", 1);
  put(a, entry("dir750/", AE_IFDIR, 0750, 0), NULL, 0);
  put(a, entry("dev/", AE_IFDIR, 0755, 0), NULL, 0);
  e = entry("dev/null", AE_IFCHR, 0666, 0);
  archive_entry_set_rdevmajor(e, 1);
  archive_entry_set_rdevminor(e, 3);
  put(a, e, NULL, 0);
  put(a, entry("fifo", AE_IFIFO, 0644, 0), NULL, 0);
  e = entry("x", AE_IFREG, 0644, 1);
  archive_entry_xattr_add_entry(e, "user.berth", "yes", 3);
  put(a, e, "x", 1);
  /* libarchive takes a sparse file's whole content and leaves the hole
   * out of the tar */
  e = entry("sparse", AE_IFREG, 0644, HOLE + 3);
  archive_entry_sparse_add_entry(e, HOLE, 3);
  char *sparse = xcalloc(1, HOLE + 3);
  memcpy(sparse + HOLE, "end", 3);
  put(a, e, sparse, HOLE + 3);
  free(sparse);
  char *big = xmalloc(BIG);
  for (size_t i = 0; i < BIG; i++)
    big[i] = (char)('a' + i % 26);
  put(a, entry("big", AE_IFREG, 0644, BIG), big, BIG);
  free(big);
  archive_write_close(a);
  archive_write_free(a);
  return m;
}

static struct loaded_plugin *drv;
#define OPS (drv->ops.storage)

static int apply(const char *id, const char *parent, const char *const *entries,
                 struct berth_err *e) {
  struct mem m = tar_of(entries);
  struct berth_reader r = BERTH_READER(&m, mem_read);
  int rc;
  uint64_t size = 0;
  if (OPS.apply_diff) {
    rc = OPS.apply_diff(drv->drv, id, parent, &r, &size, e);
  } else {
    char path[BERTH_STORAGE_PATH_MAX];
    rc = OPS.mount(drv->drv, id, "", path, sizeof path, e);
    if (rc == 0) rc = drv->host.untar(&drv->host, &r, path, BERTH_UNTAR_WHITEOUT_DELETE, e);
    OPS.unmount(drv->drv, id, e);
  }
  free(m.buf);
  return rc;
}

static int apply_mem(const char *id, struct mem *m, struct berth_err *e) {
  struct berth_reader r = BERTH_READER(m, mem_read);
  uint64_t size = 0;
  if (OPS.apply_diff) return OPS.apply_diff(drv->drv, id, NULL, &r, &size, e);
  char path[BERTH_STORAGE_PATH_MAX];
  int rc = OPS.mount(drv->drv, id, "", path, sizeof path, e);
  if (rc == 0) rc = drv->host.untar(&drv->host, &r, path, BERTH_UNTAR_WHITEOUT_DELETE, e);
  OPS.unmount(drv->drv, id, e);
  return rc;
}

static char *content(const char *root, const char *rel) {
  char *p = xasprintf("%s/%s", root, rel);
  char *s = read_file(p, NULL);
  free(p);
  return s;
}

static bool exists_in(const char *root, const char *rel) {
  char *p = xasprintf("%s/%s", root, rel);
  bool r = path_exists(p);
  free(p);
  return r;
}

static int count_mounts(const char *under) {
  FILE *f = fopen("/proc/self/mounts", "r");
  char line[8192];
  int n = 0;
  while (f && fgets(line, sizeof line, f))
    if (strstr(line, under)) n++;
  if (f) fclose(f);
  return n;
}

static struct stat st_of(const char *root, const char *rel) {
  struct stat st = {0};
  char *p = xasprintf("%s/%s", root, rel);
  if (lstat(p, &st) < 0) memset(&st, 0, sizeof st);
  free(p);
  return st;
}

static void check_kinds(const char *path) {
  char link[256] = "";
  char *p = xasprintf("%s/bin/sh", path);
  ssize_t n = readlink(p, link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  free(p);
  is_str(link, "busybox", "a relative symlink is kept");
  p = xasprintf("%s/abs", path);
  n = readlink(p, link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  free(p);
  is_str(link, "/etc/passwd", "an absolute symlink is kept as it is, not followed");
  struct stat bb = st_of(path, "bin/busybox"), ln = st_of(path, "bin/ln");
  ok(bb.st_ino && bb.st_ino == ln.st_ino && bb.st_nlink == 2, "a hard link is one file, two names");
  ok((bb.st_mode & 07777) == 0755, "mode 0755 kept");
  struct stat sec = st_of(path, "secret");
  ok((sec.st_mode & 07777) == 0600 && sec.st_uid == 1000 && sec.st_gid == 2000,
     "owner 1000:2000 and mode 0600 kept");
  ok((st_of(path, "suid").st_mode & 07777) == 04755, "the setuid bit kept");
  ok((st_of(path, "dir750").st_mode & 07777) == 0750 && S_ISDIR(st_of(path, "dir750").st_mode),
     "a 0750 directory");
  struct stat dn = st_of(path, "dev/null");
  ok(S_ISCHR(dn.st_mode) && major(dn.st_rdev) == 1 && minor(dn.st_rdev) == 3,
     "a character device under dev/");
  ok(S_ISFIFO(st_of(path, "fifo").st_mode), "a fifo");
  char xv[16] = "";
  p = xasprintf("%s/x", path);
  n = lgetxattr(p, "user.berth", xv, sizeof xv - 1);
  xv[n > 0 ? n : 0] = 0;
  free(p);
  is_str(xv, "yes", "a user xattr kept");
  size_t len = 0;
  p = xasprintf("%s/sparse", path);
  char *sp = read_file(p, &len);
  free(p);
  bool zeros = sp && len == HOLE + 3;
  for (size_t i = 0; zeros && i < HOLE; i++)
    zeros = sp[i] == 0;
  ok(zeros && !memcmp(sp + HOLE, "end", 3),
     "a sparse file: the hole reads as zeros, then the data");
  free(sp);
  p = xasprintf("%s/big", path);
  char *big = read_file(p, &len);
  free(p);
  ok(big && len == BIG && big[BIG - 1] == (char)('a' + (BIG - 1) % 26) &&
         big[4096] == 'a' + 4096 % 26,
     "a 20 MiB file, whole");
  free(big);
}

/* a layer with every kind of entry, through the driver, read back */
static void test_kinds(struct berth_err *e) {
  const char *id = "5555555555555555555555555555555555555555555555555555555555555555";
  struct berth_storage_create_req rq = {sizeof rq, id, NULL, NULL, 0};
  ok(OPS.create(drv->drv, &rq, e) == 0, "create a layer for every kind of entry");
  struct mem m = tar_kinds();
  ok(apply_mem(id, &m, e) == 0, "apply it (%s)", e->msg);
  free(m.buf);
  char path[BERTH_STORAGE_PATH_MAX];
  ok(OPS.mount(drv->drv, id, "", path, sizeof path, e) == 0, "mount it");
  check_kinds(path);
  OPS.unmount(drv->drv, id, e);
  ok(OPS.remove(drv->drv, id, e) == 0, "remove it");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DRIVER [PLUGIN_DIR]\n", argv[0]);
    return 2;
  }
  char dir[] = "/tmp/berth-conformance-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  struct berth_config cfg;
  struct berth_err e = {0};
  config_load(&cfg, NULL, &e);
  free(cfg.data_root);
  cfg.data_root = xasprintf("%s/data", dir);
  free(cfg.exec_root);
  cfg.exec_root = xasprintf("%s/run", dir);
  struct plugin_set set = {0};
  int rc =
      plugin_load(&set, argc > 2 ? argv[2] : "/nowhere", BERTH_KIND_STORAGE, argv[1], &drv, &e);
  ok(rc == 0, "load %s (%s)", argv[1], rc ? e.msg : "ok");
  if (rc) return done();
  rc = plugin_init(drv, &cfg, &e);
  ok(rc == 0, "init %s (%s)", drv->name, rc ? e.msg : "ok");
  if (rc) return done();
  printf("# driver %s %s from %s\n", drv->name, drv->desc.version, drv->origin);

  const char *base = "1111111111111111111111111111111111111111111111111111111111111111";
  const char *child = "2222222222222222222222222222222222222222222222222222222222222222";
  const char *rw = "3333333333333333333333333333333333333333333333333333333333333333";
  struct berth_storage_create_req rb = {sizeof rb, base, NULL, NULL, 0};
  ok(OPS.create(drv->drv, &rb, &e) == 0, "create base layer (%s)", e.msg);
  ok(OPS.exists(drv->drv, base, &e) == 1, "base exists");
  ok(OPS.create(drv->drv, &rb, &e) == -BERTH_ECONFLICT, "creating it again is a conflict");
  const char *const l1[] = {"etc/", "etc/a=A", "etc/b=B", "d/", "d/x=X", NULL};
  ok(apply(base, NULL, l1, &e) == 0, "apply base diff (%s)", e.msg);

  struct berth_storage_create_req rc_ = {sizeof rc_, child, base, NULL, 0};
  ok(OPS.create(drv->drv, &rc_, &e) == 0, "create child layer (%s)", e.msg);
  const char *const l2[] = {"etc/.wh.a=", "etc/b=B2", "d/.wh..wh..opq=", "d/y=Y", NULL};
  ok(apply(child, base, l2, &e) == 0, "apply child diff with whiteouts (%s)", e.msg);

  char path[BERTH_STORAGE_PATH_MAX];
  ok(OPS.mount(drv->drv, child, "", path, sizeof path, &e) == 0, "mount child (%s)", e.msg);
  ok(!exists_in(path, "etc/a"), "whiteout hides etc/a");
  char *s = content(path, "etc/b");
  is_str(s, "B2", "child's etc/b wins");
  free(s);
  ok(!exists_in(path, "d/x") && exists_in(path, "d/y"), "opaque dir hides lower d/x, shows d/y");
  ok(OPS.unmount(drv->drv, child, &e) == 0, "unmount child");
  ok(OPS.unmount(drv->drv, child, &e) == 0, "unmount again is harmless");

  ok(OPS.mount(drv->drv, base, "", path, sizeof path, &e) == 0, "mount base");
  s = content(path, "etc/a");
  is_str(s, "A", "base unchanged by the child");
  free(s);
  OPS.unmount(drv->drv, base, &e);

  struct berth_storage_create_req rr = {sizeof rr, rw, child, NULL, 0};
  rc = OPS.create_rw ? OPS.create_rw(drv->drv, &rr, &e) : OPS.create(drv->drv, &rr, &e);
  ok(rc == 0, "create a read-write layer on the child (%s)", e.msg);
  ok(OPS.mount(drv->drv, rw, "", path, sizeof path, &e) == 0, "mount rw layer");
  char *f = xasprintf("%s/new-file", path);
  ok(write_file_atomic(f, "w", 1, 0644) == 0, "write into the rw layer");
  free(f);
  s = content(path, "etc/b");
  is_str(s, "B2", "rw layer sees the child");
  free(s);
  OPS.unmount(drv->drv, rw, &e);
  OPS.mount(drv->drv, child, "", path, sizeof path, &e);
  ok(!exists_in(path, "new-file"), "writes stay in the rw layer");
  OPS.unmount(drv->drv, child, &e);

  test_kinds(&e);

  struct berth_buf b = {sizeof b, NULL, 0, 0};
  ok(OPS.status(drv->drv, &b, &e) == 0 && b.len > 0 && strchr(b.data, '\t'), "status rows");
  host_buf_free(&b);
  ok(OPS.mount(drv->drv, "nosuchlayer", "", path, sizeof path, &e) == -BERTH_ENOTFOUND,
     "mount of a missing layer: ENOTFOUND");
  struct berth_storage_create_req orphan = {sizeof orphan, "4444", "nosuchparent", NULL, 0};
  ok(OPS.create(drv->drv, &orphan, &e) < 0 && !OPS.exists(drv->drv, "4444", &e),
     "missing parent refused, nothing left");
  struct berth_storage_create_req bad = {sizeof bad, "../x", NULL, NULL, 0};
  ok(OPS.create(drv->drv, &bad, &e) == -BERTH_EINVAL, "path-like id refused");

  ok(OPS.remove(drv->drv, rw, &e) == 0 && OPS.remove(drv->drv, child, &e) == 0 &&
         OPS.remove(drv->drv, base, &e) == 0,
     "remove all layers");
  ok(!OPS.exists(drv->drv, base, &e) && !OPS.exists(drv->drv, child, &e), "gone");
  ok(OPS.remove(drv->drv, base, &e) == 0, "remove again is harmless");
  ok(count_mounts(dir) == 0, "no mounts left under the driver root");
  plugin_set_free(&set);
  config_free(&cfg);
  rm_rf(dir);
  return done();
}
