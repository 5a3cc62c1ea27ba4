/* local: berth's built-in volume driver, docker's layout and options.  A
 * volume's data is <root>/<name>/_data, root being <data-root>/volumes (the
 * host gives this built-in docker's directory).  Options as docker's local
 * driver takes them: none (a directory), or type= and device= (mount's:
 * type=tmpfs device=tmpfs o=size=…, type=ext4 device=/dev/…, type=none
 * o=bind device=<an existing absolute path>…); their options are kept
 * with host->state_put.  A typed one is mounted on _data when its first
 * user starts and unmounted when its last user has stopped, as docker's
 * (a tmpfs volume's content lasts while some container uses it). */
#include <berth/volume.h>
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
#include <unistd.h>

#include "../../core/util/rmtree.h"
#include "../../core/util/util.h"

/* the containers a typed volume is mounted for: ids under one name */
struct users {
  char *name;
  char **ids;
  size_t n;
  struct users *next;
};

struct local {
  const struct berth_host *host;
  pthread_mutex_t lock;
  struct users *users;
};

static struct users *users_of(struct local *l, const char *name, bool make) {
  struct users *u = l->users;
  while (u && strcmp(u->name, name))
    u = u->next;
  if (!u && make) {
    u = xcalloc(1, sizeof *u);
    u->name = xstrdup(name);
    u->next = l->users;
    l->users = u;
  }
  return u;
}

static void users_free(struct users *u) {
  for (size_t i = 0; i < u->n; i++)
    free(u->ids[i]);
  free(u->ids);
  free(u->name);
  free(u);
}

/* the volume goes: its entry too (berthd removes none a container uses) */
static void users_drop(struct local *l, const char *name) {
  pthread_mutex_lock(&l->lock);
  for (struct users **p = &l->users; *p; p = &(*p)->next)
    if (!strcmp((*p)->name, name)) {
      struct users *u = *p;
      *p = u->next;
      users_free(u);
      break;
    }
  pthread_mutex_unlock(&l->lock);
}

static ssize_t user_index(const struct users *u, const char *id) {
  for (size_t i = 0; u && i < u->n; i++)
    if (!strcmp(u->ids[i], id)) return (ssize_t)i;
  return -1;
}

struct opts {
  char type[32], device[4096], o[1024];
};

static char *data_dir(struct local *l, const char *name) {
  return xasprintf("%s/%s/_data", l->host->root_dir, name);
}

/* something is mounted on path (statx's mount-root attribute: a bind of a
 * directory of the same filesystem has the same st_dev) */
static bool mount_root(const char *path) {
  struct statx sx;
  return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 &&
         (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
         (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* "bind" or "rbind" among o='s words: the device is a path to bind, as
 * mount(8) and docker's mount package read it, whatever the type says */
static bool is_bind(const char *o) {
  for (const char *p = o; *p;) {
    size_t n = strcspn(p, ",");
    if ((n == 4 && !strncmp(p, "bind", 4)) || (n == 5 && !strncmp(p, "rbind", 5))) return true;
    p += n + (p[n] == ',');
  }
  return false;
}

static int parse_opts(const struct berth_volume_create_req *r, struct opts *o,
                      struct berth_err *err) {
  memset(o, 0, sizeof *o);
  for (size_t i = 0; i < r->n_opts; i++) {
    const struct berth_kv *kv = BERTH_ELEM(r->opts, i);
    char *dst = !strcmp(kv->key, "type")     ? o->type
                : !strcmp(kv->key, "device") ? o->device
                : !strcmp(kv->key, "o")      ? o->o
                                             : NULL;
    size_t cap = dst == o->type     ? sizeof o->type
                 : dst == o->device ? sizeof o->device
                                    : sizeof o->o;
    if (!dst) return berth_err_set(err, BERTH_EINVAL, 0, "invalid option: \"%s\"", kv->key);
    if (strlen(kv->value) >= cap)
      return berth_err_set(err, BERTH_EINVAL, 0, "option %s is too long", kv->key);
    strcpy(dst, kv->value);
  }
  if (!r->n_opts) return 0;
  /* dockerd's local driver: with any option, both of these (its words) */
  if (!o->device[0])
    return berth_err_set(err, BERTH_EINVAL, 0, "missing required option: \"device\"");
  if (!o->type[0]) return berth_err_set(err, BERTH_EINVAL, 0, "missing required option: \"type\"");
  struct stat st;
  if (is_bind(o->o) && (o->device[0] != '/' || stat(o->device, &st) < 0))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "a bind volume needs device=<an existing absolute path>, not \"%s\"",
                         o->device);
  return 0;
}

static int load_opts(struct local *l, const char *name, struct opts *o) {
  memset(o, 0, sizeof *o);
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct berth_err e = {0};
  if (l->host->state_get(l->host, name, "opts", &b, &e) < 0) return 0; /* a plain directory */
  char *text = xasprintf("%.*s", (int)b.len, b.data ? b.data : "");
  free(b.data);
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    if (!strcmp(line, "type")) snprintf(o->type, sizeof o->type, "%s", eq + 1);
    if (!strcmp(line, "device")) snprintf(o->device, sizeof o->device, "%s", eq + 1);
    if (!strcmp(line, "o")) snprintf(o->o, sizeof o->o, "%s", eq + 1);
  }
  free(text);
  return 0;
}

/* what the options say, on _data, unless it is there already (a berthd
 * that was killed leaves its mounts): the flags and data of o= as given,
 * as docker's local driver mounts them (nothing added) */
static int mount_opts(struct local *l, const char *name, const struct opts *o,
                      struct berth_err *err) {
  if (!o->type[0]) return 0;
  cleanup_free char *data = data_dir(l, name);
  if (mount_root(data)) return 0;
  char fsdata[sizeof o->o];
  unsigned long flags = mount_options(o->o, 0, fsdata, sizeof fsdata); /* docker's: o= alone */
  int r;
  if (!is_bind(o->o)) { /* the filesystem the type names, of the device (a tmpfs, a block
                         * device's, nfs with addr=<IP>...): as docker's mount.Mount */
    r = mount(o->device[0] ? o->device : o->type, data, o->type, flags, fsdata);
  } else { /* a bind ("bind" is data to the parser, dropped here), then its
            * flags (ro, noexec…) by a remount of it */
    r = mount(o->device, data, NULL, MS_BIND | MS_REC, NULL);
    if (r == 0 && flags && mount(NULL, data, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) {
      int e = errno;
      umount2(data, MNT_DETACH);
      errno = e;
      r = -1;
    }
  }
  if (r == 0) return 0;
  /* docker's words (its mount package's error: flags and data when set) */
  int e = errno;
  char es[64], fl[32] = "", dt[sizeof fsdata + 8] = "";
  if (flags) snprintf(fl, sizeof fl, ", flags: 0x%lx", flags);
  if (*fsdata) snprintf(dt, sizeof dt, ", data: %s", fsdata);
  return berth_err_set(err, BERTH_EINVAL, e, "failed to mount local volume: mount %s:%s%s%s: %s",
                       o->device, data, fl, dt, go_errstr(e, es, sizeof es));
}

static int local_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  (void)err;
  struct local *l = xcalloc(1, sizeof *l);
  l->host = host;
  pthread_mutex_init(&l->lock, NULL);
  /* a typed volume a killed berthd left mounted stays: berthd mounts it
   * again for each container it finds running (their users), and the
   * last one's stop unmounts it */
  *drv = l;
  return 0;
}

static void local_fini(void *drv) {
  struct local *l = drv;
  for (struct users *u = l->users, *next; u; u = next) {
    next = u->next;
    users_free(u);
  }
  pthread_mutex_destroy(&l->lock);
  free(l);
}

static int save_opts(struct local *l, const char *name, const struct opts *o,
                     struct berth_err *err) {
  if (!o->type[0]) return 0;
  cleanup_free char *text = xasprintf("type=%s\ndevice=%s\no=%s\n", o->type, o->device, o->o);
  return l->host->state_put(l->host, name, "opts", text, strlen(text), err);
}

static int local_remove(void *drv, const char *name, struct berth_err *err);

static int local_create(void *drv, const struct berth_volume_create_req *r, struct berth_err *err) {
  struct local *l = drv;
  struct opts o;
  if (parse_opts(r, &o, err) < 0) return -err->code;
  cleanup_free char *data = data_dir(l, r->name);
  struct stat st;
  if (stat(data, &st) == 0) return berth_err_set(err, BERTH_ECONFLICT, 0, "volume exists");
  int rc = mkdir_p(data, 0755);
  if (rc < 0) return berth_err_set(err, BERTH_EINTERNAL, -rc, "%s: %s", data, strerror(-rc));
  rc = save_opts(l, r->name, &o, err);
  if (rc < 0) {
    struct berth_err e = {0};
    local_remove(drv, r->name, &e);
  }
  return rc;
}

static int local_remove(void *drv, const char *name, struct berth_err *err) {
  struct local *l = drv;
  struct opts o;
  load_opts(l, name, &o);
  cleanup_free char *data = data_dir(l, name);
  if (o.type[0]) umount2(data, MNT_DETACH);
  if (mount_root(data)) /* never into a bound directory's files */
    return berth_err_set(err, BERTH_EINTERNAL, 0, "%s is still mounted", data);
  rm_tree_at(AT_FDCWD, data);
  users_drop(l, name);
  return l->host->state_del(l->host, name, NULL, err);
}

static int local_path(void *drv, const char *name, char *path, size_t len, struct berth_err *err) {
  cleanup_free char *data = data_dir(drv, name);
  struct stat st;
  if (stat(data, &st) < 0) return berth_err_set(err, BERTH_ENOTFOUND, 0, "no such volume");
  snprintf(path, len, "%s", data);
  return 0;
}

/* a typed volume: mounted for its first user, each id counted once (a
 * repeated mount of one id is one user) */
static int local_mount(void *drv, const char *name, const char *id, char *path, size_t len,
                       struct berth_err *err) {
  struct local *l = drv;
  struct opts o;
  load_opts(l, name, &o);
  if (!o.type[0]) return local_path(drv, name, path, len, err);
  pthread_mutex_lock(&l->lock);
  struct users *u = users_of(l, name, true);
  int r = u->n || mount_opts(l, name, &o, err) == 0 ? 0 : -err->code;
  if (r == 0 && user_index(u, id) < 0) {
    u->ids = xrealloc(u->ids, (u->n + 1) * sizeof *u->ids);
    u->ids[u->n++] = xstrdup(id);
  }
  pthread_mutex_unlock(&l->lock);
  return r < 0 ? r : local_path(drv, name, path, len, err);
}

/* its last user gone: unmounted (an id it does not count: nothing) */
static int local_unmount(void *drv, const char *name, const char *id, struct berth_err *err) {
  (void)err;
  struct local *l = drv;
  pthread_mutex_lock(&l->lock);
  struct users *u = users_of(l, name, false);
  ssize_t i = user_index(u, id);
  if (i >= 0) {
    free(u->ids[i]);
    u->ids[i] = u->ids[--u->n];
    if (!u->n) {
      cleanup_free char *data = data_dir(l, name);
      umount2(data, MNT_DETACH);
    }
  }
  pthread_mutex_unlock(&l->lock);
  return 0;
}

static int local_list(void *drv, struct berth_buf *out, struct berth_err *err) {
  struct local *l = drv;
  DIR *d = opendir(l->host->root_dir);
  struct dirent *de;
  int r = 0;
  while (r == 0 && d && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    cleanup_free char *data = data_dir(l, de->d_name);
    struct stat st;
    if (stat(data, &st) < 0) continue;
    r = l->host->buf_append(l->host, out, de->d_name, strlen(de->d_name));
    if (r == 0) r = l->host->buf_append(l->host, out, "\n", 1);
  }
  if (d) closedir(d);
  return r < 0 ? berth_err_set(err, BERTH_EINTERNAL, 0, "out of memory") : 0;
}

static const struct berth_volume_ops local_ops = {
    .struct_size = sizeof(struct berth_volume_ops),
    .scope = BERTH_VOLUME_SCOPE_LOCAL,
    .create = local_create,
    .remove = local_remove,
    .mount = local_mount,
    .unmount = local_unmount,
    .path = local_path,
    .list = local_list,
};

BERTH_PLUGIN(volume_local, .kind = BERTH_KIND_VOLUME, .name = "local", .version = "1.0.0",
             .description = "volumes under <data-root>/volumes, docker's local options",
             .init = local_init, .fini = local_fini, .ops = &local_ops)
