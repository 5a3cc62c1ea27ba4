/* Volumes: the `local` driver's volumes, kept under
 * <data-root>/volumes/<name>/ (_data, and volume.json written atomically).
 * Which containers use a volume is not stored here: the containers' records
 * say it (their MountPoints), so a kill -9 loses no reference; callers that
 * remove pass the users they found (core/container/mounts.c).  The HTTP
 * layer (core/api/volumes.c) parses into these calls and renders what they
 * return: docker's Volume objects. */
#ifndef BERTH_CORE_VOLUME_H
#define BERTH_CORE_VOLUME_H

#include <jansson.h>
#include <stdbool.h>

#include "../daemon.h"

struct vol_create_req {
  const char *name;   /* NULL or "": an anonymous volume (64 hex) */
  const char *driver; /* NULL, "" or "local" */
  json_t *opts;       /* DriverOpts: objects of strings, or NULL */
  json_t *labels;
};

/* load the records; at start-up */
int vol_init(struct daemon *d, struct berth_err *err);
/* docker's Volume object; an existing name with the same driver is
 * returned as it is (docker's create is idempotent); *created says which */
json_t *vol_create(struct daemon *d, const struct vol_create_req *r, bool *created,
                   struct berth_err *err);
/* ENOTFOUND "get NAME: no such volume" */
json_t *vol_inspect(struct daemon *d, const char *name, struct berth_err *err);
/* users: the ids of the containers using it (from their records), each a
 * string; the name is refused while there are any (force or not: docker's
 * force only forgives a missing volume) */
int vol_remove(struct daemon *d, const char *name, bool force, json_t *users,
               struct berth_err *err);
/* {"Volumes": [...], "Warnings": null}; in_use(name) says whether any
 * container uses it (the dangling filter) */
json_t *vol_list(struct daemon *d, json_t *filters, bool (*in_use)(const char *name),
                 struct berth_err *err);
/* the unused ones (anonymous only, unless filters has all=true), removed:
 * {"VolumesDeleted": [...], "SpaceReclaimed": bytes} */
json_t *vol_prune(struct daemon *d, json_t *filters, bool (*in_use)(const char *name),
                  struct berth_err *err);

/* for a container's mount: the volume's _data path (a new string); the
 * volume is made when missing (-v name:/x makes it, as docker's does).
 * *fresh: never populated yet (the caller copies the image's content in,
 * then calls vol_mark_populated) */
char *vol_path(struct daemon *d, const char *name, bool create, bool *fresh, struct berth_err *err);
void vol_mark_populated(struct daemon *d, const char *name);
bool vol_exists(const char *name);
bool vol_is_anonymous(const char *name);
/* bytes its _data holds (system df) */
int64_t vol_size(const char *name);
/* docker's rule for local volume names */
bool vol_valid_name(const char *name);

#endif
