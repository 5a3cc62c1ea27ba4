/* A container's networks (netctr.c), for lifecycle.c and container.c: the
 * networks it joins (NetworkMode first, then the others of
 * NetworkingConfig.EndpointsConfig, which connect and disconnect edit),
 * its endpoints on them while it runs (c->eps: eth0, eth1, ...), its
 * /etc/hosts and /etc/resolv.conf, and --link. */
#ifndef BERTH_CONTAINER_NETCTR_H
#define BERTH_CONTAINER_NETCTR_H

#include "config.h"
#include "container.h"

/* at create: the mode's network is named in EndpointsConfig, so that a
 * later disconnect can remove it; --link's targets exist */
int ctrnet_create(struct daemon *d, struct container *c, const struct ctr_opts *o,
                  struct berth_err *err);
/* at start, before the shim: an address on every network it joins (or
 * the namespace of --network container:), then /etc/hostname, hosts and
 * resolv.conf in its directory */
int ctrnet_reserve(struct daemon *d, struct container *c, const struct ctr_opts *o,
                   struct berth_err *err);
/* after ctrnet_reserve: whether ctrnet_plumb will put an interface into
 * its namespace (by the init's pid); the none network's endpoint is not one */
bool ctrnet_plumbs(struct container *c);
/* once its namespace exists (the shim's pid): every endpoint plumbed in,
 * the ports published on the first one */
int ctrnet_plumb(struct daemon *d, struct container *c, pid_t pid, struct berth_err *err);
/* the endpoints and ports gone (an exit, a failed start); safe to repeat */
void ctrnet_release(struct daemon *d, struct container *c);
/* at start-up, from the record: a running one keeps its addresses and
 * ports, a dead one's go */
void ctrnet_restore(struct daemon *d, struct container *c, bool running);
/* --link's variables (<ALIAS>_PORT_..., _NAME, _ENV_...) added to env where
 * the container's own do not set them */
void ctrnet_link_env(struct container *c, const struct ctr_opts *o, char ***env, size_t *n);
/* NetworkSettings.Networks, as docker shows it; *bridge: the endpoint on
 * the default bridge (docker's top-level fields), zeroed when none.  With
 * ctr_lock held. */
json_t *ctrnet_networks_json(struct daemon *d, const struct container *c,
                             struct net_endpoint *bridge);
/* network inspect as docker's: for host and none, which have no
 * endpoints, the running containers whose network it is too */
json_t *ctrnet_network_inspect(struct daemon *d, const char *ref, struct berth_err *err);
/* docker's stats "networks": each interface of the container's own
 * network namespace but lo, by its name there, with its counters; NULL
 * where it has none of its own (none, host, another container's: docker
 * leaves the member out) */
json_t *ctrnet_stats(const struct ctr_opts *o, pid_t pid);
/* the record's "Endpoints" and back */
json_t *ctrnet_to_json(const struct container *c);
void ctrnet_from_json(struct container *c, json_t *record);

#endif
