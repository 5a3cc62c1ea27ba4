#include "driver.h"

#include <stdarg.h>

#include "fault.h"

/* "<driver>: <what>: <driver's message>", the driver's own "<driver>: "
 * prefix dropped so it is not said twice */
static int context(struct loaded_plugin *p, int r, struct berth_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int context(struct loaded_plugin *p, int r, struct berth_err *err, const char *fmt, ...) {
  if (r >= 0 || !err) return r;
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  char msg[sizeof err->msg];
  size_t nl = strlen(p->name);
  const char *m = err->msg;
  if (!strncmp(m, p->name, nl) && !strncmp(m + nl, ": ", 2)) m += nl + 2;
  snprintf(msg, sizeof msg, "%s", m[0] ? m : "failed");
  if (!err->code) err->code = -r;
  snprintf(err->msg, sizeof err->msg, "%s: %s: %s", p->name, what, msg);
  return r;
}

static int notsup(struct loaded_plugin *p, struct berth_err *err, const char *op) {
  return berth_err_set(err, BERTH_ENOTSUP, 0, "%s: the %s driver has no %s", p->name,
                       plugin_kind_name((int)p->desc.kind), op);
}

/* every call: the driver's lock unless it is thread-safe, and fault.h's
 * guard (a driver that crashed in its own code is disabled, not fatal) */
#define CALL(p, op, expr)                                                                          \
  ({                                                                                               \
    plugin_lock(p);                                                                                \
    int r_ = FAULT_CALL(p, op, err, expr);                                                         \
    plugin_unlock(p);                                                                              \
    r_;                                                                                            \
  })
#define CALL_VOID(p, op, expr)                                                                     \
  do {                                                                                             \
    plugin_lock(p);                                                                                \
    FAULT_CALL_VOID(p, op, expr);                                                                  \
    plugin_unlock(p);                                                                              \
  } while (0)

/* A thread-safe storage driver still never sees two calls at once for one
 * layer (storage.h): a call holds its id here meanwhile.  (A serialised
 * driver has that from its lock.) */
struct busy_id {
  const struct loaded_plugin *p;
  char id[72];
};
static pthread_mutex_t ids_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ids_cv = PTHREAD_COND_INITIALIZER;
static struct busy_id *busy;
static size_t n_busy, cap_busy;

/* where (p, id) is held, or -1 */
static ssize_t id_at_locked(const struct loaded_plugin *p, const char *id) {
  for (size_t i = 0; i < n_busy; i++)
    if (busy[i].p == p && !strncmp(busy[i].id, id, sizeof busy[i].id - 1)) return (ssize_t)i;
  return -1;
}

static bool id_hold(struct loaded_plugin *p, const char *id) {
  if (!(p->desc.flags & BERTH_PLUGIN_F_THREADSAFE) || !id) return false;
  pthread_mutex_lock(&ids_mu);
  while (id_at_locked(p, id) >= 0)
    pthread_cond_wait(&ids_cv, &ids_mu);
  if (n_busy == cap_busy)
    busy = xrealloc(busy, (cap_busy = cap_busy ? cap_busy * 2 : 16) * sizeof *busy);
  busy[n_busy].p = p;
  snprintf(busy[n_busy].id, sizeof busy[n_busy].id, "%s", id);
  n_busy++;
  pthread_mutex_unlock(&ids_mu);
  return true;
}

static void id_release(struct loaded_plugin *p, const char *id, bool held) {
  if (!held) return;
  pthread_mutex_lock(&ids_mu);
  ssize_t at = id_at_locked(p, id);
  if (at >= 0) busy[at] = busy[--n_busy];
  pthread_cond_broadcast(&ids_cv);
  pthread_mutex_unlock(&ids_mu);
}

/* CALL for a storage op on one layer */
#define CALL_ID(p, op, id, expr)                                                                   \
  ({                                                                                               \
    volatile bool held_ = id_hold(p, id);                                                          \
    int rr_ = CALL(p, op, expr);                                                                   \
    id_release(p, id, held_);                                                                      \
    rr_;                                                                                           \
  })

void drv_install_fault_handler(void) {
  fault_install("berthd");
}

/* ---- storage ---- */

int drv_storage_create(struct loaded_plugin *p, const struct berth_storage_create_req *req, bool rw,
                       struct berth_err *err) {
  const struct berth_storage_ops *o = &p->ops.storage;
  int r = rw && o->create_rw ? CALL_ID(p, "create_rw", req->id, o->create_rw(p->drv, req, err))
                             : CALL_ID(p, "create", req->id, o->create(p->drv, req, err));
  return context(p, r, err, "create %.12s", req->id);
}

int drv_storage_remove(struct loaded_plugin *p, const char *id, struct berth_err *err) {
  int r = CALL_ID(p, "remove", id, p->ops.storage.remove(p->drv, id, err));
  return context(p, r, err, "remove %.12s", id);
}

int drv_storage_exists(struct loaded_plugin *p, const char *id, struct berth_err *err) {
  int r = CALL_ID(p, "exists", id, p->ops.storage.exists(p->drv, id, err));
  return r < 0 ? context(p, r, err, "look for %.12s", id) : r > 0;
}

int drv_storage_mount(struct loaded_plugin *p, const char *id, const char *label,
                      char path[BERTH_STORAGE_PATH_MAX], struct berth_err *err) {
  int r = CALL_ID(
      p, "mount", id,
      p->ops.storage.mount(p->drv, id, label ? label : "", path, BERTH_STORAGE_PATH_MAX, err));
  return context(p, r, err, "mount %.12s", id);
}

int drv_storage_mount_idmapped(struct loaded_plugin *p, const char *id,
                               const struct berth_storage_idmap *map,
                               char path[BERTH_STORAGE_PATH_MAX], struct berth_err *err) {
  if (!p->ops.storage.mount_idmapped) return notsup(p, err, "mount_idmapped");
  int r = CALL_ID(
      p, "mount_idmapped", id,
      p->ops.storage.mount_idmapped(p->drv, id, "", map, path, BERTH_STORAGE_PATH_MAX, err));
  return context(p, r, err, "mount %.12s with an id mapping", id);
}

bool drv_storage_can_idmap(const struct loaded_plugin *p) {
  return p->ops.storage.mount_idmapped != NULL;
}

int drv_storage_unmount(struct loaded_plugin *p, const char *id, struct berth_err *err) {
  int r = CALL_ID(p, "unmount", id, p->ops.storage.unmount(p->drv, id, err));
  return context(p, r, err, "unmount %.12s", id);
}

int drv_storage_status(struct loaded_plugin *p, struct berth_buf *out, struct berth_err *err) {
  int r = CALL(p, "status", p->ops.storage.status(p->drv, out, err));
  return context(p, r, err, "status");
}

int drv_storage_metadata(struct loaded_plugin *p, const char *id, struct berth_buf *out,
                         struct berth_err *err) {
  if (!p->ops.storage.metadata) return notsup(p, err, "metadata");
  int r = CALL_ID(p, "metadata", id, p->ops.storage.metadata(p->drv, id, out, err));
  return context(p, r, err, "metadata %.12s", id);
}

int drv_storage_diff_size(struct loaded_plugin *p, const char *id, const char *parent,
                          uint64_t *size, struct berth_err *err) {
  if (!p->ops.storage.diff_size) return notsup(p, err, "diff_size");
  int r = CALL_ID(p, "diff_size", id, p->ops.storage.diff_size(p->drv, id, parent, size, err));
  return context(p, r, err, "size of %.12s", id);
}

int drv_storage_changes(struct loaded_plugin *p, const char *id, const char *parent,
                        struct berth_buf *out, struct berth_err *err) {
  if (!p->ops.storage.changes) return notsup(p, err, "changes");
  int r = CALL_ID(p, "changes", id, p->ops.storage.changes(p->drv, id, parent, out, err));
  return context(p, r, err, "changes of %.12s", id);
}

bool drv_storage_can_apply_diff(const struct loaded_plugin *p) {
  return p->ops.storage.apply_diff != NULL;
}

int drv_storage_apply_diff(struct loaded_plugin *p, const char *id, const char *parent,
                           struct berth_reader *tar, uint64_t *size, struct berth_err *err) {
  if (!p->ops.storage.apply_diff) return notsup(p, err, "apply_diff");
  int r =
      CALL_ID(p, "apply_diff", id, p->ops.storage.apply_diff(p->drv, id, parent, tar, size, err));
  /* a stream the driver refused (BERTH_EINVAL) is the sender's: its words
   * alone, as docker's "Error processing tar file(…): …" */
  if (r < 0 && err && err->code == BERTH_EINVAL) return r;
  return context(p, r, err, "apply layer %.12s", id);
}

/* ---- logger ---- */

bool drv_log_readable(const struct loaded_plugin *p) {
  const struct berth_logger_ops *o = &p->ops.logger;
  return (o->features & BERTH_LOG_F_READ) && o->read_open && o->read_next && o->read_close;
}

int drv_log_read_open(struct loaded_plugin *p, const struct berth_log_info *info,
                      const struct berth_log_read_cfg *cfg, void **reader, struct berth_err *err) {
  if (!drv_log_readable(p)) return notsup(p, err, "reading");
  int r = CALL(p, "read_open", p->ops.logger.read_open(p->drv, info, cfg, reader, err));
  return context(p, r, err, "read the log of %.12s", info->container_id);
}

int drv_log_read_next(struct loaded_plugin *p, void *reader, struct berth_log_msg *out,
                      int timeout_ms, struct berth_err *err) {
  return CALL(p, "read_next", p->ops.logger.read_next(reader, out, timeout_ms, err));
}

int drv_log_validate_opts(struct loaded_plugin *p, const struct berth_kv *opts, size_t n,
                          struct berth_err *err) {
  if (!p->ops.logger.validate_opts) return 0; /* the driver takes any option */
  /* its message is what docker users see ("unknown log opt ..."): no prefix */
  return CALL(p, "validate_opts", p->ops.logger.validate_opts(p->drv, opts, n, err));
}

void drv_log_read_close(struct loaded_plugin *p, void *reader) {
  if (!reader) return;
  CALL_VOID(p, "read_close", p->ops.logger.read_close(reader));
}

/* ---- network ---- */

int drv_net_create(struct loaded_plugin *p, const struct berth_net_create_req *req,
                   struct berth_err *err) {
  int r = CALL(p, "create_network", p->ops.network.create_network(p->drv, req, err));
  return context(p, r, err, "create network %s", req->name);
}

int drv_net_delete(struct loaded_plugin *p, const char *network_id, struct berth_err *err) {
  int r = CALL(p, "delete_network", p->ops.network.delete_network(p->drv, network_id, err));
  return context(p, r, err, "delete network %.12s", network_id);
}

int drv_net_create_endpoint(struct loaded_plugin *p, const struct berth_endpoint_req *req,
                            struct berth_err *err) {
  if (!p->ops.network.create_endpoint) return 0;
  int r = CALL(p, "create_endpoint", p->ops.network.create_endpoint(p->drv, req, err));
  return context(p, r, err, "create endpoint %.12s", req->endpoint_id);
}

int drv_net_join(struct loaded_plugin *p, const char *net, const char *ep, const char *netns,
                 struct berth_join_info *out, struct berth_err *err) {
  if (!p->ops.network.join) return 0;
  int r = CALL(p, "join", p->ops.network.join(p->drv, net, ep, netns, out, err));
  return context(p, r, err, "join endpoint %.12s", ep);
}

int drv_net_leave(struct loaded_plugin *p, const char *net, const char *ep, struct berth_err *err) {
  if (!p->ops.network.leave) return 0;
  int r = CALL(p, "leave", p->ops.network.leave(p->drv, net, ep, err));
  return context(p, r, err, "leave endpoint %.12s", ep);
}

int drv_net_delete_endpoint(struct loaded_plugin *p, const char *net, const char *ep,
                            struct berth_err *err) {
  if (!p->ops.network.delete_endpoint) return 0;
  int r = CALL(p, "delete_endpoint", p->ops.network.delete_endpoint(p->drv, net, ep, err));
  return context(p, r, err, "delete endpoint %.12s", ep);
}

int drv_net_publish(struct loaded_plugin *p, const char *net, const char *ep,
                    const struct berth_port_binding *const *ports, size_t n,
                    struct berth_err *err) {
  if (!p->ops.network.publish)
    return n ? berth_err_set(err, BERTH_ENOTSUP, 0, "%s: the network driver cannot publish ports",
                             p->name)
             : 0;
  int r = CALL(p, "publish", p->ops.network.publish(p->drv, net, ep, ports, n, err));
  return context(p, r, err, "publish the ports of endpoint %.12s", ep);
}

/* ---- registry ---- */

int drv_reg_open(struct loaded_plugin *p, const struct berth_reg_target *t, struct drv_reg *s,
                 struct berth_err *err) {
  s->p = p;
  s->sess = NULL;
  return CALL(p, "open", p->ops.registry.open(p->drv, t, &s->sess, err));
}

void drv_reg_close(struct drv_reg *s) {
  if (!s->sess) return;
  CALL_VOID(s->p, "close", s->p->ops.registry.close(s->sess));
  s->sess = NULL;
}

int drv_reg_get_manifest(struct drv_reg *s, const char *ref, const char *const *accept,
                         struct berth_buf *body, struct berth_reg_desc *desc,
                         struct berth_err *err) {
  return CALL(s->p, "get_manifest",
              s->p->ops.registry.get_manifest(s->sess, ref, accept, body, desc, err));
}

int drv_reg_stat_blob(struct drv_reg *s, const char *digest, struct berth_reg_desc *desc,
                      struct berth_err *err) {
  return CALL(s->p, "stat_blob", s->p->ops.registry.stat_blob(s->sess, digest, desc, err));
}

int drv_reg_get_blob(struct drv_reg *s, const char *digest, uint64_t offset,
                     struct berth_writer *out, struct berth_err *err) {
  return CALL(s->p, "get_blob", s->p->ops.registry.get_blob(s->sess, digest, offset, out, err));
}

int drv_reg_put_blob(struct drv_reg *s, const struct berth_reg_desc *desc, const char *mount_from,
                     struct berth_reader *in, struct berth_err *err) {
  return CALL(s->p, "put_blob", s->p->ops.registry.put_blob(s->sess, desc, mount_from, in, err));
}

int drv_reg_put_manifest(struct drv_reg *s, const char *ref, const char *media_type,
                         const void *body, size_t len, struct berth_reg_desc *out,
                         struct berth_err *err) {
  return CALL(s->p, "put_manifest",
              s->p->ops.registry.put_manifest(s->sess, ref, media_type, body, len, out, err));
}

int drv_reg_list_tags(struct drv_reg *s, struct berth_buf *tags, struct berth_err *err) {
  if (!s->p->ops.registry.list_tags) return notsup(s->p, err, "tag listing");
  return CALL(s->p, "list_tags", s->p->ops.registry.list_tags(s->sess, tags, err));
}

int drv_reg_login(struct loaded_plugin *p, const char *host, const struct berth_reg_auth *auth,
                  struct berth_err *err) {
  if (!p->ops.registry.login) return notsup(p, err, "login");
  return CALL(p, "login", p->ops.registry.login(p->drv, host, auth, NULL, err));
}

int drv_reg_search(struct loaded_plugin *p, const char *host, const struct berth_reg_auth *auth,
                   const char *term, uint32_t limit, struct berth_buf *out, struct berth_err *err) {
  if (p->ops.registry.search_as) { /* 1.2: with the client's credentials */
    struct berth_reg_target t = {sizeof t, host, "", auth, 0};
    return CALL(p, "search_as", p->ops.registry.search_as(p->drv, &t, term, limit, out, err));
  }
  if (!p->ops.registry.search) return notsup(p, err, "search");
  return CALL(p, "search", p->ops.registry.search(p->drv, host, term, limit, out, err));
}

/* ---- volume: the driver's message goes on as it is (the volume layer
 * says what it was doing, in docker's words: "create NAME: ...") ---- */

int drv_vol_create(struct loaded_plugin *p, const struct berth_volume_create_req *req,
                   struct berth_err *err) {
  return CALL(p, "create", p->ops.volume.create(p->drv, req, err));
}

int drv_vol_remove(struct loaded_plugin *p, const char *name, struct berth_err *err) {
  return CALL(p, "remove", p->ops.volume.remove(p->drv, name, err));
}

int drv_vol_mount(struct loaded_plugin *p, const char *name, const char *id,
                  char path[BERTH_VOLUME_PATH_MAX], struct berth_err *err) {
  path[0] = 0;
  int r = CALL(p, "mount", p->ops.volume.mount(p->drv, name, id, path, BERTH_VOLUME_PATH_MAX, err));
  path[BERTH_VOLUME_PATH_MAX - 1] = 0;
  return r;
}

int drv_vol_unmount(struct loaded_plugin *p, const char *name, const char *id,
                    struct berth_err *err) {
  return CALL(p, "unmount", p->ops.volume.unmount(p->drv, name, id, err));
}

int drv_vol_path(struct loaded_plugin *p, const char *name, char path[BERTH_VOLUME_PATH_MAX],
                 struct berth_err *err) {
  path[0] = 0;
  int r = CALL(p, "path", p->ops.volume.path(p->drv, name, path, BERTH_VOLUME_PATH_MAX, err));
  path[BERTH_VOLUME_PATH_MAX - 1] = 0;
  return r;
}

int drv_vol_get(struct loaded_plugin *p, const char *name, struct berth_buf *out,
                struct berth_err *err) {
  if (!p->ops.volume.get) return notsup(p, err, "get");
  return CALL(p, "get", p->ops.volume.get(p->drv, name, out, err));
}

int drv_vol_list(struct loaded_plugin *p, struct berth_buf *out, struct berth_err *err) {
  if (!p->ops.volume.list) return notsup(p, err, "list");
  return CALL(p, "list", p->ops.volume.list(p->drv, out, err));
}

const char *drv_vol_scope(const struct loaded_plugin *p) {
  return p->ops.volume.scope == BERTH_VOLUME_SCOPE_GLOBAL ? "global" : "local";
}
