/* A container's mounts (mounts.c): docker's MountPoints made at create
 * (c->mounts), the runtime's binds at start, and which containers use a
 * volume (the volumes' reference counts live in the containers' records). */
#ifndef BERTH_CONTAINER_MOUNTS_H
#define BERTH_CONTAINER_MOUNTS_H

#include "config.h"
#include "container.h"

struct rt_mount;

/* at create: -v (named volumes and host paths made when missing),
 * --volumes-from, an anonymous volume for each Config.Volumes target left;
 * on failure nothing is left (anonymous volumes made are removed) */
int ctr_mounts_create(struct daemon *d, struct container *c, const struct ctr_opts *o,
                      struct berth_err *err);
/* at start, the rootfs mounted: the binds into out (room for every mount
 * point); a fresh, empty volume gets the image's content at its target
 * first.  *paths: the strings out points to, NULL-terminated (strv_free) */
ssize_t ctr_mounts_spec(struct daemon *d, struct container *c, struct rt_mount *out, char ***paths,
                        struct berth_err *err);
size_t ctr_mounts_count(struct container *c);
/* the start's volume "mount" events, after its network's "connect"s */
void ctr_mounts_announce(struct container *c);
/* found running by a berthd that starts: each volume driver hears its
 * mount again (a driver counting users counts it; no event) */
void ctr_mounts_readopt(struct daemon *d, struct container *c);
/* a cp of the stopped container: its volumes mounted for user (a use of
 * the copy's own), told as dockerd's cp tells them, and let go after */
void ctr_mounts_take(struct daemon *d, struct container *c, const char *user);
void ctr_mounts_let_go(struct daemon *d, struct container *c, const char *user);
/* it stopped: each volume driver hears its unmount */
void ctr_mounts_release(struct daemon *d, struct container *c);
/* rm -v, run --rm: its anonymous volumes no other container uses */
void ctr_mounts_remove_anonymous(struct daemon *d, struct container *c);

#endif
