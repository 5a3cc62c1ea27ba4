/* The IPv6 side of a published TCP port, as docker's docker-proxy gives
 * it: a listener on [::]:PORT (IPV6_V6ONLY) whose connections are relayed
 * to the container's IPv4 address and port.  The IPv4 side is the bridge
 * driver's NAT; the kernel cannot translate between the two families.
 * Relayed connections reach the container from the network's gateway, as
 * docker-proxy's do. */
#ifndef BERTH_PROXY_H
#define BERTH_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/util.h"

/* whether [::]:port (TCP) can be bound here: true where the host has no
 * IPv6 at all (there is nothing to proxy, nothing to collide with) */
bool proxy_v6_free(uint16_t port);

/* listen on [::]:host_port for owner (an endpoint id), relaying to
 * ip4:port.  0; 1 where the host has no IPv6 (nothing done); -code */
int proxy_add(const char *owner, uint16_t host_port, const char *ip4, uint16_t port,
              struct berth_err *err);

/* stop owner's listeners and end the connections they relay */
void proxy_remove(const char *owner);

#endif
