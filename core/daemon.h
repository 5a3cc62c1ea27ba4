/* berthd's state: configuration, drivers, the image store.  Below core/api/
 * nothing includes api.h. */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include "config.h"
#include "image/store.h"
#include "plugin.h"
#include "util/idmap.h"

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
  char *seccomp_source; /* the default seccomp profile: "builtin" or its file */
  struct idmap remap;   /* daemon.conf userns-remap (size 0: off) */
  char *remap_user;     /* "user:group" it came from */
  int remap_fd;         /* a user namespace with that mapping, for id-mapped mounts; or -1 */
};

void daemon_warn(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
