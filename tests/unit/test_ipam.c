/* IPAM: CIDR parsing and its errors, docker's default pools, serial
 * allocation that never hands an address out twice. */
#include "../../core/network/ipam.h"
#include "tap.h"

static struct cidr C(const char *s) {
  struct cidr c = {0, 0};
  struct berth_err e = {0};
  cidr_parse(s, "subnet", &c, &e);
  return c;
}

static const char *
fmt(struct cidr c) {
  static char buf[4][20];
  static int k;
  char *b = buf[k++ % 4];
  cidr_format(c, b);
  return b;
}

static void test_parse(void) {
  struct cidr c;
  struct berth_err e = {0};
  ok(cidr_parse("10.99.0.0/24", "subnet", &c, &e) == 0 && c.prefix == 24, "a CIDR parses");
  is_str(fmt(c), "10.99.0.0/24", "and formats back");
  ok(cidr_parse("10.99.0.1/24", "subnet", &c, &e) == 0 && !strcmp(fmt(c), "10.99.0.0/24"),
     "host bits set: the network they are in, as dockerd");
  ok(cidr_parse("bad", "subnet", &c, &e) < 0, "not a CIDR: refused");
  contains(e.msg, "Invalid subnet bad : invalid CIDR address: bad", "in dockerd's words");
  ok(cidr_parse("10.99.0.0", "subnet", &c, &e) < 0, "no prefix: refused");
  ok(cidr_parse("10.99.0.0/33", "subnet", &c, &e) < 0, "prefix 33: refused");
  ok(cidr_parse("10.999.0.0/16", "subnet", &c, &e) < 0, "a bad address: refused");
  ok(cidr_parse("10.0.0.0/8x", "subnet", &c, &e) < 0, "trailing junk: refused");
  ok(cidr_overlap(C("10.0.0.0/8"), C("10.99.0.0/24")), "10/8 overlaps 10.99.0/24");
  ok(!cidr_overlap(C("10.98.0.0/24"), C("10.99.0.0/24")), "neighbours do not overlap");
  ok(cidr_within(C("10.99.0.128/25"), C("10.99.0.0/24")), "a range within its subnet");
  ok(!cidr_within(C("10.99.1.0/25"), C("10.99.0.0/24")), "a range outside it");
}

static void test_pools(void) {
  struct cidr c, used[20];
  struct berth_err e = {0};
  ok(ipam_pick_pool(NULL, 0, true, &c, &e) == 0, "the default bridge gets a pool");
  is_str(fmt(c), "172.17.0.0/16", "172.17.0.0/16");
  used[0] = c;
  ok(ipam_pick_pool(used, 1, false, &c, &e) == 0, "a user network gets one");
  is_str(fmt(c), "172.18.0.0/16", "172.18.0.0/16");
  size_t n = 1;
  for (int b = 18; b <= 31; b++)
    used[n++] = (struct cidr){(172u << 24) | ((uint32_t)b << 16), 16};
  ok(ipam_pick_pool(used, n, false, &c, &e) == 0, "with 172.17-31 taken");
  is_str(fmt(c), "192.168.0.0/20", "192.168.0.0/20 is next");
  used[n++] = C("192.168.0.0/24"); /* overlaps the first /20 */
  ok(ipam_pick_pool(used, n, false, &c, &e) == 0, "a user subnet inside 192.168.0.0/20");
  is_str(fmt(c), "192.168.16.0/20", "moves the next pool on");
  used[0] = C("0.0.0.0/0");
  ok(ipam_pick_pool(used, 1, false, &c, &e) == -BERTH_ENOTFOUND, "everything taken: refused");
  contains(e.msg, "non-overlapping IPv4 address pool", "in docker's words");
}

static void test_alloc(void) {
  struct ipam_net n;
  struct berth_err e = {0};
  uint32_t gw, ip, want;
  ip4_parse("10.99.0.1", &gw);
  ok(ipam_net_init(&n, C("10.99.0.0/29"), (struct cidr){0, 0}, gw) == 0, "a /29");
  char s[16];
  ok(ipam_alloc(&n, 0, &ip, &e) == 0, "first address");
  ip4_format(ip, s);
  is_str(s, "10.99.0.2", "is .2 (the gateway is .1)");
  ipam_alloc(&n, 0, &ip, &e);
  ip4_format(ip, s);
  is_str(s, "10.99.0.3", "then .3");
  ipam_release(&n, ip);
  ipam_alloc(&n, 0, &ip, &e);
  ip4_format(ip, s);
  is_str(s, "10.99.0.3", "a released address is the next one out (the lowest free, as docker's)");
  ipam_alloc(&n, 0, &ip, &e);
  ip4_format(ip, s);
  is_str(s, "10.99.0.4", "then .4");
  int got = 0;
  while (ipam_alloc(&n, 0, &ip, &e) == 0)
    got++;
  ok(got == 2, "the rest: .5 and .6, never .7 (broadcast) (%d)", got);
  contains(e.msg, "no available IPv4 addresses", "then full, in docker's words");
  ip4_parse("10.99.0.5", &want);
  ok(ipam_alloc(&n, want, &ip, &e) == -BERTH_ECONFLICT, "asking for a taken address");
  contains(e.msg, "Address already in use", "docker's message");
  ipam_release(&n, want);
  ok(ipam_alloc(&n, want, &ip, &e) == 0 && ip == want, "asking for a free one");
  ip4_parse("10.98.0.5", &want);
  ok(ipam_alloc(&n, want, &ip, &e) == -BERTH_EINVAL, "an address outside the subnet");
  ok(ipam_alloc(&n, gw, &ip, &e) == -BERTH_ECONFLICT, "the gateway");
  ok(!ipam_mark(&n, want + (1u << 8)) || true, "marking outside the range is harmless");
  ipam_net_free(&n);
  ok(ipam_net_init(&n, C("10.99.0.0/24"), C("10.99.0.128/25"), gw) == 0, "a range in a /24");
  ipam_alloc(&n, 0, &ip, &e);
  ip4_format(ip, s);
  is_str(s, "10.99.0.128", "addresses come from the range");
  ip4_parse("10.99.0.9", &want);
  ok(ipam_alloc(&n, want, &ip, &e) == 0, "--ip in the subnet but outside the range is allowed");
  ipam_net_free(&n);
}

static void test_ipv6(void) {
  struct berth_err e = {0};
  struct cidr6 c, d;
  char s[48];
  uint32_t back = 0;
  ok(cidr6_parse("fd00:99::/64", "subnet", &c, &e) == 0, "fd00:99::/64 parses");
  cidr6_format(c, s);
  is_str(s, "fd00:99::/64", "and formats back");
  ok(cidr6_parse("fd00:99::1/64", "subnet", &d, &e) == 0 && !memcmp(d.addr, c.addr, 16),
     "host bits: the network they are in, as dockerd");
  ok(cidr6_parse("fd00::/40", "subnet", &d, &e) == 0 && ip6_pool(d).prefix == 16,
     "a /40: taken, 65536 offsets");
  ok(cidr6_parse("10.0.0.0/8", "subnet", &d, &e) == -BERTH_EINVAL, "IPv4: refused");
  is_str(e.msg, "Invalid subnet 10.0.0.0/8 : invalid CIDR address: 10.0.0.0/8",
         "in dockerd's words");
  ok(cidr6_parse("fd00::/129", "subnet", &d, &e) == -BERTH_EINVAL, "a /129: refused");
  ok(cidr6_parse("fd00:7::/128", "subnet", &d, &e) == 0 && ip6_offset(d, "fd00:7::", &back) < 0,
     "a /128: parses, no offset to hand out");
  ok(cidr6_parse("fd00:99::/80", "subnet", &d, &e) == 0 && cidr6_overlap(c, d),
     "a /80 inside overlaps");
  ok(cidr6_parse("fd00:98::/64", "subnet", &d, &e) == 0 && !cidr6_overlap(c, d),
     "a neighbour does not");
  struct cidr pool = ip6_pool(c);
  ok(pool.prefix == 16, "a /64 hands out 65536 offsets");
  struct ipam_net n;
  uint32_t off = 0;
  ok(ipam_net_init(&n, pool, (struct cidr){0, 0}, 1) == 0, "the offset map");
  ok(ipam_alloc(&n, 0, &off, &e) == 0 && off == 2,
     "the first container: offset 2 (::1 is the gateway)");
  ip6_at(c, off, s);
  is_str(s, "fd00:99::2", "fd00:99::2");
  ok(ip6_offset(c, "fd00:99::2", &back) == 0 && back == 2, "its offset back");
  ok(ip6_offset(c, "fd00:98::2", &back) < 0, "an address of another subnet has none");
  ok(ip6_offset(c, "fd00:99::1:0:2", &back) < 0, "nor one beyond the offsets");
  ipam_net_free(&n);
  ok(cidr6_parse("fd00:5::/120", "subnet", &d, &e) == 0 && ip6_pool(d).prefix == 24,
     "a /120: 256 offsets");
  ip6_at(d, 255, s);
  is_str(s, "fd00:5::ff", "the last of them");
}

int main(void) {
  test_ipv6();
  test_parse();
  test_pools();
  test_alloc();
  return done();
}
