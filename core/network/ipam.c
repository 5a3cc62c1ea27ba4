#include "ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ip4_parse(const char *s, uint32_t *out) {
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1) return -1;
  *out = ntohl(a.s_addr);
  return 0;
}

void ip4_format(uint32_t ip, char out[16]) {
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

uint32_t cidr_mask(struct cidr c) {
  return c.prefix ? ~0u << (32 - c.prefix) : 0;
}

int cidr_parse(const char *s, const char *what, struct cidr *out, struct berth_err *err) {
  char buf[64];
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || (size_t)(slash - s) >= sizeof buf)
    return berth_err_set(err, BERTH_EINVAL, 0, "Invalid %s %s : invalid CIDR address: %s", what,
                         s ? s : "", s ? s : "");
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = 0;
  char *end;
  errno = 0;
  long p = strtol(slash + 1, &end, 10);
  struct cidr c = {0, (int)p};
  if (ip4_parse(buf, &c.addr) < 0 || errno || *end || end == slash + 1 || p < 0 || p > 32)
    return berth_err_set(err, BERTH_EINVAL, 0, "Invalid %s %s : invalid CIDR address: %s", what, s,
                         s);
  c.addr &= cidr_mask(c); /* host bits: the network they are in, as dockerd takes them */
  *out = c;
  return 0;
}

void cidr_format(struct cidr c, char out[20]) {
  char ip[16];
  ip4_format(c.addr, ip);
  snprintf(out, 20, "%s/%d", ip, c.prefix);
}

bool cidr_contains(struct cidr c, uint32_t ip) {
  return (ip & cidr_mask(c)) == c.addr;
}

bool cidr_within(struct cidr inner, struct cidr outer) {
  return inner.prefix >= outer.prefix && cidr_contains(outer, inner.addr);
}

bool cidr_overlap(struct cidr a, struct cidr b) {
  return cidr_contains(a, b.addr) || cidr_contains(b, a.addr);
}

static bool free_pool(const struct cidr *used, size_t n, struct cidr c) {
  for (size_t i = 0; i < n; i++)
    if (cidr_overlap(used[i], c)) return false;
  return true;
}

int ipam_pick_pool(const struct cidr *used, size_t n, bool for_default, struct cidr *out,
                   struct berth_err *err) {
  for (uint32_t b = for_default ? 17 : 18; b <= 31; b++) {
    struct cidr c = {(172u << 24) | (b << 16), 16};
    if (free_pool(used, n, c)) return *out = c, 0;
    if (for_default) break;
  }
  for (uint32_t k = 0; k < 16; k++) {
    struct cidr c = {(192u << 24) | (168u << 16) | (k << 12), 20};
    if (free_pool(used, n, c)) return *out = c, 0;
  }
  return berth_err_set(err, BERTH_ENOTFOUND, 0,
                       "could not find an available, non-overlapping IPv4 address pool among the "
                       "defaults to assign to the network");
}

/* ---- IPv6 ---- */

int cidr6_parse(const char *s, const char *what, struct cidr6 *out, struct berth_err *err) {
  char buf[64];
  const char *slash = s ? strchr(s, '/') : NULL;
  struct cidr6 c = {{0}, 0};
  char *end = NULL;
  long p = -1;
  if (slash && (size_t)(slash - s) < sizeof buf) {
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = 0;
    errno = 0;
    p = strtol(slash + 1, &end, 10);
    if (errno || *end || end == slash + 1) p = -1;
  }
  if (p < 0 || p > 128 || inet_pton(AF_INET6, buf, c.addr) != 1)
    return berth_err_set(err, BERTH_EINVAL, 0, "Invalid %s %s : invalid CIDR address: %s", what,
                         s ? s : "", s ? s : "");
  c.prefix = (int)p;
  for (int i = c.prefix; i < 128; i++) /* host bits: the network they are in, as dockerd */
    c.addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
  *out = c;
  return 0;
}

void cidr6_format(struct cidr6 c, char out[48]) {
  char a[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, c.addr, a, sizeof a);
  snprintf(out, 48, "%s/%d", a, c.prefix);
}

bool cidr6_overlap(struct cidr6 a, struct cidr6 b) {
  int p = a.prefix < b.prefix ? a.prefix : b.prefix;
  for (int i = 0; i < p; i++)
    if ((a.addr[i / 8] ^ b.addr[i / 8]) & (0x80 >> (i % 8))) return false;
  return true;
}

struct cidr ip6_pool(struct cidr6 c) {
  int bits = 128 - c.prefix > 16 ? 16 : 128 - c.prefix;
  return (struct cidr){0, 32 - bits};
}

void ip6_at(struct cidr6 c, uint32_t offset, char out[46]) {
  uint8_t a[16];
  memcpy(a, c.addr, 16);
  for (int i = 15; i >= 12; i--, offset >>= 8)
    a[i] |= (uint8_t)(offset & 255);
  inet_ntop(AF_INET6, a, out, 46);
}

int ip6_offset(struct cidr6 c, const char *s, uint32_t *offset) {
  uint8_t a[16];
  if (!s || inet_pton(AF_INET6, s, a) != 1) return -1;
  struct cidr6 one = {{0}, 128};
  memcpy(one.addr, a, 16);
  if (!cidr6_overlap(c, one)) return -1;
  uint32_t off = 0;
  for (int i = 12; i < 16; i++)
    off = off << 8 | a[i];
  if (c.prefix >= 128) return -1;                    /* a /128 has no address to hand out */
  if (c.prefix >= 96) off &= ~0u >> (c.prefix - 96); /* the subnet's own bits out */
  if (off & cidr_mask(ip6_pool(c))) return -1;       /* beyond the offsets handed out */
  for (int i = c.prefix; i < 96; i++) /* the bits between the prefix and the offsets: 0 */
    if (a[i / 8] & (0x80 >> (i % 8))) return -1;
  *offset = off;
  return 0;
}

int ipam_net_init(struct ipam_net *n, struct cidr subnet, struct cidr range, uint32_t gateway) {
  memset(n, 0, sizeof *n);
  n->subnet = subnet;
  n->range = range.prefix ? range : subnet;
  n->gateway = gateway;
  n->size = n->range.prefix >= 32  ? 1
            : n->range.prefix <= 8 ? (1u << 24)
                                   : 1u << (32 - n->range.prefix);
  n->used = calloc((n->size + 7) / 8, 1);
  return n->used ? 0 : -1;
}

void ipam_net_free(struct ipam_net *n) {
  free(n->used);
  n->used = NULL;
}

static bool bit(const struct ipam_net *n, uint32_t i) {
  return n->used[i / 8] & (1u << (i % 8));
}

/* an address never handed out: outside the range, the subnet's own
 * network and broadcast addresses, the gateway */
static bool reserved(const struct ipam_net *n, uint32_t ip) {
  uint32_t bcast = n->subnet.addr | ~cidr_mask(n->subnet);
  return !cidr_contains(n->range, ip) ||
         (n->subnet.prefix < 31 && (ip == n->subnet.addr || ip == bcast)) || ip == n->gateway;
}

bool ipam_mark(struct ipam_net *n, uint32_t ip) {
  if (!cidr_contains(n->range, ip)) return true; /* outside the range: nothing to track */
  uint32_t i = ip - n->range.addr;
  bool was = bit(n, i);
  n->used[i / 8] |= (uint8_t)(1u << (i % 8));
  return !was;
}

void ipam_release(struct ipam_net *n, uint32_t ip) {
  if (!cidr_contains(n->range, ip)) return;
  uint32_t i = ip - n->range.addr;
  n->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

int ipam_alloc(struct ipam_net *n, uint32_t want, uint32_t *out, struct berth_err *err) {
  char s[16];
  if (want) {
    ip4_format(want, s);
    if (!cidr_contains(n->subnet, want))
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "Invalid address %s: It does not belong to any of this network's "
                           "subnets",
                           s);
    if (want == n->gateway || (cidr_contains(n->range, want) && reserved(n, want)))
      return berth_err_set(err, BERTH_ECONFLICT, 0, "Address already in use: %s", s);
    if (cidr_contains(n->range, want) && !ipam_mark(n, want))
      return berth_err_set(err, BERTH_ECONFLICT, 0, "Address already in use: %s", s);
    return *out = want, 0;
  }
  /* the lowest free address, as docker's default IPAM gives (a released
   * one is the next one out; its MAC is made from it, so no peer's ARP
   * entry goes stale) */
  for (uint32_t i = 0; i < n->size; i++) {
    uint32_t ip = n->range.addr + i;
    if (bit(n, i) || reserved(n, ip)) continue;
    ipam_mark(n, ip);
    return *out = ip, 0;
  }
  return berth_err_set(err, BERTH_EUNAVAILABLE, 0,
                       "no available IPv4 addresses on this network's address pools");
}
