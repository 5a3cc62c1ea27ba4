/* A container's mounts (mounts.h): -v host paths and volume names,
 * --volumes-from, anonymous volumes (Config.Volumes: -v /x and the image's
 * VOLUME), made at create into docker's MountPoints (c->mounts, kept in the
 * record and shown by inspect), and at start into the runtime's binds, a
 * fresh volume first filled with what the image has at its target. */
#include "mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "../daemon.h"
#include "../runtime/runtime.h"
#include "../volume/volume.h"

/* docker's MountPoint of a volume, from its Volume object */
static json_t *volume_point(json_t *vol, const char *target, const char *mode, bool rw) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "volume", "Name",
                   json_string_value(json_object_get(vol, "Name")) ?: "", "Source",
                   json_string_value(json_object_get(vol, "Mountpoint")) ?: "", "Destination",
                   target, "Driver", json_string_value(json_object_get(vol, "Driver")) ?: "local",
                   "Mode", mode, "RW", rw, "Propagation", "");
}

static bool has_target(json_t *points, const char *target) {
  size_t i;
  json_t *p;
  json_array_foreach(points, i, p) {
    if (!strcmp(json_string_value(json_object_get(p, "Destination")) ?: "", target)) return true;
  }
  return false;
}

static int anonymous_point(struct daemon *d, const struct vol_create_req *r, const char *target,
                           const char *mode, bool rw, json_t *points, struct berth_err *err) {
  bool created;
  json_t *vol = vol_create(d, r, &created, err);
  if (!vol) return -err->code;
  json_array_append_new(points, volume_point(vol, target, mode, rw));
  json_decref(vol);
  return 0;
}

/* -v: a named volume (made when missing, as docker's -v does) or a host
 * path (made when missing, as docker's -v does) */
static int bind_points(struct daemon *d, const struct ctr_opts *o, json_t *points,
                       struct berth_err *err) {
  for (size_t i = 0; i < o->n_binds; i++) {
    const struct ctr_bind *b = &o->binds[i];
    /* --mount's volume-driver and volume-opt, or --volume-driver: for a
     * volume made here */
    struct vol_create_req vr = {b->source, b->driver && *b->driver ? b->driver : o->volume_driver,
                                b->driver_opts, b->labels};
    if (b->volume && !b->source[0]) { /* --mount type=volume without a source */
      int r = anonymous_point(d, &vr, b->target, b->mode, !b->readonly, points, err);
      if (r < 0) return r;
      continue;
    }
    if (b->volume) {
      if (vol_check_name(b->source, err) < 0) return -err->code;
      bool created;
      json_t *vol = vol_exists(b->source) ? vol_inspect(d, b->source, err)
                                          : vol_create(d, &vr, &created, err);
      if (!vol) return -err->code;
      json_array_append_new(points, volume_point(vol, b->target, b->mode, !b->readonly));
      json_decref(vol);
      continue;
    }
    struct stat st;
    if (b->must_exist && stat(b->source, &st) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "invalid mount config for type \"bind\": bind source path does not "
                           "exist: %s",
                           b->source);
    int r = mkdir_p(b->source, 0755);
    if (r < 0 && r != -ENOTDIR && r != -EEXIST)
      return err_sys_(err, BERTH_EINVAL, -r, "create mountpoint %s", b->source);
    json_array_append_new(points,
                          json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source",
                                    b->source, "Destination", b->target, "Mode", b->mode, "RW",
                                    !b->readonly, "Propagation", b->propagation ?: "rprivate"));
  }
  return 0;
}

/* --volumes-from NAME[:ro|:rw]: the other container's mounts, at targets
 * not taken yet */
static int from_points(json_t *hc, json_t *points, struct berth_err *err) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "VolumesFrom"), i, v) {
    cleanup_free char *ref = xstrdup(json_string_value(v) ?: "");
    char *mode = strchr(ref, ':');
    if (mode) *mode++ = 0;
    if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid mode for volumes-from: %s", mode);
    struct container *t = ctr_get(ref);
    /* a 400: a 404 from create makes the docker CLI pull the image */
    if (!t) return berth_err_set(err, BERTH_EINVAL, 0, "No such container: %s", ref);
    ctr_lock();
    size_t k;
    json_t *p;
    json_array_foreach(t->mounts, k, p) {
      const char *dst = json_string_value(json_object_get(p, "Destination")) ?: "";
      if (has_target(points, dst)) continue;
      json_t *copy = json_deep_copy(p);
      if (mode) json_object_set_new(copy, "RW", json_boolean(!strcmp(mode, "rw")));
      json_array_append_new(points, copy);
    }
    ctr_unlock();
    ctr_put(t);
  }
  return 0;
}

/* Config.Volumes (-v /x, the image's VOLUME): an anonymous volume each */
static int anonymous_points(struct daemon *d, json_t *cfg, const char *driver, json_t *points,
                            struct berth_err *err) {
  struct vol_create_req req = {NULL, driver, NULL, NULL};
  const char *target;
  json_t *v;
  json_object_foreach(json_object_get(cfg, "Volumes"), target, v) {
    if (target[0] != '/' || !strcmp(target, "/"))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid mount path: '%s'", target);
    int r =
        has_target(points, target) ? 0 : anonymous_point(d, &req, target, "", true, points, err);
    if (r < 0) return r;
  }
  return 0;
}

/* the anonymous volumes among points, removed (a create that failed) */
static void drop_anonymous(struct daemon *d, json_t *points) {
  size_t i;
  json_t *p;
  json_array_foreach(points, i, p) {
    const char *name = json_string_value(json_object_get(p, "Name"));
    struct berth_err e = {0};
    if (name && vol_is_anonymous(name)) vol_remove(d, name, true, NULL, &e);
  }
}

int ctr_mounts_create(struct daemon *d, struct container *c, const struct ctr_opts *o,
                      struct berth_err *err) {
  json_t *points = json_array();
  int r = bind_points(d, o, points, err);
  if (r == 0) r = from_points(c->host_config, points, err);
  if (r == 0) r = anonymous_points(d, c->config, o->volume_driver, points, err);
  if (r < 0) {
    drop_anonymous(d, points);
    json_decref(points);
    return r;
  }
  c->mounts = points;
  return 0;
}

/* ---------------- users ---------------- */

static bool uses(const struct container *c, const char *name) {
  size_t i;
  json_t *p;
  json_array_foreach(c->mounts, i, p) {
    if (!strcmp(json_string_value(json_object_get(p, "Name")) ?: "", name)) return true;
  }
  return false;
}

json_t *ctr_volume_users(const char *name) {
  size_t n;
  struct container **all = ctr_list(&n);
  json_t *ids = json_array();
  ctr_lock();
  for (size_t i = 0; i < n; i++)
    if (!all[i]->removed && uses(all[i], name)) json_array_append_new(ids, json_string(all[i]->id));
  ctr_unlock();
  for (size_t i = 0; i < n; i++)
    ctr_put(all[i]);
  free(all);
  return ids;
}

bool ctr_volume_in_use(const char *name) {
  json_t *ids = ctr_volume_users(name);
  bool r = json_array_size(ids) > 0;
  json_decref(ids);
  return r;
}

void ctr_mounts_remove_anonymous(struct daemon *d, struct container *c) {
  size_t i;
  json_t *p;
  json_array_foreach(c->mounts, i, p) {
    const char *name = json_string_value(json_object_get(p, "Name"));
    if (!name || !vol_is_anonymous(name)) continue;
    json_t *users = ctr_volume_users(name);
    struct berth_err e = {0};
    if (!json_array_size(users) && vol_remove(d, name, true, users, &e) < 0)
      log_warn("volume %s: %s", name, e.msg);
    json_decref(users);
  }
}

/* ---------------- start ---------------- */

/* copy what the image has at target into a fresh volume, with owners and
 * modes (docker's copy-up); the image side is opened inside the rootfs */
static int volume_copy_dir(int from, int to);

/* with --userns-remap the rootfs shows the mapping's host ids; the volume
 * stores what the image stores (it is id-mapped into the container too) */
static __thread struct idmap copy_map;

static uid_t unmapped_uid(uid_t u) {
  return idmap_to_container(u, copy_map.uid, copy_map.size);
}

static gid_t unmapped_gid(gid_t g) {
  return idmap_to_container(g, copy_map.gid, copy_map.size);
}

static int copy_entry(int from, int to, const char *name, const struct stat *st) {
  if (S_ISDIR(st->st_mode)) {
    if (mkdirat(to, name, st->st_mode & 07777) < 0 && errno != EEXIST) return -errno;
    int a = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int b = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int r = a >= 0 && b >= 0 ? volume_copy_dir(a, b) : -errno;
    if (a >= 0) close(a);
    if (b >= 0) close(b);
    if (r < 0) return r;
  } else if (S_ISLNK(st->st_mode)) {
    char target[4096];
    ssize_t n = readlinkat(from, name, target, sizeof target - 1);
    if (n < 0) return -errno;
    target[n] = 0;
    if (symlinkat(target, to, name) < 0 && errno != EEXIST) return -errno;
  } else if (S_ISREG(st->st_mode)) {
    int a = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int b = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = a >= 0 && b >= 0 ? 0 : -errno;
    char buf[65536];
    for (ssize_t n; r == 0 && (n = read(a, buf, sizeof buf)) != 0;)
      if (n < 0 || write(b, buf, (size_t)n) != n) r = -EIO;
    if (a >= 0) close(a);
    if (b >= 0) close(b);
    if (r < 0) return r;
  } else {
    return 0; /* devices, fifos, sockets: not copied */
  }
  if (fchownat(to, name, unmapped_uid(st->st_uid), unmapped_gid(st->st_gid), AT_SYMLINK_NOFOLLOW) <
      0)
    return -errno;
  if (!S_ISLNK(st->st_mode) && fchmodat(to, name, st->st_mode & 07777, 0) < 0) return -errno;
  return 0;
}

static int volume_copy_dir(int from, int to) {
  int dfd = dup(from);
  DIR *dd = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!dd) {
    if (dfd >= 0) close(dfd);
    return -errno;
  }
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(dd))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    struct stat st;
    r = fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
            ? -errno
            : copy_entry(from, to, de->d_name, &st);
  }
  closedir(dd);
  return r;
}

static void copy_up(const char *rootfs, const char *target, const char *path, const char *name,
                    const struct idmap *map) {
  copy_map = map ? *map : (struct idmap){0};
  cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int src =
      rootfd >= 0 ? rt_openat_in_root(rootfd, target, O_RDONLY | O_DIRECTORY, 0) : -1;
  cleanup_close int dst = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0 || dst < 0) return; /* nothing there in the image */
  struct stat st;
  if (fstat(src, &st) == 0) {
    if (fchown(dst, unmapped_uid(st.st_uid), unmapped_gid(st.st_gid)) < 0 ||
        fchmod(dst, st.st_mode & 07777) < 0) {
    }
  }
  int r = volume_copy_dir(src, dst);
  if (r < 0) log_warn("volume %s: copying %s from the image: %s", name, target, strerror(-r));
}

/* an empty directory (nothing to hide by a copy) */
static bool empty_dir(const char *path) {
  DIR *dd = opendir(path);
  struct dirent *de;
  bool empty = true;
  while (dd && empty && (de = readdir(dd)))
    empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
  if (dd) closedir(dd);
  return empty;
}

size_t ctr_mounts_count(struct container *c) {
  ctr_lock();
  size_t n = json_array_size(c->mounts);
  ctr_unlock();
  return n;
}

ssize_t ctr_mounts_spec(struct daemon *d, struct container *c, struct rt_mount *out, char ***paths,
                        struct berth_err *err) {
  bool remap = ctr_remapped(d, c);
  ctr_lock();
  json_t *points = json_deep_copy(c->mounts);
  ctr_unlock();
  size_t n = 0, k = 0, i;
  json_t *p;
  *paths = xcalloc(3 * json_array_size(points) + 1, sizeof **paths); /* what out[] points to */
  json_array_foreach(points, i, p) {
    const char *type = json_string_value(json_object_get(p, "Type")) ?: "";
    const char *name = json_string_value(json_object_get(p, "Name"));
    const char *dst = json_string_value(json_object_get(p, "Destination")) ?: "";
    char *src = xstrdup(json_string_value(json_object_get(p, "Source")) ?: "");
    if (!strcmp(type, "volume") && name) {
      bool fresh = false;
      struct berth_err e = {0};
      char *path = vol_mount(d, name, c->id, &fresh, &e);
      if (!path) { /* dockerd's words; the start fails (500) */
        berth_err_set(err, BERTH_EINTERNAL, e.sys_errno, "error while mounting volume '%s': %s",
                      src, e.msg);
        free(src);
        json_decref(points);
        return -1;
      }
      free(src);
      src = path;
      const char *mode = json_string_value(json_object_get(p, "Mode")) ?: "";
      if (path && fresh && empty_dir(path) && !strstr(mode, "nocopy"))
        copy_up(c->rootfs, dst, path, name, remap ? &d->remap : NULL);
      if (path && fresh) vol_mark_populated(d, name);
    }
    char *target = xstrdup(dst);
    /* a bind's as given (rprivate when none was, docker's default) */
    const char *pw = json_string_value(json_object_get(p, "Propagation"));
    char *prop = pw && rt_propagation_flags(pw) ? xstrdup(pw) : NULL;
    (*paths)[k++] = src;
    (*paths)[k++] = target;
    if (prop) (*paths)[k++] = prop;
    out[n++] = (struct rt_mount){.source = src,
                                 .target = target,
                                 .readonly = !json_is_true(json_object_get(p, "RW")),
                                 .idmap = remap && !strcmp(type, "volume"),
                                 .propagation = prop,
                                 .fd = -1};
  }
  json_decref(points);
  return n;
}

/* c's named and anonymous volumes' mount points (a copy: a new reference) */
static json_t *volume_points(struct container *c) {
  ctr_lock();
  json_t *points = json_deep_copy(c->mounts), *out = json_array();
  ctr_unlock();
  size_t i;
  json_t *p;
  json_array_foreach(points, i, p) {
    if (json_string_value(json_object_get(p, "Name")) &&
        !strcmp(json_string_value(json_object_get(p, "Type")) ?: "", "volume"))
      json_array_append(out, p);
  }
  json_decref(points);
  return out;
}

static const char *str_of(json_t *p, const char *key) {
  return json_string_value(json_object_get(p, key)) ?: "";
}

/* each volume: mounted for user (mount), and its "mount" event told,
 * naming c, as dockerd tells it (tell) */
static void use_volumes(struct daemon *d, struct container *c, const char *user, bool mount,
                        bool tell) {
  json_t *points = volume_points(c), *p;
  size_t i;
  json_array_foreach(points, i, p) {
    struct berth_err e = {0};
    char *path = mount ? vol_mount(d, str_of(p, "Name"), user, NULL, &e) : NULL;
    if (mount && !path) log_warn("container %.12s: volume %s: %s", c->id, str_of(p, "Name"), e.msg);
    if (tell && (path || !mount))
      vol_mounted_event(str_of(p, "Name"), c->id, str_of(p, "Destination"),
                        str_of(p, "Propagation"), json_is_true(json_object_get(p, "RW")));
    free(path);
  }
  json_decref(points);
}

void ctr_mounts_announce(struct container *c) {
  use_volumes(NULL, c, NULL, false, true); /* the start mounted them */
}

void ctr_mounts_readopt(struct daemon *d, struct container *c) {
  use_volumes(d, c, c->id, true, false);
}

void ctr_mounts_take(struct daemon *d, struct container *c, const char *user) {
  use_volumes(d, c, user, true, true);
}

void ctr_mounts_let_go(struct daemon *d, struct container *c, const char *user) {
  json_t *points = volume_points(c), *p;
  size_t i;
  json_array_foreach(points, i, p) vol_unmount(d, str_of(p, "Name"), user, c->id);
  json_decref(points);
}

void ctr_mounts_release(struct daemon *d, struct container *c) {
  ctr_mounts_let_go(d, c, c->id);
}
