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
  json_t *options, *labels; /* objects of strings, or NULL */
};

/* load the records, make the predefined networks; at start-up */
int net_init(struct daemon *d, struct berth_err *err);
int net_create(struct daemon *d, const struct net_create_req *r, char id_out[65],
               struct berth_err *err);
/* by name, full id or unique id prefix; ENOTFOUND "network X not found" */
int net_remove(struct daemon *d, const char *ref, struct berth_err *err);
/* docker's Network object */
json_t *net_inspect(struct daemon *d, const char *ref, struct berth_err *err);
/* the objects matching docker's filters ({key: [values]}) */
json_t *net_list(struct daemon *d, json_t *filters, struct berth_err *err);
/* the user networks with no endpoints, removed: their names */
json_t *net_prune(struct daemon *d, json_t *filters, struct berth_err *err);

#endif
