#include "layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "../util/lazylib.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

ssize_t fd_reader_read(void *ctx, void *buf, size_t len) {
  int fd = *(int *)ctx;
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

struct rd {
  struct berth_reader *in;
  uint64_t total; /* bytes the reader gave */
  bool failed;    /* it failed (not an empty stream) */
  char buf[65536];
};

static la_ssize_t rd_read(struct archive *a, void *ctx, const void **out) {
  struct rd *r = ctx;
  ssize_t n = r->in->read(r->in->ctx, r->buf, sizeof r->buf);
  if (n < 0) {
    r->failed = true;
    archive_set_error(a, errno, "read error: %s", strerror(errno));
    return -1;
  }
  r->total += (uint64_t)n;
  *out = r->buf;
  return n;
}

/* Normalise a tar path into out: strips "./" and trailing '/', refuses
 * absolute paths and "..".  Returns 0, 1 for the root itself, -1 for a
 * path that leaves the layer, -2 for one longer than out (PATH_MAX). */
static int clean_path(const char *p, char *out, size_t len) {
  if (p[0] == '/') return -1;
  size_t o = 0;
  while (*p) {
    while (*p == '/')
      p++;
    const char *e = strchrnul(p, '/');
    size_t n = (size_t)(e - p);
    if (n == 0) break;
    if (n == 2 && !strncmp(p, "..", 2)) return -1;
    if (!(n == 1 && *p == '.')) {
      if (o + n + 2 > len) return -2;
      if (o) out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p = e;
  }
  out[o] = 0;
  return o ? 0 : 1;
}

/* Open the directory that holds rel's last component, walking from rootfd
 * without following symlinks and creating missing directories.  *base
 * points into rel. */
static int open_parent(int rootfd, char *rel, const char **base, bool create, struct berth_err *err,
                       const char *shown) {
  int fd = dup(rootfd);
  if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "dup");
  char *p = rel, *slash;
  while ((slash = strchr(p, '/'))) {
    *slash = 0;
    int nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0 && errno == ENOENT && create) {
      if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        *slash = '/';
        close(fd);
        return err_sys_(err, BERTH_EINTERNAL, e, "layer entry %s: mkdir", shown);
      }
      nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    int e = errno;
    *slash = '/';
    close(fd);
    if (nfd < 0) {
      if (e == ELOOP || e == ENOTDIR)
        return berth_err_set(err, BERTH_EINVAL, e,
                             "layer entry %s: path passes through a symlink or a non-directory; "
                             "refusing to write outside the layer",
                             shown);
      return err_sys_(err, e == ENOENT ? BERTH_ENOTFOUND : BERTH_EINTERNAL, e,
                      "layer entry %s: open parent", shown);
    }
    fd = nfd;
    p = slash + 1;
  }
  *base = p;
  return fd;
}

/* Make room for a new entry called name in dirfd. */
static int clear_slot(int dirfd, const char *name, bool keep_dir) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -errno;
  if (S_ISDIR(st.st_mode)) {
    if (keep_dir) return 0;
    cleanup_free char *path = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
    return rm_rf(path);
  }
  return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

static int clear_dir_contents(int dirfd) {
  int fd = dup(dirfd);
  if (fd < 0) return -errno;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -errno;
  }
  struct dirent *de;
  int r = 0;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      r = clear_slot(dirfd, de->d_name, false) ?: r;
  closedir(d);
  return r;
}

/* a stream the tar reader refuses, in the words docker's users see (Go's
 * archive/tar under dockerd's untar helper): a cut stream is "unexpected
 * EOF", one that is no tar "invalid tar header", others libarchive's */
int layer_tar_refused(struct archive *a, bool short_stream, struct berth_err *err) {
  const char *m = archive_error_string(a) ?: "unreadable";
  const char *go = short_stream || !strncmp(m, "Truncated", 9) ? "unexpected EOF"
                   : !strncmp(m, "Unrecognized archive format", 27) || !strncmp(m, "Damaged", 7)
                       ? "archive/tar: invalid tar header"
                       : m;
  return berth_err_set(err, BERTH_EINVAL, 0, "Error processing tar file(exit status 1): %s", go);
}

static int write_data(struct archive *a, int fd, uint64_t *bytes, struct berth_err *err,
                      const char *shown) {
  const void *buf;
  size_t size;
  la_int64_t off;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &size, &off);
    if (r == ARCHIVE_EOF) return 0;
    if (r != ARCHIVE_OK) return layer_tar_refused(a, false, err);
    const char *p = buf;
    while (size) {
      ssize_t n = pwrite(fd, p, size, off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return err_sys(err, BERTH_EINTERNAL, "layer entry %s: write", shown);
      }
      p += n;
      size -= (size_t)n;
      off += n;
      *bytes += (uint64_t)n;
    }
  }
}

static void apply_meta(int dirfd, const char *name, struct archive_entry *e, bool is_link) {
  if (fchownat(dirfd, name, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0) {
    /* unprivileged or idmapped: keep the files, lose the owner */
  }
  if (!is_link) fchmodat(dirfd, name, archive_entry_mode(e) & 07777, 0);
  const char *xname;
  const void *xval;
  size_t xlen;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK) {
    cleanup_free char *path = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
    lsetxattr(path, xname, xval, xlen, 0);
  }
  struct timespec ts[2] = {
      {archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e),
       archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e)},
      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* .wh..wh..opq (the directory's lower content goes) and .wh.<name> */
static int extract_whiteout(int dirfd, const char *base, uint32_t flags, const char *raw,
                            struct berth_err *err) {
  int r;
  if (!strcmp(base, WH_OPAQUE)) {
    if (flags & BERTH_UNTAR_WHITEOUT_OVERLAY) {
      cleanup_free char *path = xasprintf("/proc/self/fd/%d", dirfd);
      if (setxattr(path, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return err_sys(err, BERTH_EINTERNAL, "layer entry %s: set opaque", raw);
      return 0;
    }
    r = clear_dir_contents(dirfd);
    return r < 0 ? err_sys_(err, BERTH_EINTERNAL, -r, "layer entry %s: opaque dir", raw) : 0;
  }
  const char *victim = base + strlen(WH_PREFIX);
  if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
    return berth_err_set(err, BERTH_EINVAL, 0, "layer entry %s: bad whiteout", raw);
  r = clear_slot(dirfd, victim, false);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "layer entry %s: whiteout", raw);
  if ((flags & BERTH_UNTAR_WHITEOUT_OVERLAY) &&
      mknodat(dirfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
    return err_sys(err, BERTH_EINTERNAL, "layer entry %s: whiteout device", raw);
  return 0;
}

/* a second name for a file already in the layer, never for one outside
 * it, never for a device node outside /dev */
static int extract_hardlink(struct archive_entry *e, int rootfd, int dirfd, const char *rel,
                            const char *base, struct untar_stats *st, struct berth_err *err) {
  const char *raw = archive_entry_pathname(e), *hl = archive_entry_hardlink(e);
  char trel[4096];
  if (clean_path(hl, trel, sizeof trel) != 0)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "layer entry %s: hard link to %s points outside the layer", raw, hl);
  const char *tbase;
  int tfd = open_parent(rootfd, trel, &tbase, false, err, raw);
  if (tfd < 0) return tfd;
  cleanup_close int tdir = tfd;
  struct stat ts;
  if (fstatat(tdir, tbase, &ts, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(ts.st_mode))
    return berth_err_set(err, BERTH_EINVAL, errno,
                         "layer entry %s: hard link target %s is not a file in the layer", raw, hl);
  if ((S_ISCHR(ts.st_mode) || S_ISBLK(ts.st_mode)) && !str_has_prefix(rel, "dev/"))
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "layer entry %s: hard link to the device node %s: device node outside /dev refused", raw,
        hl);
  int r = clear_slot(dirfd, base, false);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "layer entry %s: replace", raw);
  if (linkat(tdir, tbase, dirfd, base, 0) < 0)
    return err_sys(err, BERTH_EINTERNAL, "layer entry %s: link to %s", raw, hl);
  st->entries++;
  return 0;
}

static int extract_entry(struct archive *a, struct archive_entry *e, int rootfd, uint32_t flags,
                         struct untar_stats *st, struct berth_err *err) {
  const char *raw = archive_entry_pathname(e);
  if (!raw) return berth_err_set(err, BERTH_EINVAL, 0, "layer entry without a name");
  char rel[4096];
  int c = clean_path(raw, rel, sizeof rel);
  if (c == -2)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "layer entry %.200s...: path longer than %zu bytes refused", raw,
                         sizeof rel - 1);
  if (c < 0)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "layer entry %s: absolute path or '..' component; refusing to write "
                         "outside the layer",
                         raw);
  if (c == 1) return 0; /* the root directory itself */
  const char *base;
  int dfd = open_parent(rootfd, rel, &base, true, err, raw);
  if (dfd < 0) return dfd;
  cleanup_close int dirfd = dfd;
  mode_t type = archive_entry_filetype(e);
  int r;

  if (!strcmp(base, WH_OPAQUE) || str_has_prefix(base, WH_PREFIX))
    return extract_whiteout(dirfd, base, flags, raw, err);
  if (archive_entry_hardlink(e)) return extract_hardlink(e, rootfd, dirfd, rel, base, st, err);

  switch (type) {
  case AE_IFDIR:
    if ((r = clear_slot(dirfd, base, true)) < 0)
      return err_sys_(err, BERTH_EINTERNAL, -r, "layer entry %s: replace", raw);
    if (mkdirat(dirfd, base, 0755) < 0 && errno != EEXIST)
      return err_sys(err, BERTH_EINTERNAL, "layer entry %s: mkdir", raw);
    break;
  case AE_IFREG: {
    if ((r = clear_slot(dirfd, base, false)) < 0)
      return err_sys_(err, BERTH_EINTERNAL, -r, "layer entry %s: replace", raw);
    cleanup_close int fd =
        openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "layer entry %s: create", raw);
    if ((r = write_data(a, fd, &st->bytes, err, raw)) < 0) return r;
    if (ftruncate(fd, archive_entry_size(e)) < 0)
      return err_sys(err, BERTH_EINTERNAL, "layer entry %s: truncate", raw);
    break;
  }
  case AE_IFLNK:
    if ((r = clear_slot(dirfd, base, false)) < 0)
      return err_sys_(err, BERTH_EINTERNAL, -r, "layer entry %s: replace", raw);
    if (symlinkat(archive_entry_symlink(e) ? archive_entry_symlink(e) : "", dirfd, base) < 0)
      return err_sys(err, BERTH_EINTERNAL, "layer entry %s: symlink", raw);
    break;
  case AE_IFCHR:
  case AE_IFBLK:
    if (!str_has_prefix(rel, "dev/"))
      return berth_err_set(err, BERTH_EINVAL, 0, "layer entry %s: device node outside /dev refused",
                           raw);
    /* fall through */
  case AE_IFIFO:
    if ((r = clear_slot(dirfd, base, false)) < 0)
      return err_sys_(err, BERTH_EINTERNAL, -r, "layer entry %s: replace", raw);
    if (mknodat(dirfd, base, type | (archive_entry_mode(e) & 07777), archive_entry_rdev(e)) < 0)
      return err_sys(err, BERTH_EINTERNAL, "layer entry %s: mknod", raw);
    break;
  default:
    return berth_err_set(err, BERTH_EINVAL, 0, "layer entry %s: unsupported file type 0%o", raw,
                         (unsigned)type);
  }
  apply_meta(dirfd, base, e, type == AE_IFLNK);
  st->entries++;
  return 0;
}

int layer_untar(struct berth_reader *in, const char *dir, uint32_t flags, struct untar_stats *stats,
                struct berth_err *err) {
  struct untar_stats local = {0};
  if (!stats) stats = &local;
  cleanup_close int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return err_sys(err, BERTH_EINTERNAL, "open %s", dir);
  struct archive *a = archive_read_new();
  if (!a) return lazylib_fail(&lazy_libarchive, err);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_read_support_filter_all(a);
  cleanup_free struct rd *r = xmalloc(sizeof *r);
  r->in = in;
  r->total = 0;
  r->failed = false;
  int ret = 0;
  if (archive_read_open(a, r, NULL, rd_read, NULL) != ARCHIVE_OK) {
    /* an empty stream is an empty tar to Go's reader (docker import of
     * nothing makes an image with an empty layer) */
    if (!r->total && !r->failed) goto out;
    ret = layer_tar_refused(a, r->total < 512, err); /* Go's reader wants a whole header */
    goto out;
  }
  /* Directory times are set after their contents are written. */
  for (;;) {
    struct archive_entry *e;
    int h = archive_read_next_header(a, &e);
    if (h == ARCHIVE_EOF) break;
    if (h < ARCHIVE_WARN) {
      ret = layer_tar_refused(a, false, err);
      goto out;
    }
    ret = extract_entry(a, e, rootfd, flags, stats, err);
    if (ret < 0) goto out;
  }
  /* Drain the stream so hashing callers see every byte. */
  char sink[8192];
  while (in->read(in->ctx, sink, sizeof sink) > 0) {
  }
out:
  archive_read_free(a);
  return ret;
}

char *untar_to_new_dir(struct berth_reader *in, const char *parent, const char *prefix,
                       const char *what, struct berth_err *err) {
  char rnd[17];
  random_hex(rnd, 8);
  mkdir_p(parent, 0700);
  char *dir = xasprintf("%s/%s-%s", parent, prefix, rnd);
  if (mkdir(dir, 0700) < 0) {
    err_sys(err, BERTH_EINTERNAL, "mkdir %s", dir);
    free(dir);
    return NULL;
  }
  if (layer_untar(in, dir, BERTH_UNTAR_WHITEOUT_DELETE, NULL, err) < 0) {
    if (what) err_wrap(err, "%s", what);
    rm_rf(dir);
    free(dir);
    return NULL;
  }
  return dir;
}
