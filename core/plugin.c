#include "plugin.h"

#include "fault.h"

#include <ctype.h>
#include <ltdl.h>
#include <stddef.h>

const char *plugin_kind_name(int kind) {
  switch (kind) {
  case BERTH_KIND_STORAGE: return "storage";
  case BERTH_KIND_NETWORK: return "network";
  case BERTH_KIND_LOGGER: return "log";
  case BERTH_KIND_REGISTRY: return "registry";
  case BERTH_KIND_VOLUME: return "volume";
  default: return "unknown";
  }
}

/* An op becomes required in a minor (since): a plugin built for an
 * older minor is loaded without it, so a 1.1 host still loads 1.0
 * plugins.  Ops a minor adds as required go here with their minor. */
struct required_op {
  int kind;
  const char *name;
  size_t offset;
  uint32_t since; /* the ABI minor that made it required */
};

#define OP(kind, type, field)                                                                      \
  { kind, #field, offsetof(struct type, field), 0 }
#define OP_SINCE(kind, type, field, minor)                                                         \
  { kind, #field, offsetof(struct type, field), minor }
static const struct required_op required_ops[] = {
    OP(BERTH_KIND_STORAGE, berth_storage_ops, create),
    OP(BERTH_KIND_STORAGE, berth_storage_ops, remove),
    OP(BERTH_KIND_STORAGE, berth_storage_ops, exists),
    OP(BERTH_KIND_STORAGE, berth_storage_ops, mount),
    OP(BERTH_KIND_STORAGE, berth_storage_ops, unmount),
    OP(BERTH_KIND_STORAGE, berth_storage_ops, status),
    OP(BERTH_KIND_NETWORK, berth_network_ops, create_network),
    OP(BERTH_KIND_NETWORK, berth_network_ops, delete_network),
    OP(BERTH_KIND_LOGGER, berth_logger_ops, open),
    OP(BERTH_KIND_LOGGER, berth_logger_ops, log),
    OP(BERTH_KIND_LOGGER, berth_logger_ops, close),
    OP(BERTH_KIND_REGISTRY, berth_registry_ops, open),
    OP(BERTH_KIND_REGISTRY, berth_registry_ops, close),
    OP(BERTH_KIND_REGISTRY, berth_registry_ops, get_manifest),
    OP(BERTH_KIND_REGISTRY, berth_registry_ops, stat_blob),
    OP(BERTH_KIND_REGISTRY, berth_registry_ops, get_blob),
    OP(BERTH_KIND_REGISTRY, berth_registry_ops, put_blob),
    OP(BERTH_KIND_REGISTRY, berth_registry_ops, put_manifest),
    OP_SINCE(BERTH_KIND_VOLUME, berth_volume_ops, create, 1),
    OP_SINCE(BERTH_KIND_VOLUME, berth_volume_ops, remove, 1),
    OP_SINCE(BERTH_KIND_VOLUME, berth_volume_ops, mount, 1),
    OP_SINCE(BERTH_KIND_VOLUME, berth_volume_ops, unmount, 1),
    OP_SINCE(BERTH_KIND_VOLUME, berth_volume_ops, path, 1),
};
#undef OP
#undef OP_SINCE

/* the ABI minor that brought each kind */
static uint32_t kind_since(int kind) {
  return kind == BERTH_KIND_VOLUME ? 1 : 0;
}

static size_t ops_size(int kind) {
  switch (kind) {
  case BERTH_KIND_STORAGE: return sizeof(struct berth_storage_ops);
  case BERTH_KIND_NETWORK: return sizeof(struct berth_network_ops);
  case BERTH_KIND_LOGGER: return sizeof(struct berth_logger_ops);
  case BERTH_KIND_REGISTRY: return sizeof(struct berth_registry_ops);
  case BERTH_KIND_VOLUME: return sizeof(struct berth_volume_ops);
  default: return 0;
  }
}

struct loaded_plugin *plugin_find(struct plugin_set *set, int kind, const char *name) {
  for (size_t i = 0; i < set->n; i++)
    if ((int)set->items[i]->desc.kind == kind && !strcmp(set->items[i]->name, name))
      return set->items[i];
  return NULL;
}

struct loaded_plugin *plugin_find_active(struct plugin_set *set, int kind, const char *name) {
  struct loaded_plugin *p = plugin_find(set, kind, name);
  return p && p->state == PLUGIN_ACTIVE ? p : NULL;
}

/* A driver name is a file name and a directory name under the data root:
 * letters, digits, '.', '_', '-', starting with a letter or digit. */
static bool valid_driver_name(const char *n) {
  size_t l = strlen(n);
  if (!l || l > 64 || !isalnum((unsigned char)n[0])) return false;
  for (const char *c = n; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') return false;
  return true;
}

static bool is_builtin_name(int kind, const char *name) {
  for (size_t i = 0; i < berth_n_builtin_plugins; i++)
    if (berth_builtin_plugins[i].kind == kind && !strcmp(berth_builtin_plugins[i].name, name))
      return true;
  return false;
}

/* Ops that only make sense together: a driver that advertises a feature
 * has every op of it. */
static int check_op_groups(const struct loaded_plugin *lp, const char *where,
                           struct berth_err *err) {
  if (lp->desc.kind == BERTH_KIND_LOGGER) {
    const struct berth_logger_ops *o = &lp->ops.logger;
    bool reads = o->features & BERTH_LOG_F_READ;
    const char *missing = !reads           ? NULL
                          : !o->read_open  ? "read_open"
                          : !o->read_next  ? "read_next"
                          : !o->read_close ? "read_close"
                                           : NULL;
    if (missing)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "plugin %s: log driver '%s' advertises reading (BERTH_LOG_F_READ) "
                           "but has no %s",
                           where, lp->desc.name, missing);
  }
  return 0;
}

/* The 1.0 descriptor ends with ops; anything shorter is truncated. */
#define DESC_MIN_SIZE (offsetof(struct berth_plugin, ops) + sizeof(void *))

int plugin_validate(struct plugin_set *set, const struct berth_plugin *p, int expect_kind,
                    const char *where, struct loaded_plugin **out, struct berth_err *err) {
  if (!p) return berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: entry point returned NULL", where);
  if (p->magic != BERTH_PLUGIN_MAGIC)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s: bad magic 0x%08x (expected 0x%08x): not a berth plugin", where,
                         p->magic, BERTH_PLUGIN_MAGIC);
  if (p->abi_major != BERTH_ABI_MAJOR)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s: built for plugin ABI %u.%u, but this berthd speaks ABI %u.%u: "
                         "rebuild the plugin against the berth %u.x headers",
                         where, p->abi_major, p->abi_minor, BERTH_ABI_MAJOR, BERTH_ABI_MINOR,
                         BERTH_ABI_MAJOR);
  if (p->abi_minor > BERTH_ABI_MINOR)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s: needs plugin ABI %u.%u, newer than this berthd's %u.%u: "
                         "upgrade berthd or use a build of the plugin made for ABI %u.%u",
                         where, p->abi_major, p->abi_minor, BERTH_ABI_MAJOR, BERTH_ABI_MINOR,
                         BERTH_ABI_MAJOR, BERTH_ABI_MINOR);
  if (p->struct_size < DESC_MIN_SIZE)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s: descriptor is %u bytes, ABI 1.0 needs at least %zu", where,
                         p->struct_size, DESC_MIN_SIZE);

  cleanup_free struct loaded_plugin *lp = xcalloc(1, sizeof *lp);
  memcpy(&lp->desc, p, p->struct_size < sizeof lp->desc ? p->struct_size : sizeof lp->desc);
  const char *kind_name = plugin_kind_name((int)lp->desc.kind);
  if (!ops_size((int)lp->desc.kind))
    return berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: unknown driver kind %u", where,
                         lp->desc.kind);
  if (lp->desc.abi_minor < kind_since((int)lp->desc.kind))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s: a %s driver built for ABI %u.%u, but %s drivers exist since "
                         "ABI 1.%u: rebuild it against the berth 1.%u headers",
                         where, kind_name, lp->desc.abi_major, lp->desc.abi_minor, kind_name,
                         kind_since((int)lp->desc.kind), kind_since((int)lp->desc.kind));
  if (expect_kind && (int)lp->desc.kind != expect_kind)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s is a %s driver, configured as a %s driver", where, kind_name,
                         plugin_kind_name(expect_kind));
  if (!lp->desc.name || !*lp->desc.name)
    return berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: descriptor has no name", where);
  if (!valid_driver_name(lp->desc.name))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s: driver name '%.80s' is not valid: use letters, digits, "
                         "'.', '_' and '-' (at most 64, a letter or digit first)",
                         where, lp->desc.name);
  /* a file that calls itself like a built-in would be listed as one thing
   * and run as the other (berth-shim, logs) */
  if (!str_has_prefix(where, "built-in:") && is_builtin_name((int)lp->desc.kind, lp->desc.name))
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "plugin %s: calls itself '%s', the name of a built-in %s driver: give "
                         "it another name",
                         where, lp->desc.name, kind_name);
  if (!lp->desc.init)
    return berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: required function 'init' is missing",
                         where);
  if (!lp->desc.ops)
    return berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: %s ops table is missing", where,
                         kind_name);
  uint32_t osz = *(const uint32_t *)lp->desc.ops;
  if (osz < sizeof(uint32_t) + sizeof(uint64_t))
    return berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: %s ops table has bad struct_size %u",
                         where, kind_name, osz);
  size_t mine = ops_size((int)lp->desc.kind);
  memcpy(&lp->ops, lp->desc.ops, osz < mine ? osz : mine);
  for (size_t i = 0; i < ARRAY_SIZE(required_ops); i++) {
    const struct required_op *r = &required_ops[i];
    if (r->kind != (int)lp->desc.kind || lp->desc.abi_minor < r->since) continue;
    void *fn;
    memcpy(&fn, (const char *)&lp->ops + r->offset, sizeof fn);
    if (!fn)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "plugin %s: required %s op '%s' is missing (driver '%s')", where,
                           kind_name, r->name, lp->desc.name);
  }
  int g = check_op_groups(lp, where, err);
  if (g < 0) return g;
  struct loaded_plugin *dup = plugin_find(set, (int)lp->desc.kind, lp->desc.name);
  if (dup)
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "plugin %s: a %s driver named '%s' is already loaded from %s", where,
                         kind_name, lp->desc.name, dup->origin);
  lp->name = xstrdup(lp->desc.name);
  lp->origin = xstrdup(where);
  lp->state = PLUGIN_LOADED;
  pthread_mutex_init(&lp->lock, NULL);
  *out = move_ptr(lp);
  return 0;
}

static void add_to_set(struct plugin_set *set, struct loaded_plugin *p) {
  set->items = xrealloc(set->items, (set->n + 1) * sizeof *set->items);
  set->items[set->n++] = p;
}

static char *canonical_ident(const char *name) {
  char *s = xstrdup(name);
  for (char *c = s; *c; c++)
    if (!isalnum((unsigned char)*c)) *c = '_';
  return s;
}

static int ltdl_ready(struct berth_err *err) {
  static int done;
  if (!done && lt_dlinit() != 0)
    return berth_err_set(err, BERTH_EINTERNAL, 0, "libltdl: %s", lt_dlerror());
  done = 1;
  return 0;
}

int plugin_load(struct plugin_set *set, const char *plugin_dir, int kind, const char *name_or_path,
                struct loaded_plugin **out, struct berth_err *err) {
  struct loaded_plugin *lp = NULL;
  int r;
  bool abs = name_or_path[0] == '/';
  if (!abs && strchr(name_or_path, '/'))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "%s driver '%s': give a bare name or an absolute path",
                         plugin_kind_name(kind), name_or_path);
  if (!abs) {
    for (size_t i = 0; i < berth_n_builtin_plugins; i++) {
      const struct builtin_plugin *b = &berth_builtin_plugins[i];
      if (b->kind != kind || strcmp(b->name, name_or_path)) continue;
      cleanup_free char *where = xasprintf("built-in:%s", b->name);
      r = plugin_validate(set, b->entry(), kind, where, &lp, err);
      if (r < 0) return r;
      free(lp->origin);
      lp->origin = xstrdup("built-in");
      add_to_set(set, lp);
      if (out) *out = lp;
      return 0;
    }
  }
  if ((r = ltdl_ready(err)) < 0) return r;
  cleanup_free char *path =
      abs ? xstrdup(name_or_path) : xasprintf("%s/%s.so", plugin_dir, name_or_path);
  if (!path_exists(path))
    return berth_err_set(err, BERTH_ENOTFOUND, ENOENT,
                         "%s driver '%s' not found: no built-in of that name and no file %s",
                         plugin_kind_name(kind), name_or_path, path);
  lt_dlhandle h = lt_dlopen(path);
  if (!h)
    return berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: cannot load: %s (check it with ldd)",
                         path, lt_dlerror());
  /* <ident>_LTX_berth_plugin_entry, ident from the file's base name. */
  cleanup_free char *base = xstrdup(strrchr(path, '/') + 1);
  char *dot = strchr(base, '.');
  if (dot) *dot = 0;
  cleanup_free char *ident = canonical_ident(base);
  cleanup_free char *sym = xasprintf("%s_LTX_berth_plugin_entry", ident);
  berth_plugin_entry_fn entry = (berth_plugin_entry_fn)lt_dlsym(h, sym);
  if (!entry) {
    lt_dlclose(h);
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "plugin %s: no entry symbol %s: not a berth plugin, or built with "
                         "BERTH_PLUGIN_DEFINE for another file name",
                         path, sym);
  }
  r = plugin_validate(set, entry(), kind, path, &lp, err);
  if (r < 0) {
    lt_dlclose(h);
    return r;
  }
  if (!abs && strcmp(lp->name, name_or_path)) {
    r = berth_err_set(err, BERTH_EINVAL, 0, "plugin %s: calls itself '%s', configured as '%s'",
                      path, lp->name, name_or_path);
    free(lp->name);
    free(lp->origin);
    free(lp);
    lt_dlclose(h);
    return r;
  }
  lp->handle = h;
  fault_note_text(lp, (const void *)entry);
  add_to_set(set, lp);
  if (out) *out = lp;
  return 0;
}

struct loaded_plugin *plugin_add_failed(struct plugin_set *set, int kind, const char *configured,
                                        const char *why) {
  struct loaded_plugin *lp = xcalloc(1, sizeof *lp);
  lp->desc.kind = (uint32_t)kind;
  lp->name = xstrdup(configured[0] == '/' ? strrchr(configured, '/') + 1 : configured);
  lp->origin = xstrdup(configured);
  lp->state = PLUGIN_FAILED;
  snprintf(lp->status, sizeof lp->status, "%s", why);
  pthread_mutex_init(&lp->lock, NULL);
  add_to_set(set, lp);
  return lp;
}

int plugin_init(struct loaded_plugin *p, struct berth_config *cfg, struct berth_err *err) {
  int r = host_setup(p, cfg, err);
  if (r < 0) {
    p->state = PLUGIN_FAILED;
    snprintf(p->status, sizeof p->status, "%s", err->msg);
    return r;
  }
  struct berth_err e = {0};
  r = FAULT_CALL(p, "init", &e, p->desc.init(&p->host, &p->drv, &e));
  if (r < 0) {
    if (!e.code) e.code = -r;
    p->state = e.code == BERTH_ESKIP ? PLUGIN_SKIPPED : PLUGIN_FAILED;
    snprintf(p->status, sizeof p->status, "%s", e.msg);
    return berth_err_set(err, e.code, e.sys_errno, "%s driver %s: %s",
                         plugin_kind_name((int)p->desc.kind), p->name, e.msg);
  }
  p->state = PLUGIN_ACTIVE;
  snprintf(p->status, sizeof p->status, "active");
  return 0;
}

const char *plugin_status(const struct loaded_plugin *p, char *buf, size_t len) {
  if (__atomic_load_n(&p->faulted, __ATOMIC_ACQUIRE))
    snprintf(buf, len, "disabled: crashed (signal %d) in op %s", p->fault_sig,
             p->fault_op ? p->fault_op : "?");
  else
    snprintf(buf, len, "%s", p->status);
  return buf;
}

void plugin_set_free(struct plugin_set *set) {
  for (size_t i = set->n; i-- > 0;) {
    struct loaded_plugin *p = set->items[i];
    if (p->state == PLUGIN_ACTIVE && p->desc.fini) FAULT_CALL_VOID(p, "fini", p->desc.fini(p->drv));
    host_free(p);
    /* Plugins are never unloaded: a thread may still hold code pointers. */
    pthread_mutex_destroy(&p->lock);
    free(p->name);
    free(p->origin);
    free(p);
  }
  free(set->items);
  set->items = NULL;
  set->n = 0;
}
