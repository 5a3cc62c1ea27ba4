/* The IPv6 side of a published port, as docker's docker-proxy gives it: a
 * listener on [::]:PORT (IPV6_V6ONLY) whose connections (TCP) or datagrams
 * (UDP, a flow per client, forgotten after 90 s idle) are relayed to the
 * container's IPv4 address and port.  The IPv4 side is the bridge
 * driver's NAT; the kernel cannot translate between the two families.
 * Relayed connections reach the container from the network's gateway, as
 * docker-proxy's do. */
#ifndef BERTH_PROXY_H
#define BERTH_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/util.h"

/* whether [::]:port can be bound here (udp: a datagram socket): true
 * where the host has no IPv6 at all (nothing to proxy, nothing to collide
 * with) */
bool proxy_v6_free(bool udp, uint16_t port);

/* listen on [::]:host_port for owner (an endpoint id), relaying to
 * ip4:port.  0; 1 where the host has no IPv6 (nothing done); -code */
int proxy_add(const char *owner, bool udp, uint16_t host_port, const char *ip4, uint16_t port,
              struct berth_err *err);

/* stop owner's listeners and end the connections they relay */
void proxy_remove(const char *owner);

#endif
