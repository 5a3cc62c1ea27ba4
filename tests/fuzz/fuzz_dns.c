/* libFuzzer: the embedded DNS server's answering function
 * (core/network/dns.c) — any datagram a container can send to its
 * network's gateway.  The lookup knows "web" (with an IPv6 address) and
 * "db" (without); every reply must fit the buffer it was given and parse
 * back as DNS with the question's id. */
#include "../../core/network/dns.h"
#include <ldns/ldns.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int lookup(const char *net_id, uint32_t client, const char *name, uint32_t *ip,
                  uint8_t ip6[16]) {
  (void)net_id;
  (void)client;
  if (!strcmp(name, "web")) {
    *ip = 0x0a000002;
    memset(ip6, 0, 16);
    ip6[0] = 0xfd, ip6[15] = 2;
    return 1;
  }
  if (!strcmp(name, "db")) {
    *ip = 0x0a000003;
    memset(ip6, 0, 16);
    return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const size_t room[] = {512, 64, 12};
  for (size_t i = 0; i < 3; i++) {
    uint8_t *out = malloc(room[i]);
    long n = dns_answer(data, size, "net", 0x0a000005, lookup, out, room[i]);
    if (n > (long)room[i]) abort();
    if (n > 0) {
      ldns_pkt *p = NULL;
      if (ldns_wire2pkt(&p, out, (size_t)n) != LDNS_STATUS_OK) abort();
      if (size >= 2 && ldns_pkt_id(p) != (uint16_t)(data[0] << 8 | data[1])) abort();
      ldns_pkt_free(p);
    }
    free(out);
  }
  return 0;
}
