/* vfs: every layer is a full copy of its parent plus its own diff.  Slow
 * and big, but works on any filesystem; the fallback when overlayfs is not
 * usable.  Built into berthd. */
#include <berth/storage.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../../core/util/idmap.h"
#include "../../core/util/util.h"

struct vfs {
  const struct berth_host *host;
  char *dir; /* <root>/dir */
};

static int vfs_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  struct vfs *v = xcalloc(1, sizeof *v);
  v->host = host;
  v->dir = xasprintf("%s/dir", host->root_dir);
  int r = mkdir_p(v->dir, 0700);
  if (r < 0) {
    free(v->dir);
    free(v);
    return err_sys_(err, BERTH_EINTERNAL, -r, "vfs: mkdir %s", host->root_dir);
  }
  *drv = v;
  return 0;
}

static void vfs_fini(void *drv) {
  struct vfs *v = drv;
  free(v->dir);
  free(v);
}

static bool valid_id(const char *id) {
  return id && *id && strlen(id) < 200 && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

static int vfs_create(void *drv, const struct berth_storage_create_req *req,
                      struct berth_err *err) {
  struct vfs *v = drv;
  if (!valid_id(req->id)) return berth_err_set(err, BERTH_EINVAL, 0, "vfs: bad layer id");
  cleanup_free char *path = xasprintf("%s/%s", v->dir, req->id);
  if (path_exists(path))
    return berth_err_set(err, BERTH_ECONFLICT, EEXIST, "vfs: layer %s already exists", req->id);
  if (req->parent) {
    if (!valid_id(req->parent)) return berth_err_set(err, BERTH_EINVAL, 0, "vfs: bad parent id");
    cleanup_free char *ppath = xasprintf("%s/%s", v->dir, req->parent);
    if (!path_exists(ppath))
      return berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "vfs: parent layer %s not found",
                           req->parent);
    int r = copy_tree(ppath, path);
    if (r < 0) {
      rm_rf(path);
      return err_sys_(err, BERTH_EINTERNAL, -r, "vfs: copy %s to %s", req->parent, req->id);
    }
    return 0;
  }
  if (mkdir(path, 0755) < 0) return err_sys(err, BERTH_EINTERNAL, "vfs: mkdir %s", path);
  return 0;
}

static int vfs_remove(void *drv, const char *id, struct berth_err *err) {
  struct vfs *v = drv;
  if (!valid_id(id)) return berth_err_set(err, BERTH_EINVAL, 0, "vfs: bad layer id");
  cleanup_free char *path = xasprintf("%s/%s", v->dir, id);
  int r = rm_rf(path);
  return r < 0 ? err_sys_(err, BERTH_EINTERNAL, -r, "vfs: remove %s", id) : 0;
}

static int vfs_exists(void *drv, const char *id, struct berth_err *err) {
  struct vfs *v = drv;
  if (!valid_id(id)) return 0;
  cleanup_free char *path = xasprintf("%s/%s", v->dir, id);
  struct stat st;
  if (lstat(path, &st) == 0) return 1;
  if (errno == ENOENT) return 0;
  return berth_err_set(err, BERTH_EINTERNAL, errno, "vfs: stat %s: %s", path, strerror(errno));
}

static int vfs_mount(void *drv, const char *id, const char *label, char *out, size_t out_len,
                     struct berth_err *err) {
  struct vfs *v = drv;
  int ex = vfs_exists(drv, id, err);
  if (ex < 0) return ex;
  if (!ex) return berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "vfs: layer %s not found", id);
  if ((size_t)snprintf(out, out_len, "%s/%s", v->dir, id) >= out_len)
    return berth_err_set(err, BERTH_EINTERNAL, 0, "vfs: path of %s longer than %zu bytes", id,
                         out_len - 1);
  return 0;
}

/* a layer is its directory; mapped, an id-mapped bind of it on itself */
static int vfs_mount_idmapped(void *drv, const char *id, const char *label,
                              const struct berth_storage_idmap *map, char *out, size_t out_len,
                              struct berth_err *err) {
  if (!map || map->struct_size < sizeof *map || map->userns_fd < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "vfs: mount_idmapped needs a mapping");
  int r = vfs_mount(drv, id, label, out, out_len, err);
  if (r < 0) return r;
  r = idmap_bind(out, out, map->userns_fd);
  if (r < 0)
    return berth_err_set(err, BERTH_EINTERNAL, -r, "vfs: id-mapped mount of %s: %s", id,
                         strerror(-r));
  return 0;
}

/* only an id-mapped mount is a mount: a plain one is nothing to undo */
static int vfs_unmount(void *drv, const char *id, struct berth_err *err) {
  struct vfs *v = drv;
  if (!valid_id(id)) return 0;
  char p[4400];
  snprintf(p, sizeof p, "%s/%s", v->dir, id);
  if (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
    return berth_err_set(err, BERTH_EINTERNAL, errno, "vfs: unmount %s: %s", p, strerror(errno));
  return 0;
}

/* The name Docker shows for the filesystem under a path. */
static const char *backing_fs(const char *path) {
  struct statfs sf;
  if (statfs(path, &sf) < 0) return "unknown";
  switch ((unsigned long)sf.f_type) {
  case 0xEF53: return "extfs";
  case 0x58465342: return "xfs";
  case 0x9123683E: return "btrfs";
  case 0x01021994: return "tmpfs";
  case 0x794c7630: return "overlayfs";
  case 0x2FC12FC1: return "zfs";
  default: return "unknown";
  }
}

static int vfs_status(void *drv, struct berth_buf *out, struct berth_err *err) {
  struct vfs *v = drv;
  char row[128];
  int n = snprintf(row, sizeof row, "Backing Filesystem\t%s\n", backing_fs(v->dir));
  return v->host->buf_append(v->host, out, row, (size_t)n);
}

static int vfs_apply_diff(void *drv, const char *id, const char *parent, struct berth_reader *tar,
                          uint64_t *size, struct berth_err *err) {
  struct vfs *v = drv;
  cleanup_free char *path = xasprintf("%s/%s", v->dir, id);
  if (!path_exists(path))
    return berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "vfs: layer %s not found", id);
  return v->host->untar(v->host, tar, path, BERTH_UNTAR_WHITEOUT_DELETE, err);
}

/* ---- changes: docker's naive diff, the layer against its parent walked
 * side by side (vfs has nothing better: every layer is a full copy).  A
 * non-directory changed when its type, mode, owner, device, size, mtime or
 * link target did; a directory when its type, mode or owner did, or
 * anything below it; a deletion is reported once, at its top. ---- */

static int row(struct vfs *v, struct berth_buf *out, char kind, const char *path) {
  char k[2] = {kind, '\t'};
  int r = v->host->buf_append(v->host, out, k, 2);
  if (r == 0) r = v->host->buf_append(v->host, out, path, strlen(path));
  if (r == 0) r = v->host->buf_append(v->host, out, "\n", 1);
  return r < 0 ? -ENOMEM : 0;
}

static bool differs(int ofd, int nfd, const char *name, const struct stat *o,
                    const struct stat *n) {
  if ((o->st_mode & S_IFMT) != (n->st_mode & S_IFMT) || o->st_mode != n->st_mode ||
      o->st_uid != n->st_uid || o->st_gid != n->st_gid || o->st_rdev != n->st_rdev)
    return true;
  if (S_ISDIR(n->st_mode)) return false;
  if (o->st_size != n->st_size || o->st_mtim.tv_sec != n->st_mtim.tv_sec ||
      o->st_mtim.tv_nsec != n->st_mtim.tv_nsec)
    return true;
  if (!S_ISLNK(n->st_mode)) return false;
  char a[4096], b[4096];
  ssize_t la = readlinkat(ofd, name, a, sizeof a), lb = readlinkat(nfd, name, b, sizeof b);
  return la != lb || (la > 0 && memcmp(a, b, (size_t)la));
}

static int changes_dir(struct vfs *v, int ofd, int nfd, const char *rel, struct berth_buf *out,
                       bool *any);

/* one entry of the new tree (ofd -1: none of it was there before) */
static int change_of(struct vfs *v, int ofd, int nfd, const char *rel, const char *name,
                     struct berth_buf *out, bool *any) {
  struct stat n, o;
  if (fstatat(nfd, name, &n, AT_SYMLINK_NOFOLLOW) < 0) return 0;
  bool had = ofd >= 0 && fstatat(ofd, name, &o, AT_SYMLINK_NOFOLLOW) == 0;
  cleanup_free char *path = xasprintf("%s/%s", rel, name);
  bool changed = !had || differs(ofd, nfd, name, &o, &n), below = false;
  int r = 0;
  if (S_ISDIR(n.st_mode)) {
    int sub_n = openat(nfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int sub_o = had && S_ISDIR(o.st_mode)
                    ? openat(ofd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
    r = sub_n < 0 ? -errno : changes_dir(v, sub_o, sub_n, path, out, &below);
    if (sub_n >= 0) close(sub_n);
    if (sub_o >= 0) close(sub_o);
  }
  if (r == 0 && (changed || below)) r = row(v, out, had ? 'C' : 'A', path);
  *any |= changed || below;
  return r;
}

static int changes_dir(struct vfs *v, int ofd, int nfd, const char *rel, struct berth_buf *out,
                       bool *any) {
  int dup_n = dup(nfd);
  DIR *d = dup_n >= 0 ? fdopendir(dup_n) : NULL;
  if (!d) return dup_n >= 0 ? (close(dup_n), -errno) : -errno;
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      r = change_of(v, ofd, nfd, rel, de->d_name, out, any);
  closedir(d);
  int dup_o = r == 0 && ofd >= 0 ? dup(ofd) : -1;
  DIR *od = dup_o >= 0 ? fdopendir(dup_o) : NULL;
  struct stat st;
  while (r == 0 && od && (de = readdir(od))) { /* what went */
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
        fstatat(nfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      continue;
    cleanup_free char *path = xasprintf("%s/%s", rel, de->d_name);
    r = row(v, out, 'D', path);
    *any = true;
  }
  if (od) closedir(od);
  return r;
}

static int vfs_changes(void *drv, const char *id, const char *parent, struct berth_buf *out,
                       struct berth_err *err) {
  struct vfs *v = drv;
  if (!valid_id(id) || (parent && *parent && !valid_id(parent)))
    return berth_err_set(err, BERTH_EINVAL, 0, "vfs: bad layer id");
  cleanup_free char *np = xasprintf("%s/%s", v->dir, id);
  cleanup_free char *op = parent && *parent ? xasprintf("%s/%s", v->dir, parent) : NULL;
  int nfd = open(np, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (nfd < 0) return berth_err_set(err, BERTH_ENOTFOUND, errno, "vfs: layer %s not found", id);
  int ofd = op ? open(op, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  bool any = false;
  int r = op && ofd < 0 ? -errno : changes_dir(v, ofd, nfd, "", out, &any);
  close(nfd);
  if (ofd >= 0) close(ofd);
  return r < 0 ? berth_err_set(err, BERTH_EINTERNAL, -r, "vfs: changes of %s: %s", id, strerror(-r))
               : 0;
}

static const struct berth_storage_ops vfs_ops = {
    .struct_size = sizeof(struct berth_storage_ops),
    .create = vfs_create,
    .remove = vfs_remove,
    .exists = vfs_exists,
    .mount = vfs_mount,
    .unmount = vfs_unmount,
    .mount_idmapped = vfs_mount_idmapped,
    .status = vfs_status,
    .apply_diff = vfs_apply_diff,
    .changes = vfs_changes,
};

BERTH_PLUGIN_DEFINE(vfs, BERTH_KIND_STORAGE, "vfs", "1.0.0", "full copies of every layer", 0,
                    vfs_init, vfs_fini, &vfs_ops)
