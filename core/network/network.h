/* Networks: the records (<data-root>/networks/<id>.json, written
 * atomically), their address maps (ipam.h), and the calls into their
 * drivers (through core/driver.c).  The predefined networks are "host" and
 * "none" (driver "null" as docker shows it), and "bridge" when the bridge
 * driver is loaded.  The HTTP layer (core/api/networks.c) parses requests
 * into the types below and renders what these functions return. */
#ifndef BERTH_CORE_NETWORK_H
#define BERTH_CORE_NETWORK_H

#include <jansson.h>
#include <stdbool.h>

#include "../daemon.h"

struct net_create_req {
  const char *name;
  const char *driver;                      /* NULL or "": bridge */
  const char *subnet, *gateway, *ip_range; /* NULL: IPAM picks */
  bool internal, attachable, ipv6;
  json_t *options, *labels;       /* objects of strings, or NULL */
  json_t *ipam_options;           /* IPAM.Options, an object of strings, or NULL */
  const char *subnet6, *gateway6; /* with ipv6: the IPv6 subnet (required), its gateway */
};

/* load the records, make the predefined networks; at start-up */
int net_init(struct daemon *d, struct berth_err *err);
int net_create(struct daemon *d, const struct net_create_req *r, char id_out[65],
               struct berth_err *err);
/* by name, full id or unique id prefix; ENOTFOUND "network X not found" */
/* bumped by every create and remove: what a container shows of its
 * networks may have changed (ps's cached summaries) */
uint64_t net_generation(void);
int net_remove(struct daemon *d, const char *ref, struct berth_err *err);
/* docker's Network object */
json_t *net_inspect(struct daemon *d, const char *ref, struct berth_err *err);
/* the objects matching docker's filters ({key: [values]}) */
struct filters;
json_t *net_list(struct daemon *d, struct filters *f, struct berth_err *err);
/* the user networks with no endpoints, removed: their names */
json_t *net_prune(struct daemon *d, struct filters *f, struct berth_err *err);

/* ---- a container's place on a network (one per network it is on) ---- */
struct net_endpoint {
  char net_id[65], net_name[128], driver[32], ep_id[65];
  char ctr_id[65], ctr_name[128];    /* whose (set by the caller before net_reserve) */
  char hostname[64], aliases[256];   /* more names it answers to (aliases: comma-separated) */
  char dns[128];                     /* its --dns servers, comma-separated */
  char ip[16], gateway[16], mac[18]; /* "" on host and none (mac: --mac-address before reserve) */
  char ip6[46], gateway6[46]; /* on a network with IPv6; "" elsewhere (ip6: --ip6 before reserve) */
  int prefix6;
  char ifname[16]; /* its name in the container: eth0, eth1, ... */
  int prefix;
  /* from net_resolve: bridge, host or none; a subnet its creator gave
   * (dockerd takes --ip/--ip6 only then) */
  bool predefined, subnet_given, subnet6_given;
};

/* the network a container's NetworkMode names ("" and "default": the
 * daemon's default; "bridge" falls back to it when there is no bridge
 * network); ENOTFOUND "network X not found" */
int net_resolve(struct daemon *d, const char *mode, struct net_endpoint *ep, struct berth_err *err);
/* an address for the container (want: --ip, or NULL), an endpoint id, a
 * MAC (ep->mac when set, else docker's derived one); nothing for host and
 * none */
int net_reserve(struct daemon *d, struct net_endpoint *ep, const char *want_ip,
                struct berth_err *err);
/* the driver's endpoint, joined into the namespace of pid and set up
 * there as ep->ifname (with the default route when route); on failure
 * nothing of it is left (the address stays reserved) */
int net_plumb(struct daemon *d, struct net_endpoint *ep, pid_t pid, bool route,
              struct berth_err *err);
/* undo plumb and reserve; safe to repeat.  The driver's part runs on a
 * thread of its own (the container's namespace is going anyway); with
 * net_release_now it is done on return (a disconnect of a running one) */
void net_release(struct daemon *d, struct net_endpoint *ep);
void net_release_now(struct daemon *d, struct net_endpoint *ep);
/* at start-up, from a container's record: a running one keeps its
 * address; a dead one's plumbing and address go */
void net_restore(struct daemon *d, struct net_endpoint *ep, bool running);
bool net_endpoint_used(const struct net_endpoint *ep); /* has an address */
/* whether net_plumb puts an interface into the container's namespace (not
 * on the host or none network, nor without an address) */
bool net_endpoint_plumbed(const struct net_endpoint *ep);
json_t *net_endpoint_json(const struct net_endpoint *ep);
void net_endpoint_from_json(json_t *j, struct net_endpoint *ep);
/* NetworkSettings.Networks[<name>] as docker shows it (aliases: a new array) */
json_t *net_endpoint_settings(const struct net_endpoint *ep, json_t *aliases);

/* publish the container's ports (config.h's requests): host ports
 * picked and held (docker's "port is already allocated" when taken), the
 * driver's NAT made; NetworkSettings.Ports as docker shows it, or NULL */
struct ctr_port;
json_t *net_publish(struct daemon *d, struct net_endpoint *ep, const struct ctr_port *req, size_t n,
                    struct berth_err *err);
/* after a restart, for a running container: its ports as they were */
void net_republish(struct daemon *d, struct net_endpoint *ep, json_t *ports);

#endif
