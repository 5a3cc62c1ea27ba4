/* The plugin loader: validates descriptors (magic, ABI version, sizes,
 * required ops, unique names), copies them into zero-extended structs of
 * this berthd's size, and keeps one host services table per driver.
 * Built-in drivers go through exactly the same validation. */
#ifndef BERTH_CORE_PLUGIN_H
#define BERTH_CORE_PLUGIN_H

#include <berth/logger.h>
#include <berth/network.h>
#include <berth/registry.h>
#include <berth/storage.h>
#include <berth/volume.h>
#include <jansson.h>
#include <pthread.h>

#include "config.h"

enum plugin_state { PLUGIN_LOADED, PLUGIN_ACTIVE, PLUGIN_SKIPPED, PLUGIN_FAILED };

struct loaded_plugin {
  struct berth_plugin desc; /* zero-extended copy */
  union {
    uint32_t struct_size;
    struct berth_storage_ops storage;
    struct berth_network_ops network;
    struct berth_logger_ops logger;
    struct berth_registry_ops registry;
    struct berth_volume_ops volume;
  } ops;
  char *name;   /* desc.name, owned copy */
  char *origin; /* file path or "built-in" */
  void *handle; /* lt_dlhandle, NULL for built-ins */
  void *drv;
  enum plugin_state state;
  char status[512]; /* init error, shown by berth info */
  struct berth_host host;
  struct host_private *host_priv;
  pthread_mutex_t lock; /* serialises calls unless THREADSAFE */
  /* fault.h: the code of a loaded file, and a contained crash */
  uintptr_t text_lo, text_hi;
  int faulted; /* atomic: set by the signal handler, never cleared */
  const char *fault_op;
  int fault_sig;
};

struct plugin_set {
  struct loaded_plugin **items;
  size_t n;
};

const char *plugin_kind_name(int kind);

/* Validate a descriptor got from an entry point; where names the origin
 * for messages.  On success *out is a new loaded_plugin (not yet in set). */
int plugin_validate(struct plugin_set *set, const struct berth_plugin *p, int expect_kind,
                    const char *where, struct loaded_plugin **out, struct berth_err *err);
/* Load a driver by bare name (plugin_dir/<name>.so, or a built-in of that
 * name) or absolute path, validate it and add it to set. */
int plugin_load(struct plugin_set *set, const char *plugin_dir, int kind, const char *name_or_path,
                struct loaded_plugin **out, struct berth_err *err);
/* Set up the host table and call init.  ESKIP leaves state SKIPPED. */
int plugin_init(struct loaded_plugin *p, struct berth_config *cfg, struct berth_err *err);
struct loaded_plugin *plugin_find(struct plugin_set *set, int kind, const char *name);
struct loaded_plugin *plugin_find_active(struct plugin_set *set, int kind, const char *name);
/* A configured driver that could not be loaded or started, listed (berth
 * info, plugin ls) as failed with why; it has no ops and is never called. */
struct loaded_plugin *plugin_add_failed(struct plugin_set *set, int kind, const char *configured,
                                        const char *why);
void plugin_set_free(struct plugin_set *set); /* calls fini on active plugins */
/* "active", why it failed or was skipped, or that it crashed and is disabled */
const char *plugin_status(const struct loaded_plugin *p, char *buf, size_t len);

static inline void plugin_lock(struct loaded_plugin *p) {
  if (!(p->desc.flags & BERTH_PLUGIN_F_THREADSAFE)) pthread_mutex_lock(&p->lock);
}
static inline void plugin_unlock(struct loaded_plugin *p) {
  if (!(p->desc.flags & BERTH_PLUGIN_F_THREADSAFE)) pthread_mutex_unlock(&p->lock);
}

/* host.c */
struct host_private {
  struct berth_config *cfg;
  char *kind_name;
  char *name;
  char *log_prefix;
  json_t *resolved; /* the values conf_bind gave the driver, as canonical text */
};
/* A copy of what conf_bind gave p ({key: text}): berth-shim binds the same. */
json_t *plugin_resolved_config(const struct loaded_plugin *p);
int host_setup(struct loaded_plugin *p, struct berth_config *cfg, struct berth_err *err);
void host_free(struct loaded_plugin *p);
void host_buf_free(struct berth_buf *buf);

/* builtins.c */
struct builtin_plugin {
  int kind;
  const char *name;
  berth_plugin_entry_fn entry;
};
extern const struct builtin_plugin berth_builtin_plugins[];
extern const size_t berth_n_builtin_plugins;

#endif
