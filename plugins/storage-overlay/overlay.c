/* overlay: layers as overlayfs lower directories, the layout of moby's
 * overlay2.  <root>/<id>/diff holds a layer's own files (whiteouts as 0/0
 * character devices, opaque directories marked trusted.overlay.opaque=y),
 * <root>/<id>/lower lists its ancestors as short links "l/XXXX:l/YYYY" so
 * that long chains fit in one page of mount data.  Built as overlay.so and
 * linked against nothing of berth: it uses only the host table. */
#include <berth/storage.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/util/idmap.h"
#include "../../core/util/rmtree.h"
#include "../../core/util/spawn.h"
#include "../../core/util/treesize.h"

struct ovl {
  const struct berth_host *host;
  char root[4096];
  int fsapi; /* mount_overlay_fsapi: 1 works, -1 not on this kernel, 0 not tried (atomic) */
  /* root bound again, not recursively, at <run_dir>/layers: no mount is
   * under that bind, so overlayfs's private clone of each layer named
   * through it walks no list of mounts; named through root it walks every
   * container's rootfs mounted under root (~0.4 ms a mount with 1,000
   * running).  "": not bound (the layers are named through root). */
  char layers[4200];
};

#define LINK_LEN 26
#define TRASH ".removed" /* removals not yet deleted (ovl_remove) */

static void path_of(struct ovl *o, char *out, size_t len, const char *id, const char *leaf) {
  snprintf(out, len, "%s/%s%s%s", o->root, id, leaf ? "/" : "", leaf ? leaf : "");
}

static int rm_tree(const char *path) {
  return rm_tree_at(AT_FDCWD, path);
}

static int read_small(const char *path, char *out, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, out, len - 1);
  int e = errno;
  close(fd);
  if (n < 0) return -e;
  out[n] = 0;
  return (int)n;
}

/* The layer's small files (link, lower), durable before create returns,
 * with one journal commit instead of one each: all written and their
 * writeback started before the first fsync, whose commit then carries the
 * others' block allocations too (their own fsyncs find little left to do). */
static int write_small_files(const char *const path[], const char *const data[], size_t n) {
  int fd[2] = {-1, -1}, r = 0;
  for (size_t i = 0; i < n && i < 2 && r == 0; i++) {
    fd[i] = open(path[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(data[i]);
    if (fd[i] < 0 || write(fd[i], data[i], len) != (ssize_t)len)
      r = -(errno ? errno : EIO);
    else
      sync_file_range(fd[i], 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  for (size_t i = 0; i < n && i < 2 && r == 0; i++)
    if (fsync(fd[i]) < 0) r = -errno;
  for (size_t i = 0; i < 2; i++)
    if (fd[i] >= 0) close(fd[i]);
  return r;
}

/* Mount in a child that chdirs to the driver root, so the lowerdir list
 * can use short relative paths without changing berthd's own cwd.  The
 * child is spawn_vm's, not a fork (copying the page tables of a berthd
 * with 1,000 containers made each mount ~20 ms); it has its own cwd (no
 * CLONE_FS) and makes only system calls. */
struct mount_args {
  const char *root, *target, *data;
  const struct berth_storage_idmap *map; /* or NULL */
};

/* With an id mapping: the layers are an id-mapped copy of the driver's
 * root (an overlay itself cannot be id-mapped; its layers can), and the
 * mount is made as the mapping's root, whose credentials overlayfs keeps
 * for its work on the upper layer (as host root, ids it creates there
 * could not be mapped: EOVERFLOW, and it would mount read-only). */
static int mount_child(void *p) {
  const struct mount_args *a = p;
  if (a->map) {
    int tree = idmap_tree(a->root, a->map->userns_fd, false);
    if (tree < 0) _exit(-tree);
    struct idmap m = {a->map->uid, a->map->gid, a->map->size};
    if (fchdir(tree) < 0) _exit(errno);
    int r = idmap_become_root(&m);
    if (r < 0) _exit(-r);
  } else if (chdir(a->root) < 0) {
    _exit(errno);
  }
  if (mount("overlay", a->target, "overlay", 0, a->data) < 0) _exit(errno);
  _exit(0);
}

static int mount_overlay(struct ovl *o, const char *target, const char *data,
                         const struct berth_storage_idmap *map) {
  struct mount_args a = {o->root, target, data, map};
  pid_t pid = spawn_vm(mount_child, &a);
  if (pid < 0) return -errno;
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -errno;
  if (!WIFEXITED(status)) return -EIO;
  return -WEXITSTATUS(status);
}

/* The same mount with the kernel's mount API and "lowerdir+" (Linux 6.8):
 * each lower layer by its full path, one option each, so berthd needs no
 * child that chdirs for short relative paths.  -ENOSYS, -EINVAL or
 * -EOPNOTSUPP where the kernel has no such option (the child then). */
static int mount_overlay_fsapi(const char *base, const char *target, const char *lower,
                               const char *id) {
  int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return -errno;
  char p[4400];
  int r = fsconfig(fs, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0 ? -errno : 0;
  for (const char *l = lower; r == 0 && *l;) {
    size_t n = strcspn(l, ":");
    snprintf(p, sizeof p, "%s/%.*s", base, (int)n, l);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", p, 0) < 0) r = -errno;
    l += n + (l[n] == ':');
  }
  snprintf(p, sizeof p, "%s/%s/diff", base, id);
  if (r == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", p, 0) < 0) r = -errno;
  snprintf(p, sizeof p, "%s/%s/work", base, id);
  if (r == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "workdir", p, 0) < 0) r = -errno;
  if (r == 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) r = -errno;
  int m = r == 0 ? fsmount(fs, FSMOUNT_CLOEXEC, 0) : -1;
  if (r == 0 && m < 0) r = -errno;
  close(fs);
  if (r == 0 && move_mount(m, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) r = -errno;
  if (m >= 0) close(m);
  return r;
}

static int probe(struct ovl *o, struct berth_err *err) {
  char base[4200], l[4300], u[4300], w[4300], m[4300];
  snprintf(base, sizeof base, "%s/.probe", o->root);
  rm_tree(base);
  snprintf(l, sizeof l, "%s/l", base);
  snprintf(u, sizeof u, "%s/u", base);
  snprintf(w, sizeof w, "%s/w", base);
  snprintf(m, sizeof m, "%s/m", base);
  if (mkdir(base, 0700) < 0 || mkdir(l, 0700) < 0 || mkdir(u, 0700) < 0 || mkdir(w, 0700) < 0 ||
      mkdir(m, 0700) < 0) {
    int e = errno;
    rm_tree(base);
    return berth_err_set(err, BERTH_ESKIP, e, "cannot create probe directories: %s", strerror(e));
  }
  char data[600];
  snprintf(data, sizeof data, "lowerdir=.probe/l,upperdir=.probe/u,workdir=.probe/w");
  int r = mount_overlay(o, m, data, NULL);
  if (r == 0) umount2(m, MNT_DETACH);
  rm_tree(base);
  if (r < 0)
    return berth_err_set(err, BERTH_ESKIP, -r, "overlayfs is not usable on %s: %s", o->root,
                         strerror(-r));
  return 0;
}

static void late_reset(void);
static int late_push(const char *id, int fd, char *trash);

/* what removals an earlier run left in .removed: queued for deletion
 * (.removed itself made here) */
static void trash_sweep(struct ovl *o) {
  char t[4200];
  snprintf(t, sizeof t, "%s/" TRASH, o->root);
  if (mkdir(t, 0700) < 0 && errno != EEXIST) return;
  DIR *d = opendir(t);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char *p = NULL;
    if (asprintf(&p, "%s/%s", t, de->d_name) < 0) break;
    if (late_push(TRASH, -1, p) < 0) {
      rm_tree(p);
      free(p);
    }
  }
  if (d) closedir(d);
}

/* o->layers: root bound at <run_dir>/layers (an earlier run's bind
 * replaced), private; left "" where it cannot be made */
static void bind_layers(struct ovl *o) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/layers", o->host->run_dir);
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return;
  for (int i = 0; i < 16 && umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++) {
  }
  if (mount(o->root, dir, NULL, MS_BIND, NULL) < 0) return;
  if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0) {
    umount2(dir, MNT_DETACH);
    return;
  }
  snprintf(o->layers, sizeof o->layers, "%s", dir);
}

static int ovl_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  late_reset(); /* a driver loaded again after a fini */
  struct ovl *o = calloc(1, sizeof *o);
  if (!o) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  o->host = host;
  snprintf(o->root, sizeof o->root, "%s", host->root_dir);
  char l[4200];
  snprintf(l, sizeof l, "%s/l", o->root);
  if (mkdir(l, 0700) < 0 && errno != EEXIST) {
    free(o);
    return berth_err_set(err, BERTH_EINTERNAL, errno, "mkdir %s: %s", l, strerror(errno));
  }
  int r = probe(o, err);
  if (r < 0) {
    free(o);
    return r;
  }
  trash_sweep(o);
  bind_layers(o);
  *drv = o;
  return 0;
}

static void late_stop(void);

static void ovl_fini(void *drv) {
  late_stop();
  struct ovl *o = drv;
  if (*o->layers) umount2(o->layers, MNT_DETACH | UMOUNT_NOFOLLOW);
  free(drv);
}

static bool valid_id(const char *id) {
  return id && *id && strlen(id) < 200 && !strchr(id, '/') && id[0] != '.' && strcmp(id, "l");
}

static void new_link(char out[LINK_LEN + 1]) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  unsigned char rnd[LINK_LEN];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
    for (int i = 0; i < LINK_LEN; i++)
      rnd[i] = (unsigned char)random();
  }
  if (fd >= 0) close(fd);
  for (int i = 0; i < LINK_LEN; i++)
    out[i] = alphabet[rnd[i] % 32];
  out[LINK_LEN] = 0;
}

static int ovl_create(void *drv, const struct berth_storage_create_req *req,
                      struct berth_err *err) {
  struct ovl *o = drv;
  if (!valid_id(req->id) || (req->parent && !valid_id(req->parent)))
    return berth_err_set(err, BERTH_EINVAL, 0, "overlay: bad layer id");
  char dir[4300], p[4400];
  path_of(o, dir, sizeof dir, req->id, NULL);
  if (mkdir(dir, 0700) < 0) {
    if (errno == EEXIST)
      return berth_err_set(err, BERTH_ECONFLICT, EEXIST, "overlay: layer %s already exists",
                           req->id);
    return berth_err_set(err, BERTH_EINTERNAL, errno, "overlay: mkdir %s: %s", dir,
                         strerror(errno));
  }
  char lower[4096] = "";
  if (req->parent) {
    char plink[64], plower[4096] = "";
    path_of(o, p, sizeof p, req->parent, "link");
    if (read_small(p, plink, sizeof plink) < 0) {
      rm_tree(dir);
      return berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "overlay: parent layer %s not found",
                           req->parent);
    }
    path_of(o, p, sizeof p, req->parent, "lower");
    read_small(p, plower, sizeof plower);
    int n = snprintf(lower, sizeof lower, "l/%s%s%s", plink, *plower ? ":" : "", plower);
    if (n >= (int)sizeof lower - 1 || strlen(lower) > 3800) {
      rm_tree(dir);
      return berth_err_set(err, BERTH_EINVAL, 0, "overlay: too many layers under %s", req->id);
    }
  }
  char link[LINK_LEN + 1];
  new_link(link);
  const char *leaves[] = {"diff", "work", "merged"};
  for (size_t i = 0; i < 3; i++) {
    path_of(o, p, sizeof p, req->id, leaves[i]);
    if (mkdir(p, i == 0 ? 0755 : 0700) < 0) goto fail;
  }
  char target[300], lpath[4300];
  snprintf(target, sizeof target, "../%s/diff", req->id);
  snprintf(lpath, sizeof lpath, "%s/l/%s", o->root, link);
  if (symlink(target, lpath) < 0) goto fail;
  char lowerp[4400];
  path_of(o, p, sizeof p, req->id, "link");
  path_of(o, lowerp, sizeof lowerp, req->id, "lower");
  const char *paths[] = {p, lowerp}, *data[] = {link, lower};
  int r = write_small_files(paths, data, *lower ? 2 : 1);
  if (r < 0) {
    errno = -r;
    goto fail;
  }
  return 0;
fail:;
  int e = errno;
  unlink(lpath);
  rm_tree(dir);
  return berth_err_set(err, BERTH_EINTERNAL, e, "overlay: create %s: %s", req->id, strerror(e));
}

/* An overlay's unmount ends its superblock, and that syncs the whole
 * upper filesystem (0.5-3 ms here, more under I/O): on the path of every
 * stop.  The mount is detached at once with a reference held, and the
 * reference dropped (the sync) on a thread of the driver's.  A mount or a
 * removal of that layer takes it back first (overlayfs refuses a new
 * mount of an upper directory whose old superblock still lives).
 *
 * A removal is one rename: the layer's directory moves into <root>/.removed
 * (no layer id starts with a dot) and the same thread deletes it there, so
 * that rm and rmi wait for neither the sync nor the unlinks, and a crash
 * never leaves half a layer: what .removed holds at the next start goes. */
#define LATE_MAX 256
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct {
    char id[72];
    int fd;      /* a detached mount's reference, or -1 */
    char *trash; /* a tree to delete after, or NULL */
  } q[LATE_MAX];
  size_t n;
  char closing[72]; /* the detached mount the thread closes now */
  bool running, stopping;
  pthread_t thread;
} late = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *late_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&late.mu);
  for (;;) {
    while (!late.n && !late.stopping)
      pthread_cond_wait(&late.cv, &late.mu);
    if (!late.n) break;
    int fd = late.q[0].fd;
    char *trash = late.q[0].trash;
    if (!trash) memcpy(late.closing, late.q[0].id, sizeof late.closing);
    memmove(&late.q[0], &late.q[1], --late.n * sizeof late.q[0]);
    pthread_mutex_unlock(&late.mu);
    if (fd >= 0) close(fd);
    if (trash) rm_tree(trash);
    free(trash);
    pthread_mutex_lock(&late.mu);
    late.closing[0] = 0;
    pthread_cond_broadcast(&late.cv);
  }
  pthread_mutex_unlock(&late.mu);
  return NULL;
}

/* hand fd (holding id's detached mount; -1: none) and trash (a tree to
 * delete, taken) to the thread; 0, or -1: the caller does both itself */
static int late_push(const char *id, int fd, char *trash) {
  pthread_mutex_lock(&late.mu);
  if (!late.running && !late.stopping)
    late.running = pthread_create(&late.thread, NULL, late_main, NULL) == 0;
  bool ok = late.running && !late.stopping && late.n < LATE_MAX;
  if (ok) {
    snprintf(late.q[late.n].id, sizeof late.q[0].id, "%s", id);
    late.q[late.n].fd = fd;
    late.q[late.n++].trash = trash;
    pthread_cond_broadcast(&late.cv);
  }
  pthread_mutex_unlock(&late.mu);
  return ok ? 0 : -1;
}

/* id's detached superblock, if one waits (returned: the caller's to close)
 * or is being closed (waited for); removals queued under id are not its */
static int late_take(const char *id) {
  int fd = -1;
  pthread_mutex_lock(&late.mu);
  for (size_t i = 0; i < late.n; i++)
    if (!late.q[i].trash && !strncmp(late.q[i].id, id, sizeof late.q[0].id - 1)) {
      fd = late.q[i].fd;
      memmove(&late.q[i], &late.q[i + 1], (--late.n - i) * sizeof late.q[0]);
      break;
    }
  while (!strncmp(late.closing, id, sizeof late.closing - 1) && late.closing[0])
    pthread_cond_wait(&late.cv, &late.mu);
  pthread_mutex_unlock(&late.mu);
  return fd;
}

static void late_drop(const char *id) {
  int fd = late_take(id);
  if (fd >= 0) close(fd);
}

static void late_reset(void) {
  pthread_mutex_lock(&late.mu);
  late.stopping = late.running = false;
  pthread_mutex_unlock(&late.mu);
}

/* at fini: every one closed and deleted, the thread gone */
static void late_stop(void) {
  pthread_mutex_lock(&late.mu);
  late.stopping = true;
  bool running = late.running;
  pthread_cond_broadcast(&late.cv);
  pthread_mutex_unlock(&late.mu);
  if (running) pthread_join(late.thread, NULL);
}

/* id's mount detached; *hold: a reference on it (-1: none, or it was not
 * mounted), whose close ends the superblock */
static int detach(struct ovl *o, const char *id, int *hold, struct berth_err *err) {
  *hold = -1;
  if (!valid_id(id)) return berth_err_set(err, BERTH_EINVAL, 0, "overlay: bad layer id");
  char m[4400];
  path_of(o, m, sizeof m, id, "merged");
  int h = open(m, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (umount2(m, MNT_DETACH) < 0) {
    int e = errno;
    if (h >= 0) close(h);
    if (e != EINVAL && e != ENOENT)
      return berth_err_set(err, BERTH_EINTERNAL, e, "overlay: unmount %s: %s", m, strerror(e));
    return 0;
  }
  *hold = h;
  return 0;
}

static int ovl_unmount(void *drv, const char *id, struct berth_err *err) {
  int hold;
  int r = detach(drv, id, &hold, err);
  if (hold >= 0 && late_push(id, hold, NULL) < 0) close(hold);
  return r;
}

/* dir moved to a fresh name under .removed: that name (NULL: not moved) */
static char *to_trash(struct ovl *o, const char *id, const char *dir) {
  static unsigned seq;
  for (int i = 0; i < 100; i++) {
    unsigned n = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
    char *t = NULL;
    if (asprintf(&t, "%s/" TRASH "/%s.%u", o->root, id, n) < 0) return NULL;
    if (rename(dir, t) == 0) return t;
    int e = errno;
    free(t);
    if (e != EEXIST && e != ENOTEMPTY) return NULL;
  }
  return NULL;
}

static int ovl_remove(void *drv, const char *id, struct berth_err *err) {
  struct ovl *o = drv;
  int hold;
  int r = detach(o, id, &hold, err);
  if (r < 0) return r;
  /* the superblock (this one's, or an earlier unmount's) goes with it */
  int older = late_take(id);
  if (hold < 0) {
    hold = older;
  } else if (older >= 0) {
    close(older);
  }
  char p[4400], link[64];
  path_of(o, p, sizeof p, id, "link");
  if (read_small(p, link, sizeof link) > 0 && !strchr(link, '/')) {
    char lpath[4400];
    snprintf(lpath, sizeof lpath, "%s/l/%s", o->root, link);
    unlink(lpath);
  }
  path_of(o, p, sizeof p, id, NULL);
  char *trash = to_trash(o, id, p);
  if (trash && late_push(id, hold, trash) == 0) return 0;
  /* not moved, or no thread: here and now */
  if (hold >= 0) close(hold);
  r = rm_tree(trash ? trash : p);
  free(trash);
  if (r < 0)
    return berth_err_set(err, BERTH_EINTERNAL, -r, "overlay: remove %s: %s", id, strerror(-r));
  return 0;
}

static int ovl_exists(void *drv, const char *id, struct berth_err *err) {
  struct ovl *o = drv;
  if (!valid_id(id)) return 0;
  char p[4400];
  path_of(o, p, sizeof p, id, "diff");
  struct stat st;
  if (stat(p, &st) == 0) return 1;
  if (errno == ENOENT) return 0;
  return berth_err_set(err, BERTH_EINTERNAL, errno, "overlay: stat %s: %s", p, strerror(errno));
}

static int mount_layer(void *drv, const char *id, const struct berth_storage_idmap *map, char *out,
                       size_t out_len, struct berth_err *err) {
  struct ovl *o = drv;
  late_drop(id);
  int ex = ovl_exists(drv, id, err);
  if (ex < 0) return ex;
  if (!ex) return berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "overlay: layer %s not found", id);
  if (out_len < BERTH_STORAGE_PATH_MAX)
    return berth_err_set(err, BERTH_EINVAL, 0, "overlay: mount needs a %d-byte path buffer",
                         BERTH_STORAGE_PATH_MAX);
  char p[4400], lower[4096];
  path_of(o, p, sizeof p, id, "lower");
  int r;
  if (read_small(p, lower, sizeof lower) <= 0) {
    /* A base layer is its diff directory. */
    path_of(o, out, BERTH_STORAGE_PATH_MAX, id, "diff");
    if (!map) return 0;
    path_of(o, p, sizeof p, id, "diff");
    path_of(o, out, BERTH_STORAGE_PATH_MAX, id, "merged");
    mkdir(out, 0755);
    r = idmap_bind(p, out, map->userns_fd); /* a layer without a parent */
  } else {
    char data[4096];
    int n =
        snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s/diff,workdir=%s/work", lower, id, id);
    if (n >= (int)sizeof data)
      return berth_err_set(err, BERTH_EINVAL, 0, "overlay: mount data too long for %s", id);
    path_of(o, out, BERTH_STORAGE_PATH_MAX, id, "merged");
    r = -ENOSYS;
    int api = __atomic_load_n(&o->fsapi, __ATOMIC_RELAXED);
    if (!map && api >= 0) {
      r = mount_overlay_fsapi(*o->layers ? o->layers : o->root, out, lower, id);
      bool unsupported = r == -ENOSYS || r == -EINVAL || r == -EOPNOTSUPP;
      /* never worked here: the child from now on */
      if (unsupported && !api) __atomic_store_n(&o->fsapi, -1, __ATOMIC_RELAXED);
      if (r == 0 && !api) __atomic_store_n(&o->fsapi, 1, __ATOMIC_RELAXED);
    }
    if (r == -ENOSYS || r == -EINVAL || r == -EOPNOTSUPP) r = mount_overlay(o, out, data, map);
  }
  if (r < 0)
    return berth_err_set(err, BERTH_EINTERNAL, -r, "overlay: mount %s: %s", id, strerror(-r));
  return 0;
}

static int ovl_mount(void *drv, const char *id, const char *label, char *out, size_t out_len,
                     struct berth_err *err) {
  (void)label;
  return mount_layer(drv, id, NULL, out, out_len, err);
}

static int ovl_mount_idmapped(void *drv, const char *id, const char *label,
                              const struct berth_storage_idmap *map, char *out, size_t out_len,
                              struct berth_err *err) {
  (void)label;
  if (!map || map->struct_size < sizeof *map || map->userns_fd < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "overlay: mount_idmapped needs a mapping");
  return mount_layer(drv, id, map, out, out_len, err);
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

static int ovl_status(void *drv, struct berth_buf *out, struct berth_err *err) {
  struct ovl *o = drv;
  char rows[256];
  int n = snprintf(rows, sizeof rows,
                   "Backing Filesystem\t%s\nSupports d_type\ttrue\nUsing metacopy\tfalse\n",
                   backing_fs(o->root));
  return o->host->buf_append(o->host, out, rows, (size_t)n);
}

static int ovl_metadata(void *drv, const char *id, struct berth_buf *out, struct berth_err *err) {
  struct ovl *o = drv;
  char row[9000], lower[4096] = "", p[4400];
  path_of(o, p, sizeof p, id, "lower");
  read_small(p, lower, sizeof lower);
  int n = snprintf(row, sizeof row,
                   "UpperDir\t%s/%s/diff\nWorkDir\t%s/%s/work\nMergedDir\t%s/%s/merged\n", o->root,
                   id, o->root, id, o->root, id);
  int r = o->host->buf_append(o->host, out, row, (size_t)n);
  if (r == 0 && *lower) {
    n = snprintf(row, sizeof row, "LowerDir\t%s\n", lower);
    r = o->host->buf_append(o->host, out, row, (size_t)n);
  }
  return r;
}

static int ovl_apply_diff(void *drv, const char *id, const char *parent, struct berth_reader *tar,
                          uint64_t *size, struct berth_err *err) {
  struct ovl *o = drv;
  int ex = ovl_exists(drv, id, err);
  if (ex < 0) return ex;
  if (!ex) return berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "overlay: layer %s not found", id);
  char p[4400];
  path_of(o, p, sizeof p, id, "diff");
  return o->host->untar(o->host, tar, p, BERTH_UNTAR_WHITEOUT_OVERLAY, err);
}

static int ovl_diff_size(void *drv, const char *id, const char *parent, uint64_t *size,
                         struct berth_err *err) {
  struct ovl *o = drv;
  char p[4400];
  path_of(o, p, sizeof p, id, "diff");
  *size = tree_size(p);
  return 0;
}

/* ---- changes: the upper directory walked, each entry A (in no lower
 * layer), C (in one) or D (a whiteout); docker's overlay changes ---- */

struct walk {
  struct ovl *o;
  char lowers[32][4200]; /* the ancestors' diff directories, nearest first */
  int n_lowers;
  struct berth_buf *out;
  int err;
};

static bool in_lowers(const struct walk *w, const char *rel) {
  char p[8400];
  struct stat st;
  for (int i = 0; i < w->n_lowers; i++) {
    snprintf(p, sizeof p, "%s%s", w->lowers[i], rel);
    if (lstat(p, &st) == 0) return true;
  }
  return false;
}

static void row(struct walk *w, char kind, const char *rel) {
  char line[4200];
  int n = snprintf(line, sizeof line, "%c\t%s\n", kind, rel);
  if (n > 0 && n < (int)sizeof line && w->o->host->buf_append(w->o->host, w->out, line, (size_t)n))
    w->err = -ENOMEM;
}

/* dir: the upper directory's path for rel ("" at the top) */
static void walk_upper(struct walk *w, const char *dir, const char *rel) {
  DIR *d = opendir(dir);
  if (!d) {
    w->err = -errno;
    return;
  }
  struct dirent *de;
  while (w->err == 0 && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char path[4200], r[4200];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    snprintf(r, sizeof r, "%s/%s", rel, de->d_name);
    struct stat st;
    if (lstat(path, &st) < 0) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      row(w, 'D', r);
      continue;
    }
    row(w, in_lowers(w, r) ? 'C' : 'A', r);
    if (S_ISDIR(st.st_mode)) walk_upper(w, path, r);
  }
  closedir(d);
}

static int ovl_changes(void *drv, const char *id, const char *parent, struct berth_buf *out,
                       struct berth_err *err) {
  struct ovl *o = drv;
  (void)parent; /* the layer's own lower list says its ancestors */
  if (!valid_id(id)) return berth_err_set(err, BERTH_EINVAL, 0, "bad layer id %s", id);
  struct walk *w = calloc(1, sizeof *w);
  if (!w) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  w->o = o, w->out = out;
  char p[4400], lower[4096] = "";
  path_of(o, p, sizeof p, id, "lower");
  read_small(p, lower, sizeof lower);
  for (char *save = NULL, *l = strtok_r(lower, ":", &save); l && w->n_lowers < 32;
       l = strtok_r(NULL, ":", &save)) /* "l/XXXX" links to "../<id>/diff" */
    snprintf(w->lowers[w->n_lowers++], sizeof w->lowers[0], "%s/%s", o->root, l);
  path_of(o, p, sizeof p, id, "diff");
  walk_upper(w, p, "");
  int r = w->err;
  free(w);
  if (r < 0) return berth_err_set(err, BERTH_EINTERNAL, -r, "changes of %s: %s", id, strerror(-r));
  return 0;
}

static const struct berth_storage_ops ovl_ops = {
    .struct_size = sizeof(struct berth_storage_ops),
    .features = 0,
    .create = ovl_create,
    .remove = ovl_remove,
    .exists = ovl_exists,
    .mount = ovl_mount,
    .mount_idmapped = ovl_mount_idmapped,
    .unmount = ovl_unmount,
    .status = ovl_status,
    .metadata = ovl_metadata,
    .changes = ovl_changes,
    .apply_diff = ovl_apply_diff,
    .diff_size = ovl_diff_size,
};

/* thread-safe: no state but the root and the probe's answer (atomic); each
 * call works on its own layer's directories (the core never makes two calls
 * at once for one layer), and a mount that must chdir does it in a child.
 * Unmounts and removals of different containers (an overlay's unmount
 * syncs the upper filesystem) and a pull's apply_diff no longer wait for
 * one another. */
BERTH_PLUGIN_DEFINE(overlay, BERTH_KIND_STORAGE, "overlay", "1.0.0",
                    "overlayfs layers with short lower links (overlay2 layout)",
                    BERTH_PLUGIN_F_THREADSAFE, ovl_init, ovl_fini, &ovl_ops)
