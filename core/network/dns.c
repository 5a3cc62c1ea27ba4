#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/lazylib.h"
#include "../util/util.h"

#define TTL 600 /* as docker's */

/* a reply built from the question: same id and question, QR, RA */
static ldns_pkt *reply_to(const ldns_pkt *q, ldns_pkt_rcode rcode) {
  ldns_pkt *a = ldns_pkt_new();
  if (!a) return NULL;
  ldns_pkt_set_id(a, ldns_pkt_id(q));
  ldns_pkt_set_qr(a, true);
  ldns_pkt_set_aa(a, true);
  ldns_pkt_set_rd(a, ldns_pkt_rd(q));
  ldns_pkt_set_ra(a, true);
  ldns_pkt_set_rcode(a, rcode);
  ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
  if (qrr) ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
  return a;
}

static long to_wire(ldns_pkt *a, uint8_t *out, size_t out_len) {
  uint8_t *wire = NULL;
  size_t n = 0;
  long r = ldns_pkt2wire(&wire, a, &n) == LDNS_STATUS_OK && n <= out_len ? (long)n : -1;
  if (r > 0) memcpy(out, wire, n);
  free(wire);
  ldns_pkt_free(a);
  return r;
}

/* the question's name, lowercase, without the trailing dot */
static bool question_name(const ldns_rr *qrr, char *name, size_t len) {
  char *s = ldns_rdf2str(ldns_rr_owner(qrr));
  if (!s) return false;
  size_t l = strlen(s);
  if (l && s[l - 1] == '.') s[--l] = 0;
  bool ok = l > 0 && l < len;
  for (size_t i = 0; ok && i <= l; i++)
    name[i] = (char)tolower((unsigned char)s[i]);
  free(s);
  return ok;
}

/* ldns, opened at the first question (lazylib.h); a line in the log, once,
 * if it cannot be: the questions then go unanswered */
static bool have_ldns(void) {
  static bool told;
  if (lazylib_open(&lazy_libldns)) return true; /* every question: no error to build */
  struct berth_err e = {0};
  lazylib_fail(&lazy_libldns, &e);
  if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED)) log_error("dns: %s", e.msg);
  return false;
}

long dns_answer(const uint8_t *q, size_t len, const char *net_id, uint32_t client,
                dns_lookup_fn lookup, uint8_t *out, size_t out_len) {
  if (!have_ldns()) return -1;
  ldns_pkt *pkt = NULL;
  if (ldns_wire2pkt(&pkt, q, len) != LDNS_STATUS_OK || !pkt) return -1;
  long r = 0;
  ldns_rr *qrr = ldns_pkt_qdcount(pkt) == 1 ? ldns_rr_list_rr(ldns_pkt_question(pkt), 0) : NULL;
  char name[256];
  uint32_t ip;
  uint8_t ip6[16] = {0};
  if (ldns_pkt_qr(pkt)) {
    r = -1; /* a response sent to us: never answered (no loops) */
  } else if (ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY || !qrr) {
    r = to_wire(reply_to(pkt, LDNS_RCODE_FORMERR), out, out_len);
  } else if (question_name(qrr, name, sizeof name) && ldns_rr_get_class(qrr) == LDNS_RR_CLASS_IN &&
             lookup(net_id, client, name, &ip, ip6) == 1) {
    ldns_pkt *a = reply_to(pkt, LDNS_RCODE_NOERROR);
    static const uint8_t none[16];
    char addr[64] = "";
    if (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_A)
      snprintf(addr, sizeof addr, "A %u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
               ip & 255);
    else if (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_AAAA && memcmp(ip6, none, 16)) {
      memcpy(addr, "AAAA ", 5);
      inet_ntop(AF_INET6, ip6, addr + 5, sizeof addr - 5);
    }
    if (a && addr[0]) {
      char rr_text[400];
      snprintf(rr_text, sizeof rr_text, "%s. %d IN %s", name, TTL, addr);
      ldns_rr *rr = NULL;
      if (ldns_rr_new_frm_str(&rr, rr_text, TTL, NULL, NULL) == LDNS_STATUS_OK)
        ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
    } /* the rest of a known name: no data, NOERROR */
    r = a ? to_wire(a, out, out_len) : -1;
  }
  ldns_pkt_free(pkt);
  return r;
}

/* ---------------- the server ---------------- */

struct listener {
  char net_id[65];
  int fd;
};

static struct {
  pthread_mutex_t lock;
  struct listener *v;
  size_t n;
  int wake[2];
  dns_lookup_fn lookup;
  dns_upstream_fn upstream;
  bool started;
  uint64_t gen; /* changes with the listeners: the poll set is rebuilt */
} S = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, {-1, -1}, NULL, NULL, false, 1};

/* the host's resolvers that are not loopback (inside a network namespace of
 * its own, a container cannot reach the host's 127.0.0.53) */
static size_t upstreams(const char *own, struct sockaddr_in *out, size_t max) {
  size_t n = 0;
  char ip[64];
  for (const char *p = own; *p && n < max;) { /* the container's --dns */
    size_t l = strcspn(p, ",");
    struct in_addr a;
    snprintf(ip, sizeof ip, "%.*s", (int)(l < 63 ? l : 63), p);
    if (inet_pton(AF_INET, ip, &a) == 1)
      out[n++] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = a};
    p += l + (p[l] == ',');
  }
  if (n) return n;
  FILE *f = fopen("/etc/resolv.conf", "r");
  char line[256];
  while (f && n < max && fgets(line, sizeof line, f)) {
    struct in_addr a;
    if (sscanf(line, " nameserver %63s", ip) != 1 || inet_pton(AF_INET, ip, &a) != 1) continue;
    if ((ntohl(a.s_addr) >> 24) == 127) continue;
    out[n++] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = a};
  }
  if (f) fclose(f);
  return n;
}

struct fwd {
  char own[128]; /* the container's --dns servers */
  int reply_fd;
  struct sockaddr_in client;
  size_t len;
  uint8_t q[512];
};

static long servfail(const uint8_t *q, size_t len, uint8_t *out, size_t out_len) {
  if (!have_ldns()) return -1;
  ldns_pkt *pkt = NULL;
  if (ldns_wire2pkt(&pkt, q, len) != LDNS_STATUS_OK || !pkt) return -1;
  long r = to_wire(reply_to(pkt, LDNS_RCODE_SERVFAIL), out, out_len);
  ldns_pkt_free(pkt);
  return r;
}

/* ask the host's resolvers, in turn, 2 s each; SERVFAIL when none answers */
static void *forward_main(void *arg) {
  struct fwd *f = arg;
  struct sockaddr_in up[3];
  size_t nu = upstreams(f->own, up, 3);
  uint8_t ans[4096];
  long n = -1;
  for (size_t i = 0; i < nu && n <= 0; i++) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) continue;
    struct pollfd p = {s, POLLIN, 0};
    if (sendto(s, f->q, f->len, 0, (struct sockaddr *)&up[i], sizeof up[i]) == (ssize_t)f->len &&
        poll(&p, 1, 2000) == 1)
      n = recv(s, ans, sizeof ans, 0);
    close(s);
  }
  if (n <= 0) n = servfail(f->q, f->len, ans, sizeof ans);
  if (n > 0)
    sendto(f->reply_fd, ans, (size_t)n, 0, (struct sockaddr *)&f->client, sizeof f->client);
  free(f);
  return NULL;
}

static void serve_one(const struct listener *l) {
  uint8_t q[512], out[4096];
  struct sockaddr_in client;
  socklen_t cl = sizeof client;
  ssize_t n = recvfrom(l->fd, q, sizeof q, MSG_DONTWAIT, (struct sockaddr *)&client, &cl);
  if (n <= 0) return;
  long r =
      dns_answer(q, (size_t)n, l->net_id, ntohl(client.sin_addr.s_addr), S.lookup, out, sizeof out);
  if (r > 0) {
    sendto(l->fd, out, (size_t)r, 0, (struct sockaddr *)&client, cl);
  } else if (r == 0) {
    struct fwd *f = xcalloc(1, sizeof *f);
    f->reply_fd = l->fd, f->client = client, f->len = (size_t)n;
    if (S.upstream) S.upstream(l->net_id, ntohl(client.sin_addr.s_addr), f->own, sizeof f->own);
    memcpy(f->q, q, (size_t)n);
    pthread_t t;
    if (pthread_create(&t, NULL, forward_main, f) == 0)
      pthread_detach(t);
    else
      free(f);
  }
}

/* the poll set (the wake pipe, then each listener), rebuilt only when the
 * listeners changed; with S.lock held */
static void poll_set_locked(struct pollfd **p, size_t *n, size_t *cap, uint64_t *gen) {
  if (*gen == S.gen) return;
  if (S.n + 1 > *cap) {
    *cap = S.n + 8;
    *p = xrealloc(*p, *cap * sizeof **p);
  }
  (*p)[0] = (struct pollfd){S.wake[0], POLLIN, 0};
  for (size_t i = 0; i < S.n; i++)
    (*p)[i + 1] = (struct pollfd){S.v[i].fd, POLLIN, 0};
  *n = S.n;
  *gen = S.gen;
}

static void *dns_main(void *arg) {
  (void)arg;
  struct pollfd *p = NULL;
  size_t n = 0, cap = 0;
  uint64_t gen = 0;
  for (;;) {
    pthread_mutex_lock(&S.lock);
    poll_set_locked(&p, &n, &cap, &gen);
    pthread_mutex_unlock(&S.lock);
    if (poll(p, n + 1, -1) <= 0) continue;
    if (p[0].revents) {
      char b[64];
      if (read(S.wake[0], b, sizeof b) < 0) {
      }
    }
    pthread_mutex_lock(&S.lock); /* a listener removed meanwhile is not served */
    for (size_t i = 0; gen == S.gen && i < n; i++)
      if (p[i + 1].revents) serve_one(&S.v[i]);
    pthread_mutex_unlock(&S.lock);
  }
  return NULL;
}

int dns_start(dns_lookup_fn lookup, dns_upstream_fn upstream) {
  if (S.started) return 0;
  S.lookup = lookup;
  S.upstream = upstream;
  if (pipe2(S.wake, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
  pthread_t t;
  if (pthread_create(&t, NULL, dns_main, NULL)) return -EAGAIN;
  pthread_detach(t);
  S.started = true;
  return 0;
}

static void wake(void) {
  if (write(S.wake[1], "w", 1) < 0) {
  }
}

int dns_add(const char *net_id, uint32_t gateway) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
  sa.sin_addr.s_addr = htonl(gateway);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  pthread_mutex_lock(&S.lock);
  S.v = xrealloc(S.v, (S.n + 1) * sizeof *S.v);
  S.v[S.n] = (struct listener){"", fd};
  snprintf(S.v[S.n].net_id, sizeof S.v[S.n].net_id, "%s", net_id);
  S.n++;
  S.gen++;
  pthread_mutex_unlock(&S.lock);
  wake();
  return 0;
}

void dns_remove(const char *net_id) {
  pthread_mutex_lock(&S.lock);
  for (size_t i = 0; i < S.n; i++)
    if (!strcmp(S.v[i].net_id, net_id)) {
      close(S.v[i].fd);
      S.v[i] = S.v[--S.n];
      S.gen++;
      break;
    }
  pthread_mutex_unlock(&S.lock);
  wake();
}
