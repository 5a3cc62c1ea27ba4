/* The one layer that calls driver ops.  Per kind, typed functions that
 * apply plugin.h's threading rule (calls are serialised on the driver's
 * lock unless it is flagged BERTH_PLUGIN_F_THREADSAFE), check optional ops
 * for NULL (ENOTSUP, or the fallback named below), and add one layer of
 * context to a driver's message ("overlay: mount <id>: ...").  Registry
 * messages are passed on as the driver wrote them: they are what docker
 * shows its users, and the pull/push engine says what it was doing.
 * Nothing outside this file touches loaded_plugin.ops (the loader and the
 * shim's log writer aside). */
#ifndef BERTH_DRIVER_H
#define BERTH_DRIVER_H

#include "plugin.h"

/* berthd's SIGSEGV/SIGBUS/SIGILL/SIGFPE handler (core/fault.h): it writes
 * which driver and op the faulting thread was in; a fault in a loaded
 * driver's own code disables that driver (its calls then fail with
 * EUNAVAILABLE) and berthd goes on, anything else kills berthd. */
void drv_install_fault_handler(void);

/* ---- storage ---- */
/* rw: a container's layer (create_rw; create when the driver has none) */
int drv_storage_create(struct loaded_plugin *p, const struct berth_storage_create_req *req, bool rw,
                       struct berth_err *err);
int drv_storage_remove(struct loaded_plugin *p, const char *id, struct berth_err *err);
/* 1 present, 0 absent, -code when the driver cannot tell */
int drv_storage_exists(struct loaded_plugin *p, const char *id, struct berth_err *err);
int drv_storage_mount(struct loaded_plugin *p, const char *id, const char *label,
                      char path[BERTH_STORAGE_PATH_MAX], struct berth_err *err);
int drv_storage_unmount(struct loaded_plugin *p, const char *id, struct berth_err *err);
/* mount with an id mapping (ABI 1.3, optional: ENOTSUP without) */
int drv_storage_mount_idmapped(struct loaded_plugin *p, const char *id,
                               const struct berth_storage_idmap *map,
                               char path[BERTH_STORAGE_PATH_MAX], struct berth_err *err);
bool drv_storage_can_idmap(const struct loaded_plugin *p);
int drv_storage_status(struct loaded_plugin *p, struct berth_buf *out, struct berth_err *err);
/* optional: ENOTSUP when the driver has no such op */
int drv_storage_metadata(struct loaded_plugin *p, const char *id, struct berth_buf *out,
                         struct berth_err *err);
int drv_storage_diff_size(struct loaded_plugin *p, const char *id, const char *parent,
                          uint64_t *size, struct berth_err *err);
/* "K\tpath\n" rows (K: A, C, D); ENOTSUP when the driver has no changes op */
int drv_storage_changes(struct loaded_plugin *p, const char *id, const char *parent,
                        struct berth_buf *out, struct berth_err *err);
/* ENOTSUP: the caller extracts into a mount itself */
int drv_storage_apply_diff(struct loaded_plugin *p, const char *id, const char *parent,
                           struct berth_reader *tar, uint64_t *size, struct berth_err *err);
bool drv_storage_can_apply_diff(const struct loaded_plugin *p);

/* ---- logger (reading back; the shim writes) ---- */
bool drv_log_readable(const struct loaded_plugin *p);
int drv_log_read_open(struct loaded_plugin *p, const struct berth_log_info *info,
                      const struct berth_log_read_cfg *cfg, void **reader, struct berth_err *err);
int drv_log_read_next(struct loaded_plugin *p, void *reader, struct berth_log_msg *out,
                      int timeout_ms, struct berth_err *err);
void drv_log_read_close(struct loaded_plugin *p, void *reader);
/* a container's --log-opt, checked at create; 0 when the driver has no
 * validate_opts */
int drv_log_validate_opts(struct loaded_plugin *p, const struct berth_kv *opts, size_t n,
                          struct berth_err *err);

/* ---- network ---- */
int drv_net_create(struct loaded_plugin *p, const struct berth_net_create_req *req,
                   struct berth_err *err);
int drv_net_delete(struct loaded_plugin *p, const char *network_id, struct berth_err *err);
/* optional ops: 0 when the driver has none */
int drv_net_create_endpoint(struct loaded_plugin *p, const struct berth_endpoint_req *req,
                            struct berth_err *err);
int drv_net_join(struct loaded_plugin *p, const char *net, const char *ep, const char *netns,
                 struct berth_join_info *out, struct berth_err *err);
int drv_net_leave(struct loaded_plugin *p, const char *net, const char *ep, struct berth_err *err);
int drv_net_delete_endpoint(struct loaded_plugin *p, const char *net, const char *ep,
                            struct berth_err *err);
/* ENOTSUP when the driver cannot and n > 0 */
int drv_net_publish(struct loaded_plugin *p, const char *net, const char *ep,
                    const struct berth_port_binding *const *ports, size_t n, struct berth_err *err);

/* ---- volume ---- */
int drv_vol_create(struct loaded_plugin *p, const struct berth_volume_create_req *req,
                   struct berth_err *err);
int drv_vol_remove(struct loaded_plugin *p, const char *name, struct berth_err *err);
int drv_vol_mount(struct loaded_plugin *p, const char *name, const char *id,
                  char path[BERTH_VOLUME_PATH_MAX], struct berth_err *err);
int drv_vol_unmount(struct loaded_plugin *p, const char *name, const char *id,
                    struct berth_err *err);
int drv_vol_path(struct loaded_plugin *p, const char *name, char path[BERTH_VOLUME_PATH_MAX],
                 struct berth_err *err);
/* optional: ENOTSUP */
int drv_vol_get(struct loaded_plugin *p, const char *name, struct berth_buf *out,
                struct berth_err *err);
int drv_vol_list(struct loaded_plugin *p, struct berth_buf *out, struct berth_err *err);
const char *drv_vol_scope(const struct loaded_plugin *p); /* "local" or "global" */

/* ---- registry: a session is used by one thread at a time ---- */
struct drv_reg {
  struct loaded_plugin *p;
  void *sess;
};
int drv_reg_open(struct loaded_plugin *p, const struct berth_reg_target *t, struct drv_reg *s,
                 struct berth_err *err);
void drv_reg_close(struct drv_reg *s); /* safe on a session that did not open */
int drv_reg_get_manifest(struct drv_reg *s, const char *ref, const char *const *accept,
                         struct berth_buf *body, struct berth_reg_desc *desc,
                         struct berth_err *err);
int drv_reg_stat_blob(struct drv_reg *s, const char *digest, struct berth_reg_desc *desc,
                      struct berth_err *err);
int drv_reg_get_blob(struct drv_reg *s, const char *digest, uint64_t offset,
                     struct berth_writer *out, struct berth_err *err);
int drv_reg_put_blob(struct drv_reg *s, const struct berth_reg_desc *desc, const char *mount_from,
                     struct berth_reader *in, struct berth_err *err);
int drv_reg_put_manifest(struct drv_reg *s, const char *ref, const char *media_type,
                         const void *body, size_t len, struct berth_reg_desc *out,
                         struct berth_err *err);
/* optional: ENOTSUP */
int drv_reg_list_tags(struct drv_reg *s, struct berth_buf *tags, struct berth_err *err);
int drv_reg_login(struct loaded_plugin *p, const char *host, const struct berth_reg_auth *auth,
                  struct berth_err *err);
/* search_as (ABI 1.2) with auth when the driver has it, else search */
int drv_reg_search(struct loaded_plugin *p, const char *host, const struct berth_reg_auth *auth,
                   const char *term, uint32_t limit, struct berth_buf *out, struct berth_err *err);

#endif
