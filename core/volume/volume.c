/* Volumes (volume.h): the records here, the data with the volume driver
 * (core/driver.h's drv_vol_*; the built-in one is plugins/volume-local). */
#include "volume.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "../driver.h"
#include "../events/events.h"
#include "../util/filters.h"
#include "../util/rmtree.h"
#include "../util/treesize.h"

struct volume {
  char *name, *driver;
  json_t *labels, *opts;
  int64_t created_ns;
  bool anonymous, populated;
};

static struct {
  pthread_mutex_t lock;
  struct volume **v;
  size_t n;
  char *root; /* <data-root>/volumes: <name>/volume.json */
  struct daemon *d;
} V = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, NULL, NULL};

bool vol_valid_name(const char *n) {
  if (!n || !isalnum((unsigned char)n[0]) || strlen(n) < 2 || strlen(n) > 255) return false;
  for (const char *p = n + 1; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_.-", *p)) return false;
  return true;
}

int vol_check_name(const char *n, struct berth_err *err) {
  if (vol_valid_name(n)) return 0;
  if (n && strlen(n) == 1) /* dockerd's local driver asks this first */
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "create %s: volume name is too short, names should be at least two "
                         "alphanumeric characters",
                         n);
  return berth_err_set(err, BERTH_EINVAL, 0,
                       "create %s: \"%s\" includes invalid characters for a local volume name, "
                       "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass "
                       "a host directory, use absolute path",
                       n ? n : "", n ? n : "");
}

static struct loaded_plugin *driver_of(const char *name) {
  return plugin_find_active(&V.d->plugins, BERTH_KIND_VOLUME, name);
}

static int no_driver(const char *name, struct berth_err *err) {
  return berth_err_set(err, BERTH_ENOTFOUND, 0,
                       "error looking up volume plugin %s: plugin \"%s\" not found", name, name);
}

/* DriverOpts as the ABI's key/value array (borrowed strings) */
static struct berth_kv *kv_of(json_t *opts, size_t *n) {
  struct berth_kv *kv = xcalloc(json_object_size(opts) + 1, sizeof *kv);
  const char *k;
  json_t *v;
  *n = 0;
  json_object_foreach(opts, k, v) {
    kv[(*n)++] = (struct berth_kv){sizeof *kv, k, json_string_value(v) ?: ""};
  }
  return kv;
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
  free(v->driver);
  json_decref(v->labels);
  json_decref(v->opts);
  free(v);
}

static int save_locked(const struct volume *v, struct berth_err *err) {
  json_t *j =
      json_pack("{s:s,s:s,s:O?,s:O?,s:I,s:b,s:b}", "Name", v->name, "Driver", v->driver, "Labels",
                v->labels, "Options", v->opts, "Created", (json_int_t)v->created_ns, "Anonymous",
                v->anonymous, "Populated", v->populated);
  cleanup_free char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  cleanup_free char *dir = xasprintf("%s/%s", V.root, v->name);
  cleanup_free char *path = xasprintf("%s/volume.json", dir);
  int r = mkdir_p(dir, 0755);
  if (r == 0) r = write_file_atomic(path, text, strlen(text), 0600);
  return r < 0 ? err_sys_(err, BERTH_EINTERNAL, -r, "save volume %s", v->name) : 0;
}

/* Labels and Options as created: docker shows null for ones never sent,
 * {} for ones sent empty */
static json_t *obj_or_null(json_t *j) {
  return json_is_object(j) ? json_incref(j) : NULL;
}

/* a directory without a record: a create a crash cut short (the local
 * driver's data, if any, goes through the driver) */
static void drop_orphan(const char *name) {
  struct loaded_plugin *local = driver_of("local");
  struct berth_err e = {0};
  if (local && drv_vol_remove(local, name, &e) < 0) {
    log_warn("volume %s has no record and cannot be removed: %s", name, e.msg);
    return;
  }
  cleanup_free char *dir = xasprintf("%s/%s", V.root, name);
  log_warn("volume %s has no record; removed", name);
  rm_tree_at(AT_FDCWD, dir);
}

static struct volume *load_record(const char *name, json_t *j) {
  struct volume *v = xcalloc(1, sizeof *v);
  v->name = xstrdup(name);
  v->driver = xstrdup(json_string_value(json_object_get(j, "Driver")) ?: "local");
  v->labels = obj_or_null(json_object_get(j, "Labels"));
  v->opts = obj_or_null(json_object_get(j, "Options"));
  v->created_ns = json_integer_value(json_object_get(j, "Created"));
  v->anonymous = json_is_true(json_object_get(j, "Anonymous"));
  v->populated = json_is_true(json_object_get(j, "Populated"));
  if (!driver_of(v->driver))
    log_warn("volume %s: its driver %s is not loaded; it cannot be mounted", name, v->driver);
  return v;
}

int vol_init(struct daemon *d, struct berth_err *err) {
  V.d = d;
  V.root = xasprintf("%s/volumes", d->cfg.data_root);
  int r = mkdir_p(V.root, 0701);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "mkdir %s", V.root);
  if (chmod(V.root, 0701) < 0) log_warn("chmod %s: %s", V.root, strerror(errno));
  DIR *dd = opendir(V.root);
  struct dirent *de;
  while (dd && (de = readdir(dd))) {
    if (!vol_valid_name(de->d_name)) continue;
    cleanup_free char *p = xasprintf("%s/%s/volume.json", V.root, de->d_name);
    json_t *j = json_load_file(p, 0, NULL);
    if (!j) {
      drop_orphan(de->d_name);
      continue;
    }
    V.v = xrealloc(V.v, (V.n + 1) * sizeof *V.v);
    V.v[V.n++] = load_record(de->d_name, j);
    json_decref(j);
  }
  if (dd) closedir(dd);
  log_info("volumes: %zu", V.n);
  return 0;
}

/* where the driver keeps it ("" when it cannot say) */
static void path_of(const struct volume *v, char path[BERTH_VOLUME_PATH_MAX]) {
  struct loaded_plugin *p = driver_of(v->driver);
  struct berth_err e = {0};
  if (!p || drv_vol_path(p, v->name, path, &e) < 0) path[0] = 0;
}

/* docker's Volume object */
static json_t *shown(const struct volume *v) {
  char created[64], path[BERTH_VOLUME_PATH_MAX];
  /* whole seconds, as docker's local driver shows it (time.RFC3339) */
  time_t secs = (time_t)(v->created_ns / 1000000000LL);
  struct tm tm;
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&secs, &tm));
  path_of(v, path);
  struct loaded_plugin *p = driver_of(v->driver);
  json_t *j = json_pack("{s:s,s:s,s:O?,s:s,s:s,s:O?,s:s}", "CreatedAt", created, "Driver",
                        v->driver, "Labels", v->labels, "Mountpoint", path, "Name", v->name,
                        "Options", v->opts, "Scope", p ? drv_vol_scope(p) : "local");
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct berth_err e = {0};
  json_t *status = p && drv_vol_get(p, v->name, &b, &e) == 0 && b.len
                       ? json_loadb(b.data, b.len, 0, NULL)
                       : NULL;
  if (json_is_object(status)) json_object_set(j, "Status", status);
  json_decref(status);
  free(b.data);
  return j;
}

static int check_create(const struct vol_create_req *r, struct berth_err *err) {
  const char *drv = r->driver && *r->driver ? r->driver : "local";
  if (!driver_of(drv)) {
    /* dockerd's words name the volume, the random name it would have had
     * when none was given */
    char hex[65];
    if (!r->name || !*r->name) random_hex(hex, 32);
    no_driver(drv, err);
    err_wrap(err, "create %s", r->name && *r->name ? r->name : hex);
    return -1;
  }
  return r->name && *r->name ? vol_check_name(r->name, err) : 0;
}

/* with V.lock held: the driver's volume, then the record (a volume
 * without a record is a create a crash cut short, removed at start-up) */
static struct volume *make_locked(const struct vol_create_req *r, struct berth_err *err) {
  struct volume *v = xcalloc(1, sizeof *v);
  char hex[65];
  random_hex(hex, 32);
  v->anonymous = !r->name || !*r->name;
  v->name = xstrdup(v->anonymous ? hex : r->name);
  v->driver = xstrdup(r->driver && *r->driver ? r->driver : "local");
  v->labels = obj_or_null(r->labels);
  v->opts = obj_or_null(r->opts);
  v->created_ns = now_ns();
  struct loaded_plugin *p = driver_of(v->driver);
  size_t n;
  cleanup_free struct berth_kv *kv = kv_of(v->opts, &n);
  struct berth_volume_create_req req = {sizeof req, v->name, kv, n};
  int rc = p ? drv_vol_create(p, &req, err) : no_driver(v->driver, err);
  if (rc < 0) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    snprintf(err->msg, sizeof err->msg, "create %s: %s", v->name, msg);
  } else if ((rc = save_locked(v, err)) < 0) {
    struct berth_err e = {0};
    drv_vol_remove(p, v->name, &e);
  }
  if (rc < 0) {
    vol_free(v);
    return NULL;
  }
  V.v = xrealloc(V.v, (V.n + 1) * sizeof *V.v);
  V.v[V.n++] = v;
  ev_emit("volume", "create", v->name, json_pack("{s:s}", "driver", v->driver));
  return v;
}

json_t *vol_create(struct daemon *d, const struct vol_create_req *r, bool *created,
                   struct berth_err *err) {
  (void)d;
  if (check_create(r, err) < 0) return NULL;
  pthread_mutex_lock(&V.lock);
  struct volume *v = r->name && *r->name ? find_locked(r->name) : NULL;
  *created = !v;
  const char *want = r->driver && *r->driver ? r->driver : "local";
  if (v && strcmp(v->driver, want)) {
    berth_err_set(err, BERTH_ECONFLICT, 0,
                  "create %s: volume name must be unique: a volume with this name exists with "
                  "driver \"%s\"",
                  v->name, v->driver);
    v = NULL;
    *created = false;
  } else if (!v) {
    v = make_locked(r, err);
  }
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

/* the driver's volume, then the record: a failed remove keeps both */
static int drop_locked(struct volume *v, struct berth_err *err) {
  struct loaded_plugin *p = driver_of(v->driver);
  int r = p ? drv_vol_remove(p, v->name, err) : no_driver(v->driver, err);
  if (r < 0) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    snprintf(err->msg, sizeof err->msg, "remove %s: %s", v->name, msg);
    return r;
  }
  cleanup_free char *dir = xasprintf("%s/%s", V.root, v->name);
  cleanup_free char *rec = xasprintf("%s/volume.json", dir);
  unlink(rec);
  if (rmdir(dir) < 0 && errno != ENOENT)
    log_warn("volume %s: rmdir %s: %s", v->name, dir, strerror(errno));
  for (size_t i = 0; i < V.n; i++)
    if (V.v[i] == v) {
      V.v[i] = V.v[--V.n];
      break;
    }
  ev_emit("volume", "destroy", v->name, json_pack("{s:s}", "driver", v->driver));
  vol_free(v);
  return 0;
}

int vol_remove(struct daemon *d, const char *name, bool force, json_t *users,
               struct berth_err *err) {
  (void)d;
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  int r = 0;
  if (!v && !force) r = berth_err_set(err, BERTH_ENOTFOUND, 0, "get %s: no such volume", name);
  if (v && json_array_size(users)) {
    char list[800] = ""; /* Go's []string: [id1 id2] */
    size_t at = 0, i;
    json_t *u;
    json_array_foreach(users, i, u) {
      int n = snprintf(list + at, sizeof list - at, "%s%s", i ? " " : "", json_string_value(u));
      if (n < 0 || (size_t)n >= sizeof list - at) break;
      at += (size_t)n;
    }
    r = berth_err_set(err, BERTH_ECONFLICT, 0, "remove %s: volume is in use - [%s]", name, list);
  }
  if (r == 0 && v) r = drop_locked(v, err);
  pthread_mutex_unlock(&V.lock);
  return r;
}

/* docker's volume filters: name as a regular expression, driver exactly,
 * label as a list, dangling one of true/1/false/0 (checked first) */
static bool matches(const struct volume *v, struct filters *f, int dangling,
                    bool (*in_use)(const char *)) {
  return filters_match(f, "name", v->name) && filters_exact(f, "driver", v->driver) &&
         filters_labels(f, "label", v->labels) && (dangling < 0 || dangling == !in_use(v->name));
}

/* -1 with no dangling filter, else 1 or 0; -2 and docker's 400 for another value */
static int dangling_of(struct filters *f, struct berth_err *err) {
  if (!filters_has(f, "dangling")) return -1;
  if (filters_exact(f, "dangling", "true") || filters_exact(f, "dangling", "1")) return 1;
  if (filters_exact(f, "dangling", "false") || filters_exact(f, "dangling", "0")) return 0;
  cleanup_free char *vals = filters_text(f, "dangling");
  berth_err_set(err, BERTH_EINVAL, 0, "Invalid filter 'dangling=%s'", vals);
  return -2;
}

json_t *vol_list(struct daemon *d, struct filters *f, bool (*in_use)(const char *name),
                 struct berth_err *err) {
  (void)d;
  static const char *const accepted[] = {"name", "driver", "label", "dangling", NULL};
  int dangling;
  if (filters_check(f, accepted, err) < 0 || (dangling = dangling_of(f, err)) == -2) return NULL;
  json_t *a = json_array();
  pthread_mutex_lock(&V.lock);
  for (size_t i = 0; i < V.n; i++)
    if (matches(V.v[i], f, dangling, in_use)) json_array_append_new(a, shown(V.v[i]));
  pthread_mutex_unlock(&V.lock);
  return json_pack("{s:o,s:n}", "Volumes", a, "Warnings");
}

int64_t vol_size(const char *name) {
  char path[BERTH_VOLUME_PATH_MAX] = "";
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  if (v) path_of(v, path);
  pthread_mutex_unlock(&V.lock);
  return *path ? (int64_t)tree_size(path) : 0;
}

json_t *vol_prune(struct daemon *d, struct filters *f, bool (*in_use)(const char *name),
                  struct berth_err *err) {
  (void)d;
  static const char *const accepted[] = {"label", "label!", "all", NULL};
  if (filters_check(f, accepted, err) < 0) return NULL;
  /* API 1.42: only anonymous volumes unless all=true */
  bool all = filters_exact(f, "all", "true") || filters_exact(f, "all", "1");
  if (filters_has(f, "all") && !all && !filters_exact(f, "all", "false") &&
      !filters_exact(f, "all", "0")) {
    cleanup_free char *vals = filters_text(f, "all");
    berth_err_set(err, BERTH_EINVAL, 0, "Invalid filter 'all=%s'", vals);
    return NULL;
  }
  all &= filters_has(f, "all");
  json_t *gone = json_array();
  int64_t bytes = 0;
  pthread_mutex_lock(&V.lock);
  for (size_t i = V.n; i-- > 0;) {
    struct volume *v = V.v[i];
    if ((!all && !v->anonymous) || in_use(v->name) || !filters_prune_labels(f, v->labels)) continue;
    char path[BERTH_VOLUME_PATH_MAX];
    path_of(v, path);
    int64_t size = *path ? (int64_t)tree_size(path) : 0;
    struct berth_err e = {0};
    cleanup_free char *name = xstrdup(v->name);
    if (drop_locked(v, &e) < 0) {
      log_warn("volume prune: %s", e.msg);
      continue;
    }
    bytes += size;
    json_array_append_new(gone, json_string(name));
  }
  pthread_mutex_unlock(&V.lock);
  return json_pack("{s:o,s:I}", "VolumesDeleted", gone, "SpaceReclaimed", (json_int_t)bytes);
}

char *vol_path(struct daemon *d, const char *name, struct berth_err *err) {
  (void)d;
  char path[BERTH_VOLUME_PATH_MAX] = "";
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  if (v) path_of(v, path);
  pthread_mutex_unlock(&V.lock);
  if (!v) berth_err_set(err, BERTH_ENOTFOUND, 0, "get %s: no such volume", name);
  return v && *path ? xstrdup(path) : NULL;
}

char *vol_mount(struct daemon *d, const char *name, const char *id, bool *fresh,
                struct berth_err *err) {
  (void)d;
  char path[BERTH_VOLUME_PATH_MAX] = "";
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  if (!v) {
    struct vol_create_req r = {name, "local", NULL, NULL};
    v = make_locked(&r, err);
  }
  struct loaded_plugin *p = v ? driver_of(v->driver) : NULL;
  int rc = !v ? -1 : p ? drv_vol_mount(p, name, id, path, err) : no_driver(v->driver, err);
  if (fresh) *fresh = v && !v->populated;
  pthread_mutex_unlock(&V.lock);
  return rc == 0 && *path ? xstrdup(path) : NULL;
}

void vol_mounted_event(const char *name, const char *id, const char *dest, const char *propagation,
                       bool rw) {
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  if (v)
    ev_emit("volume", "mount", name,
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "container", id, "destination", dest, "driver",
                      v->driver, "propagation", propagation, "read/write", rw ? "true" : "false"));
  pthread_mutex_unlock(&V.lock);
}

void vol_unmount(struct daemon *d, const char *name, const char *user, const char *ctr) {
  (void)d;
  pthread_mutex_lock(&V.lock);
  struct volume *v = find_locked(name);
  struct loaded_plugin *p = v ? driver_of(v->driver) : NULL;
  struct berth_err e = {0};
  if (p && drv_vol_unmount(p, name, user, &e) < 0) log_warn("volume %s: unmount: %s", name, e.msg);
  if (v)
    ev_emit("volume", "unmount", name,
            json_pack("{s:s,s:s}", "container", ctr, "driver", v->driver));
  pthread_mutex_unlock(&V.lock);
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
