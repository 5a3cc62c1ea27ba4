/* Volumes of the local driver (volume.h). */
#include "volume.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../util/rmtree.h"

static void rmtree(const char *path) {
  rm_tree_at(AT_FDCWD, path);
}

struct volume {
  char *name;
  json_t *labels, *opts;
  int64_t created_ns;
  bool anonymous, populated;
};

static struct {
  pthread_mutex_t lock;
  struct volume **v;
  size_t n;
  char *root; /* <data-root>/volumes */
} V = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, NULL};

bool vol_valid_name(const char *n) {
  if (!n || !isalnum((unsigned char)n[0]) || strlen(n) < 2 || strlen(n) > 255) return false;
  for (const char *p = n + 1; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_.-", *p)) return false;
  return true;
}

/* something is mounted on path (statx's mount-root attribute: a bind of a
 * directory of the same filesystem has the same st_dev) */
static bool mount_root(const char *path) {
  struct statx sx;
  return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 &&
         (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
         (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* ---- the local driver's options: type=tmpfs [o=size=…,mode=…], or
 * type=none o=bind device=/abs/path; mounted on _data while berthd runs ---- */

static const char *opt(json_t *opts, const char *k) {
  return json_string_value(json_object_get(opts, k));
}

static int check_opts(const char *name, json_t *opts, struct berth_err *err) {
  const char *k;
  json_t *v;
  json_object_foreach(opts, k, v) {
    if (strcmp(k, "type") && strcmp(k, "device") && strcmp(k, "o"))
      return berth_err_set(err, BERTH_EINVAL, 0, "create %s: invalid option: \"%s\"", name, k);
  }
  const char *type = opt(opts, "type"), *dev = opt(opts, "device"), *o = opt(opts, "o");
  if (!json_object_size(opts)) return 0;
  if (type && !strcmp(type, "tmpfs")) return 0;
  if (type && !strcmp(type, "none") && o && strstr(o, "bind")) {
    struct stat st;
    if (!dev || dev[0] != '/' || stat(dev, &st) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "create %s: a bind volume needs device=<an existing absolute path>, "
                           "not \"%s\"",
                           name, dev ? dev : "");
    return 0;
  }
  return berth_err_set(err, BERTH_ENOTSUP, 0,
                       "create %s: the local driver supports type=tmpfs and type=none with "
                       "o=bind; not type=%s",
                       name, type ? type : "(none)");
}

/* mount what the options say on _data, unless it is mounted already (a
 * berthd that was killed leaves its mounts) */
static int mount_opts(const struct volume *v, struct berth_err *err) {
  const char *type = opt(v->opts, "type");
  if (!type) return 0;
  cleanup_free char *data = xasprintf("%s/%s/_data", V.root, v->name);
  if (mount_root(data)) return 0;
  const char *o = opt(v->opts, "o");
  int r = !strcmp(type, "tmpfs")
              ? mount("tmpfs", data, "tmpfs", MS_NOSUID | MS_NODEV, o ? o : "")
              : mount(opt(v->opts, "device"), data, NULL, MS_BIND | MS_REC, NULL);
  return r < 0 ? err_sys(err, BERTH_EINVAL, "mount volume %s", v->name) : 0;
}

/* unmounted: true when nothing is mounted on _data any more (only then
 * may its directory be removed: a bound directory is the host's) */
static bool unmount_opts(const struct volume *v) {
  if (!opt(v->opts, "type")) return true;
  cleanup_free char *data = xasprintf("%s/%s/_data", V.root, v->name);
  umount2(data, MNT_DETACH);
  return !mount_root(data);
}

static struct volume *find_locked(const char *name) {
  for (size_t i = 0; i < V.n; i++)
    if (!strcmp(V.v[i]->name, name)) return V.v[i];
  return NULL;
}

bool vol_exists(const char *name) {
  pthread_mutex_lock(&V.lock);
  bool r = find_locked(name) != NULL;
  pthread_mutex_unlock(&V.lock);
  return r;
}

bool vol_is_anonymous(const char *name) {
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  bool r = v && v->anonymous;
  pthread_mutex_unlock(&V.lock);
  return r;
}

static void vol_free(struct volume *v) {
  if (!v) return;
  free(v->name);
  json_decref(v->labels);
  json_decref(v->opts);
  free(v);
}

static int save_locked(const struct volume *v, struct berth_err *err) {
  json_t *j = json_pack("{s:s,s:O,s:O,s:I,s:b,s:b}", "Name", v->name, "Labels", v->labels,
                        "Options", v->opts, "Created", (json_int_t)v->created_ns, "Anonymous",
                        v->anonymous, "Populated", v->populated);
  cleanup_free char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  cleanup_free char *path = xasprintf("%s/%s/volume.json", V.root, v->name);
  int r = write_file_atomic(path, text, strlen(text), 0600);
  return r < 0 ? err_sys_(err, BERTH_EINTERNAL, -r, "save volume %s", v->name) : 0;
}

static json_t *obj_or_empty(json_t *j) {
  return json_is_object(j) ? json_incref(j) : json_object();
}

int vol_init(struct daemon *d, struct berth_err *err) {
  V.root = xasprintf("%s/volumes", d->cfg.data_root);
  int r = mkdir_p(V.root, 0701);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "mkdir %s", V.root);
  DIR *dd = opendir(V.root);
  struct dirent *de;
  while (dd && (de = readdir(dd))) {
    if (!vol_valid_name(de->d_name)) continue;
    cleanup_free char *p = xasprintf("%s/%s/volume.json", V.root, de->d_name);
    json_t *j = json_load_file(p, 0, NULL);
    if (!j) { /* a create a crash cut short: its directory goes (unmounted first) */
      cleanup_free char *dir = xasprintf("%s/%s", V.root, de->d_name);
      cleanup_free char *data = xasprintf("%s/_data", dir);
      umount2(data, MNT_DETACH);
      log_warn("volume %s has no record; removed", de->d_name);
      if (!mount_root(data)) rmtree(dir);
      continue;
    }
    struct volume *v = xcalloc(1, sizeof *v);
    v->name = xstrdup(de->d_name);
    v->labels = obj_or_empty(json_object_get(j, "Labels"));
    v->opts = obj_or_empty(json_object_get(j, "Options"));
    v->created_ns = json_integer_value(json_object_get(j, "Created"));
    v->anonymous = json_is_true(json_object_get(j, "Anonymous"));
    v->populated = json_is_true(json_object_get(j, "Populated"));
    json_decref(j);
    struct berth_err e = {0};
    if (mount_opts(v, &e) < 0) log_warn("volume %s: %s", v->name, e.msg);
    V.v = xrealloc(V.v, (V.n + 1) * sizeof *V.v);
    V.v[V.n++] = v;
  }
  if (dd) closedir(dd);
  log_info("volumes: %zu", V.n);
  return 0;
}

/* docker's Volume object */
static json_t *shown(const struct volume *v) {
  char created[64];
  format_rfc3339(v->created_ns, created, sizeof created);
  json_t *j = json_pack("{s:s,s:s,s:O,s:s,s:O,s:s}", "CreatedAt", created, "Driver", "local",
                        "Labels", v->labels, "Name", v->name, "Options", v->opts, "Scope", "local");
  json_object_set_new(j, "Mountpoint", json_sprintf("%s/%s/_data", V.root, v->name));
  return j;
}

static int check_create(const struct vol_create_req *r, struct berth_err *err) {
  if (r->driver && *r->driver && strcmp(r->driver, "local"))
    return berth_err_set(err, BERTH_ENOTFOUND, 0,
                         "error looking up volume plugin %s: plugin \"%s\" not found", r->driver,
                         r->driver);
  if (r->name && *r->name && !vol_valid_name(r->name))
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "create %s: \"%s\" includes invalid characters for a local volume name, "
        "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a "
        "host directory, use absolute path",
        r->name, r->name);
  return check_opts(r->name && *r->name ? r->name : "volume", r->opts, err);
}

/* with V.lock held: the directory, then the record (a directory without a
 * record is a create a crash cut short, removed at start-up) */
static struct volume *make_locked(const struct vol_create_req *r, struct berth_err *err) {
  struct volume *v = xcalloc(1, sizeof *v);
  char hex[65];
  random_hex(hex, 32);
  v->anonymous = !r->name || !*r->name;
  v->name = xstrdup(v->anonymous ? hex : r->name);
  v->labels = obj_or_empty(r->labels);
  v->opts = obj_or_empty(r->opts);
  v->created_ns = now_ns();
  cleanup_free char *data = xasprintf("%s/%s/_data", V.root, v->name);
  int rc = mkdir_p(data, 0755);
  if (rc < 0) err_sys_(err, BERTH_EINTERNAL, -rc, "create %s", v->name);
  if (rc == 0) rc = mount_opts(v, err);
  if (rc == 0) rc = save_locked(v, err);
  if (rc < 0) {
    cleanup_free char *dir = xasprintf("%s/%s", V.root, v->name);
    if (unmount_opts(v)) rmtree(dir);
    vol_free(v);
    return NULL;
  }
  V.v = xrealloc(V.v, (V.n + 1) * sizeof *V.v);
  V.v[V.n++] = v;
  return v;
}

json_t *vol_create(struct daemon *d, const struct vol_create_req *r, bool *created,
                   struct berth_err *err) {
  (void)d;
  if (check_create(r, err) < 0) return NULL;
  pthread_mutex_lock(&V.lock);
  struct volume *v = r->name && *r->name ? find_locked(r->name) : NULL;
  *created = !v;
  if (!v) v = make_locked(r, err);
  json_t *j = v ? shown(v) : NULL;
  pthread_mutex_unlock(&V.lock);
  return j;
}

json_t *vol_inspect(struct daemon *d, const char *name, struct berth_err *err) {
  (void)d;
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  json_t *j = v ? shown(v) : NULL;
  pthread_mutex_unlock(&V.lock);
  if (!j) berth_err_set(err, BERTH_ENOTFOUND, 0, "get %s: no such volume", name);
  return j;
}

static void drop_locked(struct volume *v) {
  cleanup_free char *dir = xasprintf("%s/%s", V.root, v->name);
  cleanup_free char *rec = xasprintf("%s/volume.json", dir);
  unlink(rec);         /* the record first: a crash leaves a directory start-up removes */
  if (unmount_opts(v)) /* never into a bound directory's files */
    rmtree(dir);
  else
    log_warn("volume %s: %s/_data is still mounted; its directory is left", v->name, dir);
  for (size_t i = 0; i < V.n; i++)
    if (V.v[i] == v) {
      V.v[i] = V.v[--V.n];
      break;
    }
  vol_free(v);
}

int vol_remove(struct daemon *d, const char *name, bool force, json_t *users,
               struct berth_err *err) {
  (void)d;
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  int r = 0;
  if (!v && !force) r = berth_err_set(err, BERTH_ENOTFOUND, 0, "get %s: no such volume", name);
  if (v && json_array_size(users)) {
    cleanup_free char *list = json_dumps(users, JSON_COMPACT);
    for (char *p = list; *p; p++)
      if (*p == '"') *p = ' ';
    r = berth_err_set(err, BERTH_ECONFLICT, 0, "remove %s: volume is in use - %s", name, list);
  }
  if (r == 0 && v) drop_locked(v);
  pthread_mutex_unlock(&V.lock);
  return r;
}

static bool label_matches(json_t *labels, const char *want) {
  const char *eq = strchr(want, '=');
  cleanup_free char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
  json_t *v = json_object_get(labels, k);
  return v && (!eq || !strcmp(json_string_value(v) ?: "", eq + 1));
}

/* docker's volume filters: each key ANDed, its values ORed */
static bool matches(const struct volume *v, json_t *f, bool (*in_use)(const char *)) {
  const char *key;
  json_t *vals;
  json_object_foreach(f, key, vals) {
    bool any = false;
    size_t i;
    json_t *x;
    json_array_foreach(vals, i, x) {
      const char *val = json_string_value(x) ?: "";
      if (!strcmp(key, "name")) any |= strstr(v->name, val) != NULL;
      if (!strcmp(key, "driver")) any |= !strcmp(val, "local");
      if (!strcmp(key, "label")) any |= label_matches(v->labels, val);
      if (!strcmp(key, "dangling"))
        any |= (!strcmp(val, "true") || !strcmp(val, "1")) == !in_use(v->name);
      if (!strcmp(key, "all")) any = true;
    }
    if (!any) return false;
  }
  return true;
}

static int check_filters(json_t *f, struct berth_err *err) {
  const char *key;
  json_t *vals;
  json_object_foreach(f, key, vals) {
    if (strcmp(key, "name") && strcmp(key, "driver") && strcmp(key, "label") &&
        strcmp(key, "dangling") && strcmp(key, "all"))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid filter '%s'", key);
  }
  return 0;
}

json_t *vol_list(struct daemon *d, json_t *filters, bool (*in_use)(const char *name),
                 struct berth_err *err) {
  (void)d;
  if (check_filters(filters, err) < 0) return NULL;
  json_t *a = json_array();
  pthread_mutex_lock(&V.lock);
  for (size_t i = 0; i < V.n; i++)
    if (matches(V.v[i], filters, in_use)) json_array_append_new(a, shown(V.v[i]));
  pthread_mutex_unlock(&V.lock);
  return json_pack("{s:o,s:n}", "Volumes", a, "Warnings");
}

int64_t vol_size(const char *name) {
  pthread_mutex_lock(&V.lock);
  cleanup_free char *data = find_locked(name) ? xasprintf("%s/%s/_data", V.root, name) : NULL;
  pthread_mutex_unlock(&V.lock);
  return data ? (int64_t)dir_size(data) : 0;
}

json_t *vol_prune(struct daemon *d, json_t *filters, bool (*in_use)(const char *name),
                  struct berth_err *err) {
  (void)d;
  if (check_filters(filters, err) < 0) return NULL;
  bool all = json_object_get(filters, "all") != NULL;
  json_t *gone = json_array();
  int64_t bytes = 0;
  pthread_mutex_lock(&V.lock);
  for (size_t i = V.n; i-- > 0;) {
    struct volume *v = V.v[i];
    if ((!all && !v->anonymous) || in_use(v->name) || !matches(v, filters, in_use)) continue;
    cleanup_free char *data = xasprintf("%s/%s/_data", V.root, v->name);
    bytes += (int64_t)dir_size(data);
    json_array_append_new(gone, json_string(v->name));
    drop_locked(v);
  }
  pthread_mutex_unlock(&V.lock);
  return json_pack("{s:o,s:I}", "VolumesDeleted", gone, "SpaceReclaimed", (json_int_t)bytes);
}

char *vol_path(struct daemon *d, const char *name, bool create, bool *fresh,
               struct berth_err *err) {
  (void)d;
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  if (!v && create) {
    struct vol_create_req r = {name, "local", NULL, NULL};
    v = make_locked(&r, err);
  } else if (!v) {
    berth_err_set(err, BERTH_ENOTFOUND, 0, "get %s: no such volume", name);
  }
  char *p = v ? xasprintf("%s/%s/_data", V.root, v->name) : NULL;
  if (fresh) *fresh = v && !v->populated;
  pthread_mutex_unlock(&V.lock);
  return p;
}

void vol_mark_populated(struct daemon *d, const char *name) {
  (void)d;
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  struct berth_err e = {0};
  if (v && !v->populated) {
    v->populated = true;
    if (save_locked(v, &e) < 0) log_warn("volume %s: %s", name, e.msg);
  }
  pthread_mutex_unlock(&V.lock);
}
