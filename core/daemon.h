/* berthd's state, shared by the API handlers. */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include "api/api.h"
#include "config.h"
#include "image/store.h"
#include "plugin.h"

struct daemon {
  struct berth_config cfg;
  struct plugin_set plugins;
  struct loaded_plugin *storage;
  struct loaded_plugin *logger;
  struct loaded_plugin *registry; /* NULL: none configured */
  struct image_store images;
  char id[65];
  int64_t started_ns;
  char **warnings;
  size_t n_warnings;
};

void daemon_warn(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Route tables, one per resource file. */
extern const struct api_route system_routes[];
extern const size_t n_system_routes;
extern const struct api_route registry_routes[];
extern const size_t n_registry_routes;
extern const struct api_route image_routes[];
extern const size_t n_image_routes;
extern const struct api_route container_routes[];
extern const size_t n_container_routes;
extern const struct api_route exec_routes[];
extern const size_t n_exec_routes;

#endif
