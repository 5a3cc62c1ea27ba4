/* The embedded DNS server's answers, and a fuzz run of what parses
 * untrusted packets (also under ASan in tests/run.sh). */
#include <arpa/inet.h>
#include <ldns/ldns.h>

#include "../../core/network/dns.h"
#include "tap.h"

static int lookup(const char *net, uint32_t client, const char *name, uint32_t *ip,
                  uint8_t ip6[16]) {
  (void)client;
  memset(ip6, 0, 16);
  if (strcmp(net, "n1")) return 0;
  if (!strcmp(name, "web6")) {
    inet_pton(AF_INET6, "fd00:99::2", ip6);
    return *ip = (10u << 24) | (99u << 16) | 3, 1;
  }
  if (!strcmp(name, "db") || !strcmp(name, "database"))
    return *ip = (10u << 24) | (99u << 16) | 2, 1;
  return 0;
}

static size_t query(const char *name, ldns_rr_type t, uint8_t *out) {
  ldns_pkt *q = NULL;
  ldns_pkt_query_new_frm_str(&q, name, t, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_id(q, 4242);
  uint8_t *w = NULL;
  size_t n = 0;
  ldns_pkt2wire(&w, q, &n);
  memcpy(out, w, n);
  free(w);
  ldns_pkt_free(q);
  return n;
}

static ldns_pkt *answer(const char *name, ldns_rr_type t, const char *net, long *r) {
  uint8_t q[512], out[4096];
  size_t n = query(name, t, q);
  *r = dns_answer(q, n, net, 0, lookup, out, sizeof out);
  ldns_pkt *a = NULL;
  if (*r > 0) ldns_wire2pkt(&a, out, (size_t)*r);
  return a;
}

static void test_answers(void) {
  long r;
  ldns_pkt *a = answer("db.", LDNS_RR_TYPE_A, "n1", &r);
  ok(a && ldns_pkt_id(a) == 4242 && ldns_pkt_qr(a), "a reply to the question, same id");
  ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(a) == 1, "one answer");
  char *s = a ? ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(a), 0), 0)) : NULL;
  is_str(s, "10.99.0.2", "the container's address");
  ok(a && ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(a), 0)) == 600, "TTL 600, as docker's");
  free(s);
  ldns_pkt_free(a);
  a = answer("DataBase.", LDNS_RR_TYPE_A, "n1", &r);
  ok(a && ldns_pkt_ancount(a) == 1, "names match whatever the case (an alias)");
  ldns_pkt_free(a);
  a = answer("db.", LDNS_RR_TYPE_AAAA, "n1", &r);
  ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(a) == 0,
     "AAAA of a known name without IPv6: no data, no error");
  ldns_pkt_free(a);
  a = answer("web6.", LDNS_RR_TYPE_AAAA, "n1", &r);
  s = a && ldns_pkt_ancount(a) == 1
          ? ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(a), 0), 0))
          : NULL;
  is_str(s, "fd00:99::2", "AAAA of one with IPv6: its address");
  free(s);
  ldns_pkt_free(a);
  a = answer("db.", LDNS_RR_TYPE_A, "n2", &r);
  ok(!a && r == 0, "another network's container is not ours: forwarded");
  a = answer("example.org.", LDNS_RR_TYPE_A, "n1", &r);
  ok(!a && r == 0, "an outside name: forwarded");
}

static void test_bad(void) {
  uint8_t q[512], out[4096];
  size_t n = query("db.", LDNS_RR_TYPE_A, q);
  ok(dns_answer(q, 5, "n1", 0, lookup, out, sizeof out) == -1, "a truncated header: dropped");
  q[2] |= 0x80; /* QR: a response */
  ok(dns_answer(q, n, "n1", 0, lookup, out, sizeof out) == -1,
     "a response: dropped, never answered");
  q[2] &= 0x7f;
  ok(dns_answer(q, n, "n1", 0, lookup, out, 10) == -1, "no room for the reply: nothing written");
  /* mutate the query many ways; every call must return, in bounds */
  srandom(7);
  int replies = 0;
  for (int i = 0; i < 30000; i++) {
    uint8_t m[512];
    size_t len = n;
    memcpy(m, q, n);
    int edits = 1 + (int)(random() % 4);
    for (int k = 0; k < edits; k++) {
      switch (random() % 3) {
      case 0: m[random() % len] = (uint8_t)random(); break;
      case 1: len = 1 + (size_t)random() % len; break;
      default:
        if (len < sizeof m) m[len++] = (uint8_t)random();
      }
    }
    long r = dns_answer(m, len, "n1", 0, lookup, out, sizeof out);
    if (r > (long)sizeof out) break;
    replies += r > 0;
  }
  ok(1, "30000 mutated packets: no crash, no reply longer than the buffer (%d answered)", replies);
}

int main(void) {
  test_answers();
  test_bad();
  return done();
}
