/* The embedded DNS server of user-defined networks: berthd answers on each
 * such network's gateway address (UDP port 53) with the A records of the
 * containers on that network (by name, short id, hostname and
 * --network-alias), and forwards every other question to the host's own
 * resolvers (the non-loopback servers of /etc/resolv.conf).  The wire
 * format is ldns's; the answering function is pure so it can be fuzzed. */
#ifndef BERTH_NETWORK_DNS_H
#define BERTH_NETWORK_DNS_H

#include <stddef.h>
#include <stdint.h>

/* looks name (lowercase, no trailing dot) up for the client at address
 * client (host order) on a network: 1 and *ip (host order; ip6: its IPv6
 * address, all zero when it has none) when it is one of the containers
 * there (or on another network of the client's), 0 when not */
typedef int (*dns_lookup_fn)(const char *net_id, uint32_t client, const char *name, uint32_t *ip,
                             uint8_t ip6[16]);

/* One question: the reply to send in out (its length), 0 when the
 * question is not ours (forward it), -1 when the packet is not DNS (drop
 * it).  Never reads past len. */
long dns_answer(const uint8_t *q, size_t len, const char *net_id, uint32_t client,
                dns_lookup_fn lookup, uint8_t *out, size_t out_len);

/* the upstream servers of the container at client on net_id ("a,b"), into
 * out; "" when it has none of its own (--dns) */
typedef void (*dns_upstream_fn)(const char *net_id, uint32_t client, char *out, size_t len);

/* the server: start once; a network's listener comes and goes with it */
int dns_start(dns_lookup_fn lookup, dns_upstream_fn upstream);
int dns_add(const char *net_id, uint32_t gateway); /* -errno when 53 cannot be bound */
void dns_remove(const char *net_id);

#endif
