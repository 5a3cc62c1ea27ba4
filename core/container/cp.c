/* docker cp's daemon side (GET/HEAD/PUT /containers/{id}/archive): stat a
 * path, read it as a tar, extract a tar into a directory, all inside the
 * container's filesystem as its processes see it.  A running container's
 * through /proc/<pid>/root (its own mount namespace: volumes, binds and
 * tmpfs included); a stopped one's layer mounted, with its volumes and
 * binds put on their targets in a mount namespace of a thread made for
 * the copy, so they vanish with it and the host never sees them.  Every
 * path is resolved inside that root (openat2 RESOLVE_IN_ROOT): a symlink
 * in the container never leads outside it. */
#include "cp.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../daemon.h"
#include "../image/layer.h"
#include "../image/store.h"
#include "../runtime/runtime.h"
#include "../util/lazylib.h"
#include "../volume/volume.h"
#include "config.h"
#include "mounts.h"
#include "tar.h"

/* ---------------- the container's view ---------------- */

typedef int view_fn(int rootfd, void *arg, struct berth_err *err);

struct view {
  struct daemon *d;
  pid_t pid;                 /* running: its init; 0: the layer at root */
  const struct idmap *remap; /* running in a user namespace: its mapping */
  char root[4096];
  json_t *mounts;
  view_fn *fn;
  void *arg;
  struct berth_err *err;
  int ret;
};

/* a stopped container's volumes and binds on their targets (not its
 * tmpfs mounts: those hold nothing while it is stopped) */
static void bind_points(struct view *v, int rootfd) {
  size_t i;
  json_t *p;
  json_array_foreach(v->mounts, i, p) {
    const char *type = json_string_value(json_object_get(p, "Type")) ?: "";
    const char *name = json_string_value(json_object_get(p, "Name"));
    const char *dst = json_string_value(json_object_get(p, "Destination")) ?: "";
    struct berth_err e = {0};
    cleanup_free char *src = !strcmp(type, "volume") && name
                                 ? vol_path(v->d, name, &e)
                                 : xstrdup(json_string_value(json_object_get(p, "Source")) ?: "");
    struct stat st;
    if (!strcmp(type, "tmpfs") || !src || stat(src, &st) < 0) continue;
    int fd = rt_target_in_root(rootfd, dst, S_ISDIR(st.st_mode), &e);
    if (fd < 0) continue;
    if (rt_mount_on_fd(src, fd, NULL, MS_BIND | MS_REC, NULL) < 0)
      log_warn("cp: bind %s on %s: %s", src, dst, strerror(errno));
    close(fd);
  }
}

/* a running container's filesystems in dockerd's view of it: its root,
 * its volumes and binds, the /etc files berthd writes (ctar_set_view) */
static void running_view(struct view *v, int rootfd) {
  static const char *const etc[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
  dev_t devs[64];
  size_t n = 0, i;
  struct stat st;
  if (fstat(rootfd, &st) == 0) devs[n++] = st.st_dev;
  json_t *p;
  json_array_foreach(v->mounts, i, p) {
    const char *type = json_string_value(json_object_get(p, "Type")) ?: "";
    const char *dst = json_string_value(json_object_get(p, "Destination")) ?: "/";
    cleanup_close int fd = strcmp(type, "tmpfs") && n < ARRAY_SIZE(devs)
                               ? rt_openat_in_root(rootfd, dst, O_PATH, 0)
                               : -1;
    if (fd >= 0 && fstat(fd, &st) == 0) devs[n++] = st.st_dev;
  }
  for (i = 0; i < ARRAY_SIZE(etc) && n < ARRAY_SIZE(devs); i++) {
    cleanup_close int fd = rt_openat_in_root(rootfd, etc[i], O_PATH | O_NOFOLLOW, 0);
    if (fd >= 0 && fstat(fd, &st) == 0) devs[n++] = st.st_dev;
  }
  ctar_set_view(devs, n);
}

/* a path outside the view (ctar_hidden): the mount point itself is an
 * empty directory (1), what is below it is not there (-BERTH_ENOTFOUND) */
static int outside_view(int fd, const struct stat *st) {
  if (!ctar_hidden(st->st_dev)) return 0;
  struct statx sx;
  bool root = statx(fd, "", AT_EMPTY_PATH, 0, &sx) == 0 &&
              (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
              (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  return root ? 1 : -BERTH_ENOTFOUND;
}

static void *view_thread(void *p) {
  struct view *v = p;
  cleanup_free char *root = v->pid ? xasprintf("/proc/%d/root", v->pid) : xstrdup(v->root);
  if (!v->pid) {
    /* this thread's own mount namespace, nothing propagating back */
    if (unshare(CLONE_FS | CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
      v->ret = err_sys(v->err, BERTH_EINTERNAL, "cp: a mount namespace");
      return NULL;
    }
  }
  cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    v->ret = berth_err_set(v->err, BERTH_ECONFLICT, 0, "container is not running any more");
    return NULL;
  }
  if (!v->pid) bind_points(v, rootfd);
  /* this thread's own credentials: what it makes is the container root's */
  int r = v->remap ? idmap_become_root(v->remap) : 0;
  if (r < 0) {
    v->ret = berth_err_set(v->err, BERTH_EINTERNAL, -r, "cp: the mapping's root: %s", strerror(-r));
    return NULL;
  }
  ctar_set_idmap(v->remap);
  ctar_set_names(rootfd);
  if (v->pid) running_view(v, rootfd);
  v->ret = v->fn(rootfd, v->arg, v->err);
  ctar_set_view(NULL, 0);
  ctar_set_names(-1);
  return NULL;
}

/* fn(rootfd) on the container's filesystem, on a thread of its own */
static int in_view(struct daemon *d, struct container *c, view_fn *fn, void *arg,
                   struct berth_err *err) {
  struct view v = {.d = d, .fn = fn, .arg = arg, .err = err};
  ctr_lock();
  bool running = ctr_is_running(c);
  v.pid = running ? c->pid : 0;
  v.mounts = json_deep_copy(c->mounts);
  ctr_unlock();
  if (v.pid && ctr_remapped(d, c)) v.remap = &d->remap;
  int r = v.pid ? 0 : store_mount_layer(&d->images, c->rw_id, v.root, err);
  bool own_mount = !v.pid && r == 0;
  static unsigned long copies;
  cleanup_free char *user =
      own_mount ? xasprintf("%s-cp%lu", c->id, __atomic_add_fetch(&copies, 1, __ATOMIC_RELAXED))
                : NULL;
  /* its volumes mounted for the copy (a typed local one is mounted only
   * while something uses it), under a use of the copy's own */
  if (user) ctr_mounts_take(d, c, user);
  pthread_t t;
  if (r == 0 && pthread_create(&t, NULL, view_thread, &v) != 0)
    r = berth_err_set(err, BERTH_EINTERNAL, 0, "cp: cannot start a thread");
  else if (r == 0) {
    pthread_join(t, NULL);
    r = v.ret;
  }
  if (user) ctr_mounts_let_go(d, c, user);
  if (own_mount) {
    struct berth_err e = {0};
    store_unmount_layer(&d->images, c->rw_id, &e);
  }
  json_decref(v.mounts);
  return r;
}

/* ---------------- stat ---------------- */

/* Go's os.FileMode bits, as docker's Path-Stat carries them */
static uint32_t go_mode(mode_t m) {
  uint32_t g = m & 0777;
  if (m & S_ISUID) g |= 1u << 23;
  if (m & S_ISGID) g |= 1u << 22;
  if (m & S_ISVTX) g |= 1u << 20;
  switch (m & S_IFMT) {
  case S_IFDIR: g |= 1u << 31; break;
  case S_IFLNK: g |= 1u << 27; break;
  case S_IFIFO: g |= 1u << 25; break;
  case S_IFSOCK: g |= 1u << 24; break;
  case S_IFBLK: g |= 1u << 26; break;
  case S_IFCHR: g |= 1u << 26 | 1u << 21; break;
  default: break;
  }
  return g;
}

/* "dir/" and "dir/." follow the last component; anything else does not */
static bool follows_last(const char *path) {
  size_t n = strlen(path);
  return n && (path[n - 1] == '/' || (n >= 2 && !strcmp(path + n - 2, "/.")) || !strcmp(path, "."));
}

static const char *base_of(const char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/')
    n--;
  const char *b = path + n;
  while (b > path && b[-1] != '/')
    b--;
  return b;
}

struct stat_job {
  const char *path;
  struct ctr_path_stat *st;
};

static int stat_in(int rootfd, void *arg, struct berth_err *err) {
  struct stat_job *j = arg;
  int fd = rt_openat_in_root(rootfd, j->path, O_PATH | (follows_last(j->path) ? 0 : O_NOFOLLOW), 0);
  struct stat st;
  if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return e == ENOENT || e == ENOTDIR ? -BERTH_ENOTFOUND : err_sys(err, BERTH_EINTERNAL, "stat");
  }
  if (outside_view(fd, &st) < 0) {
    close(fd);
    return -BERTH_ENOTFOUND;
  }
  struct ctr_path_stat *o = j->st;
  const char *b = base_of(j->path);
  snprintf(o->name, sizeof o->name, "%.*s", (int)strcspn(b, "/"), b);
  if (!*o->name) snprintf(o->name, sizeof o->name, "/");
  o->size = st.st_size;
  o->mode = go_mode(st.st_mode);
  o->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  o->is_dir = S_ISDIR(st.st_mode);
  o->link[0] = 0;
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlinkat(fd, "", o->link, sizeof o->link - 1);
    o->link[n > 0 ? n : 0] = 0;
  }
  close(fd);
  return 0;
}

static int not_found(const char *path, const char *ref, struct berth_err *err) {
  return berth_err_set(err, BERTH_ENOTFOUND, 0, "Could not find the file %s in container %s", path,
                       ref);
}

int ctr_path_stat(struct daemon *d, struct container *c, const char *ref, const char *path,
                  struct ctr_path_stat *st, struct berth_err *err) {
  ctr_ahead_drop(d, c);
  if (!*path) return berth_err_set(err, BERTH_EINVAL, 0, "Path cannot be empty");
  struct stat_job j = {path, st};
  int r = in_view(d, c, stat_in, &j, err);
  return r == -BERTH_ENOTFOUND ? not_found(path, ref, err) : r;
}

json_t *ctr_path_stat_json(const struct ctr_path_stat *st) {
  char mt[64];
  format_rfc3339(st->mtime_ns, mt, sizeof mt);
  return json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", st->name, "size", (json_int_t)st->size, "mode",
                   (json_int_t)st->mode, "mtime", mt, "linkTarget", st->link);
}

/* ---------------- GET: the path as a tar ---------------- */

struct get_job {
  struct daemon *d;
  struct container *c;
  char *path, *name;
  int fd; /* the response */
};

static int get_in(int rootfd, void *arg, struct berth_err *err) {
  struct get_job *j = arg;
  struct archive *a = ctar_writer(&j->fd, err);
  if (!a) return -1;
  bool dir_contents = follows_last(j->path);
  int r = 0;
  cleanup_close int pfd = rt_openat_in_root(rootfd, j->path, O_PATH | O_NOFOLLOW, 0);
  /* "dir/." or "dir/" follow the last component: the directory itself */
  cleanup_close int dfd =
      dir_contents ? rt_openat_in_root(rootfd, j->path, O_PATH | O_DIRECTORY, 0) : -1;
  int top = dir_contents ? dfd : pfd;
  struct stat st;
  bool have = top >= 0 && fstatat(top, "", &st, AT_EMPTY_PATH) == 0;
  bool is_dir = dir_contents || (have && S_ISDIR(st.st_mode));
  if (dir_contents) { /* the directory (as "." or its name), its entries */
    struct archive_entry *e = archive_entry_new();
    if (have) {
      archive_entry_copy_stat(e, &st);
      ctar_entry_unmap(e);
      ctar_entry_names(e);
      archive_entry_set_pathname(e, j->name);
      archive_entry_set_size(e, 0);
      r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
    }
    archive_entry_free(e);
  } else {
    r = ctar_add(a, rootfd, j->path, j->name);
  }
  /* a mount point outside dockerd's view: the directory alone */
  bool empty = have && outside_view(top, &st) != 0;
  if (r == 0 && is_dir && !empty) r = ctar_add_tree(a, rootfd, j->path, j->name);
  if (r == 0) archive_write_close(a);
  archive_write_free(a);
  return r;
}

static void get_producer(int fd, void *p) {
  struct get_job *j = p;
  j->fd = fd;
  struct berth_err e = {0};
  if (in_view(j->d, j->c, get_in, j, &e) < 0 && e.msg[0])
    log_warn("cp from %.12s: %s", j->c->id, e.msg);
  ctr_put(j->c);
  free(j->path);
  free(j->name);
  free(j);
}

int ctr_archive_get(struct daemon *d, struct container *c, const char *path,
                    ctr_producer_fn *producer, void **ctx, struct berth_err *err) {
  ctr_ahead_drop(d, c); /* the copy mounts the rootfs itself */
  /* the tar is written once the reply has begun: libarchive loaded now */
  if (lazylib_need(&lazy_libarchive, err) < 0) return -err->code;
  struct get_job *j = xcalloc(1, sizeof *j);
  *j = (struct get_job){d, c, xstrdup(path), NULL, -1};
  /* the top entry: the path's basename, "dir/" too, and "/" for the root
   * (its entries "/bin"…), as dockerd names them; "." for "dir/." */
  const char *b = base_of(path);
  size_t n = strcspn(b, "/"), len = strlen(path);
  bool dot = !strcmp(path, ".") || (len >= 2 && !strcmp(path + len - 2, "/."));
  j->name = dot ? xstrdup(".") : !n ? xstrdup("/") : xasprintf("%.*s", (int)n, b);
  ctr_lock();
  c->refs++;
  ctr_unlock();
  *producer = get_producer;
  *ctx = j;
  ctr_event(c, "archive-path", json_pack("{s:s}", "path", path));
  return 0;
}

/* ---------------- PUT: a tar extracted into a directory ---------------- */

struct put_job {
  const char *path; /* the directory, as the client named it */
  int in;           /* the tar */
  bool no_overwrite_dir_non_dir, copy_uid_gid;
  const char *user; /* the container's, for copy_uid_gid */
  uid_t uid;
  gid_t gid;
  json_t *dirs; /* [path, sec, nsec]: directory times, set last */
};

/* the entry's name below the destination, cleaned; NULL when it has ".."
 * (or is the destination itself: *self) */
static char *entry_rel(const char *name, bool *self, bool *bad) {
  char *out = xstrdup("");
  *self = *bad = false;
  cleanup_free char *copy = xstrdup(name);
  for (char *save = NULL, *part = strtok_r(copy, "/", &save); part;
       part = strtok_r(NULL, "/", &save)) {
    if (!strcmp(part, ".")) continue;
    if (!strcmp(part, "..")) *bad = true;
    char *t = xasprintf("%s%s%s", out, *out ? "/" : "", part);
    free(out);
    out = t;
  }
  *self = !*out;
  if (*bad || *self) {
    free(out);
    return NULL;
  }
  return out;
}

/* owner, mode and times of the entry just made, through an fd of it (never
 * a path the container could swap for a symlink meanwhile) */
static int set_meta(int pfd, const char *base, struct archive_entry *e, const struct put_job *j,
                    json_t *dirs, const char *full) {
  cleanup_close int fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH) < 0) return -1;
  uid_t uid = ctar_host_uid(j->copy_uid_gid ? j->uid : (uid_t)archive_entry_uid(e));
  gid_t gid = ctar_host_gid(j->copy_uid_gid ? j->gid : (gid_t)archive_entry_gid(e));
  if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0) return -1;
  struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                           {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (S_ISLNK(st.st_mode)) return utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -1 : 0;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (chmod(proc, archive_entry_perm(e) & 07777) < 0) return -1;
  if (S_ISDIR(st.st_mode)) {
    json_array_append_new(
        dirs, json_pack("[s,I,I]", full, (json_int_t)ts[0].tv_sec, (json_int_t)ts[0].tv_nsec));
    return 0;
  }
  return utimensat(AT_FDCWD, proc, ts, 0) < 0 ? -1 : 0;
}

static int write_data(struct archive *a, int fd) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    if (lseek(fd, off, SEEK_SET) < 0 || write_all_fd(fd, buf, len) < 0) return -1;
  }
  return r == ARCHIVE_EOF ? 0 : -1;
}

/* make the entry's object named base in pfd */
static int make_entry(int rootfd, int pfd, const char *base, struct archive *a,
                      struct archive_entry *e, const char *dest) {
  const char *hard = archive_entry_hardlink(e);
  if (hard) {
    bool self, bad;
    cleanup_free char *rel = entry_rel(hard, &self, &bad);
    if (!rel) return errno = EINVAL, -1;
    cleanup_free char *tp = xasprintf("%s/%s", dest, rel);
    cleanup_close int tfd = rt_openat_in_root(rootfd, tp, O_PATH | O_NOFOLLOW, 0);
    return tfd < 0 ? -1 : linkat(tfd, "", pfd, base, AT_EMPTY_PATH);
  }
  switch (archive_entry_filetype(e)) {
  case AE_IFDIR: return mkdirat(pfd, base, 0700) < 0 && errno != EEXIST ? -1 : 0;
  case AE_IFLNK: return symlinkat(archive_entry_symlink(e) ?: "", pfd, base);
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO: return mknodat(pfd, base, archive_entry_filetype(e) | 0600, archive_entry_rdev(e));
  case AE_IFREG: {
    int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = fd < 0 ? -1 : write_data(a, fd);
    if (fd >= 0) close(fd);
    return r;
  }
  default: return 1; /* sockets and the like: skipped */
  }
}

/* what is at base already: kept (a directory for a directory), replaced,
 * or refused (noOverwriteDirNonDir) */
static int clear_place(int pfd, const char *base, bool dir, const struct put_job *j,
                       const char *full, struct berth_err *err) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) return 0;
  bool was_dir = S_ISDIR(st.st_mode);
  if (was_dir && dir) return 0;
  if (j->no_overwrite_dir_non_dir && was_dir != dir)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         was_dir ? "cannot overwrite directory \"%s\" with non-directory"
                                 : "cannot overwrite non-directory \"%s\" with directory",
                         full);
  if (unlinkat(pfd, base, was_dir ? AT_REMOVEDIR : 0) < 0)
    return err_sys(err, BERTH_EINVAL, "cannot replace %s", full);
  return 0;
}

static int put_entry(int rootfd, struct archive *a, struct archive_entry *e, struct put_job *j,
                     struct berth_err *err) {
  bool self, bad, lself, lbad = false;
  cleanup_free char *rel = entry_rel(archive_entry_pathname(e) ?: "", &self, &bad);
  const char *hard = archive_entry_hardlink(e);
  cleanup_free char *lrel = hard ? entry_rel(hard, &lself, &lbad) : NULL;
  if (bad || lbad)
    return berth_err_set(err, BERTH_EINVAL, 0, "\"%s\" is outside of \"%s\"",
                         bad ? archive_entry_pathname(e) : hard, j->path);
  if (self) return 0; /* "." : the destination itself */
  bool root = !strcmp(j->path, "/");
  cleanup_free char *full = xasprintf("%s/%s", root ? "" : j->path, rel);
  cleanup_free char *parent = xstrdup(full);
  *strrchr(parent, '/') = 0;
  const char *base = strrchr(full, '/') + 1;
  cleanup_close int pfd = rt_mkdir_in_root(rootfd, *parent ? parent : "/", 0755);
  if (pfd < 0) return err_sys(err, BERTH_EINVAL, "cp: %s", parent);
  bool dir = archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e);
  if (clear_place(pfd, base, dir, j, full, err) < 0) return -err->code;
  int r = make_entry(rootfd, pfd, base, a, e, root ? "" : j->path);
  if (r > 0) return 0;
  if (r < 0 || set_meta(pfd, base, e, j, j->dirs, full) < 0)
    return err_sys(err, errno == EROFS ? BERTH_EINVAL : BERTH_EINTERNAL, "cp: %s", full);
  return 0;
}

static void set_dir_times(int rootfd, json_t *dirs) {
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d) {
    cleanup_close int fd = rt_openat_in_root(rootfd, json_string_value(json_array_get(d, 0)),
                                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    time_t sec = (time_t)json_integer_value(json_array_get(d, 1));
    long nsec = (long)json_integer_value(json_array_get(d, 2));
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    if (fd >= 0 && futimens(fd, ts) < 0) {
    }
  }
}

/* the request's body to libarchive, counted: a stream shorter than a tar
 * header is "unexpected EOF" to dockerd's Go reader */
struct put_rd {
  int fd;
  uint64_t total;
  char buf[65536];
};

static la_ssize_t put_read(struct archive *a, void *ctx, const void **out) {
  struct put_rd *r = ctx;
  ssize_t n;
  while ((n = read(r->fd, r->buf, sizeof r->buf)) < 0 && errno == EINTR) {
  }
  if (n < 0) archive_set_error(a, errno, "read: %s", strerror(errno));
  r->total += n > 0 ? (uint64_t)n : 0;
  *out = r->buf;
  return n;
}

static int put_in(int rootfd, void *arg, struct berth_err *err) {
  struct put_job *j = arg;
  cleanup_close int dfd = rt_openat_in_root(rootfd, j->path, O_PATH, 0);
  struct stat st;
  if (dfd < 0 || fstatat(dfd, "", &st, AT_EMPTY_PATH) < 0) return -BERTH_ENOTFOUND;
  if (!S_ISDIR(st.st_mode))
    return berth_err_set(err, BERTH_EINVAL, 0, "extraction point is not a directory");
  if (j->copy_uid_gid && *j->user) {
    struct rt_user u = {0};
    if (rt_resolve_user_at(rootfd, j->user, &u, err) < 0) return -err->code;
    j->uid = u.uid;
    j->gid = u.gid;
    rt_user_free(&u);
  }
  struct archive *a = archive_read_new();
  if (!a) return lazylib_fail(&lazy_libarchive, err);
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
  cleanup_free struct put_rd *rd = xcalloc(1, sizeof *rd);
  rd->fd = j->in;
  int r = archive_read_open(a, rd, NULL, put_read, NULL) == ARCHIVE_OK
              ? 0
              : layer_tar_refused(a, rd->total < 512, err);
  struct archive_entry *e;
  while (r == 0) {
    int h = archive_read_next_header(a, &e);
    if (h == ARCHIVE_EOF) break;
    if (h < ARCHIVE_WARN) {
      r = layer_tar_refused(a, false, err);
      break;
    }
    r = put_entry(rootfd, a, e, j, err);
  }
  archive_read_free(a);
  set_dir_times(rootfd, j->dirs);
  return r;
}

/* the mount the path is on (the longest Destination it is below), or NULL */
static json_t *mount_of(json_t *mounts, const char *path) {
  json_t *best = NULL, *m;
  size_t i, best_len = 0;
  json_array_foreach(mounts, i, m) {
    const char *dst = json_string_value(json_object_get(m, "Destination")) ?: "";
    size_t n = strlen(dst);
    if (n > best_len && !strncmp(path, dst, n) && (!path[n] || path[n] == '/')) {
      best = m;
      best_len = n;
    }
  }
  return best;
}

/* docker's refusals: a read-only rootfs, a read-only volume */
static int check_writable(struct container *c, const char *path, struct berth_err *err) {
  ctr_lock();
  json_t *m = mount_of(c->mounts, path);
  bool ro = m ? !json_is_true(json_object_get(m, "RW")) : c->opts->readonly_rootfs;
  bool tmpfs = false;
  for (size_t i = 0; !m && i < c->opts->n_tmpfs; i++) {
    const char *t = c->opts->tmpfs[i].target;
    size_t n = strlen(t);
    tmpfs = tmpfs || (!strncmp(path, t, n) && (!path[n] || path[n] == '/'));
  }
  ctr_unlock();
  if (!ro || tmpfs) return 0;
  return berth_err_set(err, BERTH_EINVAL, 0,
                       m ? "mounted volume is marked read-only"
                         : "container rootfs is marked "
                           "read-only");
}

int ctr_archive_put(struct daemon *d, struct container *c, const char *ref, const struct ctr_put *o,
                    int in, struct berth_err *err) {
  ctr_ahead_drop(d, c);
  if (!*o->path) return berth_err_set(err, BERTH_EINVAL, 0, "Path cannot be empty");
  if (check_writable(c, o->path, err) < 0) return -err->code;
  ctr_lock();
  cleanup_free char *user = xstrdup(c->opts->user);
  ctr_unlock();
  struct put_job j = {o->path, in,          o->no_overwrite_dir_non_dir, o->copy_uid_gid, user, 0,
                      0,       json_array()};
  int r = in_view(d, c, put_in, &j, err);
  json_decref(j.dirs);
  if (r == 0) ctr_event(c, "extract-to-dir", json_pack("{s:s}", "path", o->path));
  return r == -BERTH_ENOTFOUND ? not_found(o->path, ref, err) : r;
}
