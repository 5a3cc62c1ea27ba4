/* docker cp's daemon side (cp.c): stat, read and write paths inside a
 * container's filesystem, running or not, volumes and binds included,
 * every path resolved inside its root. */
#ifndef BERTH_CONTAINER_CP_H
#define BERTH_CONTAINER_CP_H

#include "container.h"

/* docker's X-Docker-Container-Path-Stat */
struct ctr_path_stat {
  char name[256];
  int64_t size;
  uint32_t mode; /* Go's os.FileMode bits */
  int64_t mtime_ns;
  bool is_dir;
  char link[4096]; /* a symlink's target */
};

/* ref: the container as the client named it (for docker's 404 text) */
int ctr_path_stat(struct daemon *d, struct container *c, const char *ref, const char *path,
                  struct ctr_path_stat *st, struct berth_err *err);
json_t *ctr_path_stat_json(const struct ctr_path_stat *st);
/* a producer writing path as a tar (top entry: its basename, "." for
 * "dir/."); it holds a reference on c until it ends */
int ctr_archive_get(struct daemon *d, struct container *c, const char *path,
                    ctr_producer_fn *producer, void **ctx, struct berth_err *err);

struct ctr_put {
  const char *path; /* an existing directory in the container */
  bool no_overwrite_dir_non_dir, copy_uid_gid;
};
/* extract the tar read from in below o->path */
int ctr_archive_put(struct daemon *d, struct container *c, const char *ref, const struct ctr_put *o,
                    int in, struct berth_err *err);

#endif
