/* The storage contract (include/berth/storage.h), for any storage driver:
 * layers, whiteouts, read-write layers, every kind of entry an image layer
 * has (symlinks, hard links, owners and modes, setuid, device nodes, fifos,
 * xattrs, sparse and large files), idempotent removal and unmounting, bad
 * ids, and concurrent layers for a thread-safe driver. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* unshare, setresuid */
#endif
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"

#define OPS(t) ((const struct berth_storage_ops *)(t)->ops)
#define BIG (20u << 20) /* a large file: 20 MiB */
#define HOLE (1u << 20) /* a sparse file: 1 MiB of hole, then "end" */

struct mem {
  char *buf;
  size_t len, off;
};

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *b, size_t n) {
  (void)a;
  struct mem *m = ctx;
  char *nb = realloc(m->buf, m->len + n);
  if (!nb) return -1;
  m->buf = nb;
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

static struct archive *tar_begin(struct mem *m) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, m, NULL, mem_write, NULL);
  return a;
}

static void tar_end(struct archive *a) {
  archive_write_close(a);
  archive_write_free(a);
}

/* entries: "path=content" files, "path/" directories */
static struct mem tar_of(const char *const *entries) {
  struct mem m = {0};
  struct archive *a = tar_begin(&m);
  for (; *entries; entries++) {
    const char *eq = strchr(*entries, '=');
    char path[512];
    snprintf(path, sizeof path, "%.*s", eq ? (int)(eq - *entries) : (int)strlen(*entries),
             *entries);
    bool dir = path[strlen(path) - 1] == '/';
    size_t len = eq ? strlen(eq + 1) : 0;
    put(a, entry(path, dir ? AE_IFDIR : AE_IFREG, dir ? 0755 : 0644, (int64_t)len),
        eq ? eq + 1 : "", len);
  }
  tar_end(a);
  return m;
}

static void links_and_owners(struct archive *a) {
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
}

/* every kind of entry an image layer has */
static struct mem tar_kinds(void) {
  struct mem m = {0};
  struct archive *a = tar_begin(&m);
  links_and_owners(a);
  put(a, entry("dev/", AE_IFDIR, 0755, 0), NULL, 0);
  struct archive_entry *e = entry("dev/null", AE_IFCHR, 0666, 0);
  archive_entry_set_rdevmajor(e, 1);
  archive_entry_set_rdevminor(e, 3);
  put(a, e, NULL, 0);
  put(a, entry("fifo", AE_IFIFO, 0644, 0), NULL, 0);
  e = entry("x", AE_IFREG, 0644, 1);
  archive_entry_xattr_add_entry(e, "user.berth", "yes", 3);
  put(a, e, "x", 1);
  /* libarchive takes the whole content and leaves the hole out of the tar */
  e = entry("sparse", AE_IFREG, 0644, HOLE + 3);
  archive_entry_sparse_add_entry(e, HOLE, 3);
  char *sparse = calloc(1, HOLE + 3), *big = malloc(BIG);
  if (!sparse || !big) abort();
  memcpy(sparse + HOLE, "end", 3);
  put(a, e, sparse, HOLE + 3);
  for (size_t i = 0; i < BIG; i++)
    big[i] = (char)('a' + i % 26);
  put(a, entry("big", AE_IFREG, 0644, BIG), big, BIG);
  free(sparse);
  free(big);
  tar_end(a);
  return m;
}

/* fill a new layer: the driver's apply_diff, or the host's untar into its
 * mount (what berthd does for a driver without apply_diff) */
static int apply_mem(struct target *t, const char *id, const char *parent, struct mem *m,
                     struct berth_err *e) {
  e->msg[0] = 0;
  struct berth_reader r = BERTH_READER(m, mem_read);
  uint64_t size = 0;
  if (OPS(t)->apply_diff)
    return OP(t, "apply_diff", OPS(t)->apply_diff(t->drv, id, parent, &r, &size, e));
  char path[BERTH_STORAGE_PATH_MAX];
  int rc = OP(t, "mount", OPS(t)->mount(t->drv, id, "", path, sizeof path, e));
  if (rc == 0) rc = t->host->untar(t->host, &r, path, BERTH_UNTAR_WHITEOUT_DELETE, e);
  struct berth_err e2 = {0};
  OP(t, "unmount", OPS(t)->unmount(t->drv, id, &e2));
  return rc;
}

static int apply(struct target *t, const char *id, const char *parent, const char *const *entries,
                 struct berth_err *e) {
  struct mem m = tar_of(entries);
  int rc = apply_mem(t, id, parent, &m, e);
  free(m.buf);
  return rc;
}

static int create(struct target *t, const char *id, const char *parent, bool rw,
                  struct berth_err *e) {
  e->msg[0] = 0;
  struct berth_storage_create_req rq = {sizeof rq, id, parent, NULL, 0};
  if (rw && OPS(t)->create_rw) return OP(t, "create_rw", OPS(t)->create_rw(t->drv, &rq, e));
  return OP(t, "create", OPS(t)->create(t->drv, &rq, e));
}

static int mount(struct target *t, const char *id, char *path, struct berth_err *e) {
  e->msg[0] = 0;
  path[0] = 0;
  return OP(t, "mount", OPS(t)->mount(t->drv, id, "", path, BERTH_STORAGE_PATH_MAX, e));
}

static int unmount(struct target *t, const char *id, struct berth_err *e) {
  e->msg[0] = 0;
  return OP(t, "unmount", OPS(t)->unmount(t->drv, id, e));
}

static int remove_(struct target *t, const char *id, struct berth_err *e) {
  e->msg[0] = 0;
  return OP(t, "remove", OPS(t)->remove(t->drv, id, e));
}

static int exists(struct target *t, const char *id, struct berth_err *e) {
  e->msg[0] = 0;
  return OP(t, "exists", OPS(t)->exists(t->drv, id, e));
}

static char *content(const char *root, const char *rel) {
  char p[BERTH_STORAGE_PATH_MAX + 256];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  FILE *f = fopen(p, "r");
  if (!f) return NULL;
  char *s = calloc(1, 4096);
  if (s && fread(s, 1, 4095, f) == 0 && ferror(f)) s[0] = 0;
  fclose(f);
  return s;
}

static struct stat st_of(const char *root, const char *rel) {
  struct stat st = {0};
  char p[BERTH_STORAGE_PATH_MAX + 256];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  if (lstat(p, &st) < 0) memset(&st, 0, sizeof st);
  return st;
}

static bool is_str(char *got, const char *want) {
  bool r = got && !strcmp(got, want);
  free(got);
  return r;
}

static void read_link(const char *root, const char *rel, char *out, size_t len) {
  char p[BERTH_STORAGE_PATH_MAX + 256];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  ssize_t n = readlink(p, out, len - 1);
  out[n > 0 ? n : 0] = 0;
}

/* the whole file, or NULL */
static char *slurp(const char *root, const char *rel, size_t *len) {
  char p[BERTH_STORAGE_PATH_MAX + 256];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  ssize_t n;
  while (buf && got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
    got += (size_t)n;
  close(fd);
  *len = got;
  return buf;
}

static void check_kinds(const char *path) {
  char link[256];
  read_link(path, "bin/sh", link, sizeof link);
  chk_ok(!strcmp(link, "busybox"), "a relative symlink is kept");
  read_link(path, "abs", link, sizeof link);
  chk_ok(!strcmp(link, "/etc/passwd"), "an absolute symlink is kept as it is, not followed");
  struct stat bb = st_of(path, "bin/busybox"), ln = st_of(path, "bin/ln");
  chk_ok(bb.st_ino && bb.st_ino == ln.st_ino && bb.st_nlink == 2,
         "a hard link is one file, two names");
  chk_ok((bb.st_mode & 07777) == 0755, "mode 0755 kept");
  struct stat sec = st_of(path, "secret");
  chk_ok((sec.st_mode & 07777) == 0600 && sec.st_uid == 1000 && sec.st_gid == 2000,
         "owner 1000:2000 and mode 0600 kept");
  chk_ok((st_of(path, "suid").st_mode & 07777) == 04755, "the setuid bit kept");
  struct stat d750 = st_of(path, "dir750");
  chk_ok((d750.st_mode & 07777) == 0750 && S_ISDIR(d750.st_mode), "a 0750 directory");
  struct stat dn = st_of(path, "dev/null");
  chk_ok(S_ISCHR(dn.st_mode) && major(dn.st_rdev) == 1 && minor(dn.st_rdev) == 3,
         "a character device under dev/");
  chk_ok(S_ISFIFO(st_of(path, "fifo").st_mode), "a fifo");
  char xv[16] = "", p[BERTH_STORAGE_PATH_MAX + 16];
  snprintf(p, sizeof p, "%s/x", path);
  ssize_t n = lgetxattr(p, "user.berth", xv, sizeof xv - 1);
  xv[n > 0 ? n : 0] = 0;
  chk_ok(!strcmp(xv, "yes"), "a user xattr kept");
  size_t len = 0;
  char *sp = slurp(path, "sparse", &len);
  bool zeros = sp && len == HOLE + 3;
  for (size_t i = 0; zeros && i < HOLE; i++)
    zeros = sp[i] == 0;
  chk_ok(zeros && !memcmp(sp + HOLE, "end", 3),
         "a sparse file: the hole reads as zeros, then the data");
  free(sp);
  char *big = slurp(path, "big", &len);
  chk_ok(big && len == BIG && big[BIG - 1] == (char)('a' + (BIG - 1) % 26) &&
             big[4096] == 'a' + 4096 % 26,
         "a 20 MiB file, whole");
  free(big);
}

static void test_kinds(struct target *t, struct berth_err *e) {
  const char *id = "5555555555555555555555555555555555555555555555555555555555555555";
  chk_ok(create(t, id, NULL, false, e) == 0, "create a layer for every kind of entry (%s)", e->msg);
  struct mem m = tar_kinds();
  chk_ok(apply_mem(t, id, NULL, &m, e) == 0, "apply it (%s)", e->msg);
  free(m.buf);
  char path[BERTH_STORAGE_PATH_MAX];
  chk_ok(mount(t, id, path, e) == 0, "mount it (%s)", e->msg);
  if (path[0]) check_kinds(path);
  unmount(t, id, e);
  chk_ok(remove_(t, id, e) == 0, "remove it");
}

static const char *base = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *child = "2222222222222222222222222222222222222222222222222222222222222222";
static const char *rw = "3333333333333333333333333333333333333333333333333333333333333333";

static void test_layers(struct target *t, struct berth_err *e) {
  chk_ok(create(t, base, NULL, false, e) == 0, "create a base layer (%s)", e->msg);
  chk_ok(exists(t, base, e) == 1, "it exists");
  chk_ok(create(t, base, NULL, false, e) == -BERTH_ECONFLICT, "creating it again is a conflict");
  const char *const l1[] = {"etc/", "etc/a=A", "etc/b=B", "d/", "d/x=X", NULL};
  chk_ok(apply(t, base, NULL, l1, e) == 0, "apply the base diff (%s)", e->msg);
  chk_ok(create(t, child, base, false, e) == 0, "create a child layer (%s)", e->msg);
  const char *const l2[] = {"etc/.wh.a=", "etc/b=B2", "d/.wh..wh..opq=", "d/y=Y", NULL};
  chk_ok(apply(t, child, base, l2, e) == 0, "apply the child diff with whiteouts (%s)", e->msg);
  char path[BERTH_STORAGE_PATH_MAX];
  chk_ok(mount(t, child, path, e) == 0, "mount the child (%s)", e->msg);
  chk_ok(path[0] && !st_of(path, "etc/a").st_mode, "a whiteout hides etc/a");
  chk_ok(path[0] && is_str(content(path, "etc/b"), "B2"), "the child's etc/b wins");
  chk_ok(path[0] && !st_of(path, "d/x").st_mode && st_of(path, "d/y").st_mode,
         "an opaque directory hides the lower d/x, shows d/y");
  chk_ok(unmount(t, child, e) == 0, "unmount the child");
  chk_ok(unmount(t, child, e) == 0, "unmount again is harmless");
  chk_ok(mount(t, base, path, e) == 0 && is_str(content(path, "etc/a"), "A"),
         "the base is unchanged by the child");
  unmount(t, base, e);
  chk_ok(create(t, rw, child, true, e) == 0, "create a read-write layer on the child (%s)", e->msg);
  chk_ok(mount(t, rw, path, e) == 0, "mount the read-write layer");
  char f[BERTH_STORAGE_PATH_MAX + 16];
  snprintf(f, sizeof f, "%s/new-file", path);
  int fd = path[0] ? open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
  chk_ok(fd >= 0 && write(fd, "w", 1) == 1, "write into it");
  if (fd >= 0) close(fd);
  chk_ok(path[0] && is_str(content(path, "etc/b"), "B2"), "it sees the child");
  unmount(t, rw, e);
  mount(t, child, path, e);
  chk_ok(path[0] && !st_of(path, "new-file").st_mode, "writes stay in the read-write layer");
  unmount(t, child, e);
}

/* ---- mount_idmapped (ABI 1.3, optional) ---- */

#define MAP_BASE 200000u

/* A user namespace mapping 0..65535 to MAP_BASE..: a child that unshares
 * one, its maps written from here (written out here rather than taken from
 * berth's own util: this tool builds from the installed headers alone). */
static int map_userns(void) {
  int p[2];
  if (pipe(p) < 0) return -1;
  pid_t c = fork();
  if (c == 0) {
    char b;
    close(p[1]);
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    _exit(read(p[0], &b, 1) < 0);
  }
  close(p[0]);
  usleep(20000); /* until it has unshared: its maps are then its namespace's */
  char path[64], line[64];
  snprintf(line, sizeof line, "0 %u 65536\n", MAP_BASE);
  int ok = 1, fd = -1;
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/proc/%d/%s", (int)c, i ? "gid_map" : "uid_map");
    int m = open(path, O_WRONLY | O_CLOEXEC);
    ok = ok && m >= 0 && write(m, line, strlen(line)) == (ssize_t)strlen(line);
    if (m >= 0) close(m);
  }
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)c);
  if (ok) fd = open(path, O_RDONLY | O_CLOEXEC);
  close(p[1]);
  waitpid(c, NULL, 0);
  return fd;
}

/* a file made at dir/name by the mapping's root (a child that becomes it) */
static bool make_as_mapped_root(const char *dir, const char *name) {
  pid_t c = fork();
  if (c == 0) {
    /* opened first: the directories above it are not the mapping's */
    int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d < 0 || setgroups(0, NULL) < 0 || setresgid(MAP_BASE, MAP_BASE, MAP_BASE) < 0 ||
        setresuid(MAP_BASE, MAP_BASE, MAP_BASE) < 0)
      _exit(2);
    int fd = openat(d, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    _exit(fd < 0 ? 1 : 0);
  }
  int st = 1;
  waitpid(c, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_idmapped(struct target *t, struct berth_err *e) {
  if (t->desc->abi_minor < 3 || !OPS(t)->mount_idmapped) {
    chk_note("mount_idmapped: not implemented (optional; --userns-remap needs it)");
    return;
  }
  int ns = map_userns();
  if (ns < 0) {
    chk_note("mount_idmapped: no user namespace here (%s): not tested", strerror(errno));
    return;
  }
  struct berth_storage_idmap map = {sizeof map, ns, MAP_BASE, MAP_BASE, 65536};
  char path[BERTH_STORAGE_PATH_MAX];
  e->msg[0] = path[0] = 0;
  int r =
      OP(t, "mount_idmapped", OPS(t)->mount_idmapped(t->drv, rw, "", &map, path, sizeof path, e));
  chk_ok(r == 0, "mount_idmapped the read-write layer (%s)", e->msg);
  struct stat b = st_of(path, "etc/b");
  chk_ok(r == 0 && b.st_mode && b.st_uid == MAP_BASE && b.st_gid == MAP_BASE,
         "a file stored as 0:0 shows as the mapping's root (%u:%u)", (unsigned)b.st_uid,
         (unsigned)b.st_gid);
  chk_ok(r == 0 && is_str(content(path, "etc/b"), "B2"), "it sees the layers below");
  chk_ok(r == 0 && make_as_mapped_root(path, "mapped-new"), "the mapping's root writes into it");
  unmount(t, rw, e);
  mount(t, rw, path, e);
  struct stat n = st_of(path, "mapped-new");
  chk_ok(n.st_mode && n.st_uid == 0 && n.st_gid == 0,
         "mounted plainly, what it wrote is stored as 0:0 (%u:%u)", (unsigned)n.st_uid,
         (unsigned)n.st_gid);
  unmount(t, rw, e);
  close(ns);
}

static void test_edges(struct target *t, struct berth_err *e) {
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  int r = OP(t, "status", OPS(t)->status(t->drv, &b, e));
  char *s = chk_buf_str(&b);
  chk_ok(r == 0 && b.len > 0 && strchr(s, '\t'), "status: \"key\\tvalue\" rows");
  free(s);
  chk_buf_free(&b);
  char path[BERTH_STORAGE_PATH_MAX];
  chk_ok(mount(t, "nosuchlayer", path, e) == -BERTH_ENOTFOUND,
         "mounting a missing layer: ENOTFOUND");
  chk_ok(create(t, "4444", "nosuchparent", false, e) < 0 && exists(t, "4444", e) == 0,
         "a missing parent is refused, nothing is left");
  chk_ok(create(t, "../x", NULL, false, e) == -BERTH_EINVAL, "a path-like id is refused");
  chk_ok(remove_(t, rw, e) == 0 && remove_(t, child, e) == 0 && remove_(t, base, e) == 0,
         "remove all layers");
  chk_ok(exists(t, base, e) == 0 && exists(t, child, e) == 0, "gone");
  chk_ok(remove_(t, base, e) == 0, "removing again is harmless");
}

struct worker {
  struct target *t;
  int n;
  int failures;
};

/* one thread's own layers: create, fill, read back, remove */
static void *layer_worker(void *arg) {
  struct worker *w = arg;
  char id[65], want[32], path[BERTH_STORAGE_PATH_MAX];
  for (int i = 0; i < 8; i++) {
    struct berth_err e = {0};
    snprintf(id, sizeof id, "%064x", 0xc0000 + w->n * 100 + i);
    snprintf(want, sizeof want, "f=%d-%d", w->n, i);
    const char *const ents[] = {want, NULL};
    bool good = create(w->t, id, NULL, false, &e) == 0 && apply(w->t, id, NULL, ents, &e) == 0 &&
                mount(w->t, id, path, &e) == 0 && is_str(content(path, "f"), want + 2);
    unmount(w->t, id, &e);
    good = remove_(w->t, id, &e) == 0 && good;
    if (!good) w->failures++;
  }
  return NULL;
}

static void test_concurrent(struct target *t) {
  struct worker w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (struct worker){t, i, 0};
    pthread_create(&th[i], NULL, layer_worker, &w[i]);
  }
  int failures = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    failures += w[i].failures;
  }
  chk_ok(failures == 0,
         "4 threads x 8 layers each, at once: every layer right (%d wrong; at most "
         "%d calls were inside the driver at once)",
         failures, chk_max_inflight());
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

int suite_storage(struct target *t) {
  struct berth_err e = {0};
  test_layers(t, &e);
  test_idmapped(t, &e);
  test_kinds(t, &e);
  test_edges(t, &e);
  test_concurrent(t);
  chk_ok(count_mounts(t->host->root_dir) == 0, "no mounts left under the driver's root");
  return 0;
}
