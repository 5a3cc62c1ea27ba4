/* Volumes: their records, <data-root>/volumes/<name>/volume.json written
 * atomically (name, driver, labels, options); their data is the volume
 * driver's (plugin ABI 1.1, include/berth/volume.h; the built-in `local`
 * keeps it in <data-root>/volumes/<name>/_data), called through
 * core/driver.h only.
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
  const char *driver; /* NULL or "": local */
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
struct filters;
json_t *vol_list(struct daemon *d, struct filters *f, bool (*in_use)(const char *name),
                 struct berth_err *err);
/* the unused ones (anonymous only, unless filters has all=true), removed:
 * {"VolumesDeleted": [...], "SpaceReclaimed": bytes} */
json_t *vol_prune(struct daemon *d, struct filters *f, bool (*in_use)(const char *name),
                  struct berth_err *err);

/* where its driver keeps its data (a new string), NULL when it cannot say */
char *vol_path(struct daemon *d, const char *name, struct berth_err *err);
/* for container id's mount, before it starts: the driver's mount, the path
 * to bind (a new string); a missing name is made with the local driver
 * (-v name:/x, as docker's does).  *fresh: never populated yet (the caller
 * copies the image's content in, then calls vol_mark_populated) */
char *vol_mount(struct daemon *d, const char *name, const char *id, bool *fresh,
                struct berth_err *err);
/* tells the "mount" event of container id's mount of it at dest (dockerd
 * tells it after the container's network connects, so it is apart) */
void vol_mounted_event(const char *name, const char *id, const char *dest, const char *propagation,
                       bool rw);
/* user (a container's id, or a cp's own) is done with it; its "unmount"
 * event names container ctr */
void vol_unmount(struct daemon *d, const char *name, const char *user, const char *ctr);
void vol_mark_populated(struct daemon *d, const char *name);
bool vol_exists(const char *name);
bool vol_is_anonymous(const char *name);
/* bytes its _data holds (system df) */
int64_t vol_size(const char *name);
/* docker's rule for local volume names */
bool vol_valid_name(const char *name);
/* 0, or dockerd's refusal of a local volume's name ("create NAME: …") */
int vol_check_name(const char *name, struct berth_err *err);

#endif
