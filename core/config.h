/* daemon.conf: parsed with libconfig into struct berth_config.  Every error
 * names the file and line: "daemon.conf:12: unknown key 'foo'". */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>

#include "util/util.h"

struct berth_config {
  char *file;      /* path as given */
  char *file_name; /* base name, used in messages */
  char *data_root;
  char *exec_root;
  char *socket_path;
  char *socket_group; /* NULL: keep root's group */
  char *plugin_dir;
  bool debug;
  bool no_new_privileges; /* for every container made (docker's no-new-privileges) */
  bool no_start_ahead;    /* start-ahead = false: no start made ahead after a create */
  char *seccomp_profile;  /* the default profile's file; NULL: sysconfdir's, else built in */
  char *userns_remap;     /* "default", "user[:group]", "uid[:gid]"; NULL: no user namespaces */
  char *storage_driver;
  bool storage_driver_explicit; /* false: overlay with fallback to vfs */
  char **network_drivers;
  size_t n_network_drivers;
  char *default_network;
  char *bridge_subnet; /* the default bridge's subnet; "": the first free default pool */
  char *log_driver;    /* the default; --log-driver picks any loaded one */
  char **log_drivers;  /* loaded besides it (failures are listed, not fatal) */
  size_t n_log_drivers;
  char **volume_drivers; /* besides the built-in local one */
  size_t n_volume_drivers;
  char *registry_driver;        /* NULL: none configured */
  int max_concurrent_downloads; /* layers pulled at once; 0: 3 */
  config_t cfg;
  bool cfg_loaded;
};

/* Load path (NULL: built-in defaults only).  Returns 0 or -code with err
 * holding "FILE:LINE: what". */
int config_load(struct berth_config *c, const char *path, struct berth_err *err);
void config_free(struct berth_config *c);
/* The group "<kind>.<name>" for a driver, or NULL. */
config_setting_t *config_driver_group(struct berth_config *c, const char *kind, const char *name);

#endif
