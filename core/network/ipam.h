/* IPv4 address management, as docker's default IPAM does it: subnets
 * parsed and checked, default pools for new networks (172.17.0.0/16 for
 * the default bridge, 172.18-31.0.0/16, then 192.168.0.0/20 steps),
 * addresses handed out serially within a network's range (the gateway,
 * the network and broadcast addresses never), released, never twice.
 * Pure functions and a bitmap: no locking, no I/O (core/network/network.c
 * holds the lock and rebuilds the maps from the containers at start-up). */
#ifndef BERTH_NETWORK_IPAM_H
#define BERTH_NETWORK_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/plugin.h>

struct cidr {
  uint32_t addr; /* host order */
  int prefix;    /* 0..32 */
};

/* "a.b.c.d" */
int ip4_parse(const char *s, uint32_t *out);
void ip4_format(uint32_t ip, char out[16]);
/* "a.b.c.d/n"; host bits set are cleared (the network they are in, as
 * dockerd takes them); what names the field in errors */
int cidr_parse(const char *s, const char *what, struct cidr *out, struct berth_err *err);
void cidr_format(struct cidr c, char out[20]);
uint32_t cidr_mask(struct cidr c);
bool cidr_contains(struct cidr c, uint32_t ip);
bool cidr_within(struct cidr inner, struct cidr outer);
bool cidr_overlap(struct cidr a, struct cidr b);

/* The first default pool that overlaps none of used[0..n): the default
 * bridge's 172.17.0.0/16 when for_default, else 172.18..172.31.0.0/16,
 * then 192.168.0.0/20, 192.168.16.0/20, ...  -ENOTFOUND when all are used. */
int ipam_pick_pool(const struct cidr *used, size_t n, bool for_default, struct cidr *out,
                   struct berth_err *err);

/* IPv6 (networks created with --ipv6 and a v6 --subnet of /48../120):
 * addresses are the subnet's plus an offset (the gateway ::1 unless given),
 * handed out by an ipam_net over the offsets (ip6_pool), at most 65536 */
struct cidr6 {
  uint8_t addr[16];
  int prefix; /* 0: none */
};
int cidr6_parse(const char *s, const char *what, struct cidr6 *out, struct berth_err *err);
void cidr6_format(struct cidr6 c, char out[48]);
bool cidr6_overlap(struct cidr6 a, struct cidr6 b);
/* the address at offset within c ("fd00:1::2") */
void ip6_at(struct cidr6 c, uint32_t offset, char out[46]);
/* the offset of address s within c; -1 when s is not an address of c or
 * lies beyond the offsets ip6_pool hands out */
int ip6_offset(struct cidr6 c, const char *s, uint32_t *offset);
/* the offsets of c as the IPv4 arithmetic sees them: 0/(32 - bits) */
struct cidr ip6_pool(struct cidr6 c);

struct ipam_net {
  struct cidr subnet, range; /* range: where addresses come from (the subnet when not given) */
  uint32_t gateway;
  uint32_t size; /* addresses in range */
  uint8_t *used; /* a bit per address of range */
};
int ipam_net_init(struct ipam_net *n, struct cidr subnet, struct cidr range, uint32_t gateway);
void ipam_net_free(struct ipam_net *n);
/* want 0: the lowest free address; else exactly want (in the subnet, free) */
int ipam_alloc(struct ipam_net *n, uint32_t want, uint32_t *out, struct berth_err *err);
/* mark an address taken (rebuilding from records); false when it was */
bool ipam_mark(struct ipam_net *n, uint32_t ip);
void ipam_release(struct ipam_net *n, uint32_t ip);

#endif
