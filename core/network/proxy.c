/* docker-proxy's IPv6 half, in berthd.  TCP: one accepting thread per
 * listener, one relaying thread per connection (poll on both ends, a
 * buffer each way, half-closes passed on).  UDP: one thread per listener
 * holding its flows.  What a listener holds is counted: the listener and
 * each of its relays; the last to let go frees it. */
#include "proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

struct relay {
  int a, b; /* the client's, the container's */
  struct relay *next;
  struct listener *l;
};

struct listener {
  char owner[65];
  int fd; /* the acceptor's: it closes it when it ends */
  bool udp;
  int wake[2]; /* udp: proxy_remove's word to its thread */
  pthread_t acceptor;
  int refs; /* the acceptor and each relay; with mu */
  bool gone;
  struct sockaddr_in to;
  struct relay *relays;
  struct listener *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct listener *all;

static void put_locked(struct listener *l) {
  if (--l->refs == 0) free(l);
}

static int v6_socket(bool udp) {
  int fd = socket(AF_INET6, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return fd;
}

/* -errno; -EAFNOSUPPORT or -EADDRNOTAVAIL where the host has no IPv6 */
static int v6_bind(int fd, uint16_t port) {
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  sa.sin6_addr = in6addr_any;
  return bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
}

static bool no_v6(int e) {
  return e == EAFNOSUPPORT || e == EADDRNOTAVAIL || e == EPROTONOSUPPORT;
}

bool proxy_v6_free(bool udp, uint16_t port) {
  int fd = v6_socket(udp);
  if (fd < 0) return true;
  int r = v6_bind(fd, port);
  close(fd);
  return r == 0 || no_v6(-r);
}

/* one direction's bytes: 1 moved, 0 its end said EOF, -1 an error */
static int pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n == 0) return 0;
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 1 : -1;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    off += w;
  }
  return 1;
}

static void unlink_relay_locked(struct relay *r) {
  for (struct relay **pp = &r->l->relays; *pp; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  put_locked(r->l);
}

/* the container's end first (here, not in the acceptor: a container that
 * does not answer holds only this connection), then both ways until both
 * ends have said EOF or one fails */
static void *relay_main(void *arg) {
  struct relay *r = arg;
  bool open_ab = connect(r->b, (struct sockaddr *)&r->l->to, sizeof r->l->to) == 0;
  bool open_ba = open_ab; /* not connected: the client's connection is closed, as docker-proxy's */
  while (open_ab || open_ba) {
    struct pollfd p[2] = {{open_ab ? r->a : -1, POLLIN, 0}, {open_ba ? r->b : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    int x = 1;
    if (p[0].revents && (x = pump(r->a, r->b)) <= 0) {
      open_ab = false;
      shutdown(r->b, SHUT_WR); /* the client's half-close, passed on */
    }
    if (x < 0) break;
    if (p[1].revents && (x = pump(r->b, r->a)) <= 0) {
      open_ba = false;
      shutdown(r->a, SHUT_WR);
    }
    if (x < 0) break;
  }
  pthread_mutex_lock(&mu);
  unlink_relay_locked(r);
  pthread_mutex_unlock(&mu);
  close(r->a);
  close(r->b);
  free(r);
  return NULL;
}

static void start_relay(struct listener *l, int client) {
  int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (up < 0) {
    close(client);
    return;
  }
  struct relay *r = xcalloc(1, sizeof *r);
  *r = (struct relay){client, up, NULL, l};
  pthread_mutex_lock(&mu);
  bool gone = l->gone;
  if (!gone) {
    l->refs++;
    r->next = l->relays;
    l->relays = r;
  }
  pthread_mutex_unlock(&mu);
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 64 * 1024);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (gone || pthread_create(&t, &at, relay_main, r) != 0) {
    if (!gone) {
      pthread_mutex_lock(&mu);
      unlink_relay_locked(r);
      pthread_mutex_unlock(&mu);
    }
    close(client);
    close(up);
    free(r);
  }
  pthread_attr_destroy(&at);
}

/* until proxy_remove shuts the socket down; a shortage of descriptors or
 * memory is waited out, not taken for the end */
static void *accept_main(void *arg) {
  struct listener *l = arg;
  for (;;) {
    int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) {
      start_relay(l, c);
      continue;
    }
    pthread_mutex_lock(&mu);
    bool gone = l->gone;
    pthread_mutex_unlock(&mu);
    if (gone) break;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) usleep(100000);
  }
  close(l->fd); /* the port is free once proxy_remove has joined this thread */
  pthread_mutex_lock(&mu);
  put_locked(l);
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* ---- UDP: a flow per client, its own connected socket to the container ---- */

struct flow {
  struct sockaddr_in6 client;
  int fd;
  time_t last;
};

enum { MAX_FLOWS = 1024, FLOW_IDLE_S = 90 };

static struct flow *flow_of(struct listener *l, struct flow *f, size_t *n,
                            const struct sockaddr_in6 *from) {
  for (size_t i = 0; i < *n; i++)
    if (!memcmp(&f[i].client, from, sizeof *from)) return &f[i];
  if (*n == MAX_FLOWS) return NULL;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&l->to, sizeof l->to) < 0) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  f[*n] = (struct flow){*from, fd, 0};
  return &f[(*n)++];
}

/* a datagram from the client on to its flow, or from a flow back */
static void udp_turn(struct listener *l, struct pollfd *p, struct flow *f, size_t *n) {
  char buf[65536];
  time_t now = time(NULL);
  if (p[1].revents) {
    struct sockaddr_in6 from;
    socklen_t fl = sizeof from;
    ssize_t m = recvfrom(l->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    struct flow *x = m >= 0 && fl == sizeof from ? flow_of(l, f, n, &from) : NULL;
    if (x && send(x->fd, buf, (size_t)m, 0) >= 0) x->last = now;
  }
  for (size_t i = 0; i < *n; i++) {
    if (p[2 + i].revents) {
      ssize_t m = recv(f[i].fd, buf, sizeof buf, 0);
      if (m >= 0 && sendto(l->fd, buf, (size_t)m, 0, (struct sockaddr *)&f[i].client,
                           sizeof f[i].client) >= 0)
        f[i].last = now;
    }
  }
  for (size_t i = 0; i < *n;) /* the idle ones forgotten, as docker-proxy's */
    if (now - f[i].last > FLOW_IDLE_S) {
      close(f[i].fd);
      f[i] = f[--*n];
    } else {
      i++;
    }
}

static void *udp_main(void *arg) {
  struct listener *l = arg;
  struct flow *f = xcalloc(MAX_FLOWS, sizeof *f);
  struct pollfd *p = xcalloc(MAX_FLOWS + 2, sizeof *p);
  size_t n = 0;
  for (;;) {
    p[0] = (struct pollfd){l->wake[0], POLLIN, 0};
    p[1] = (struct pollfd){l->fd, POLLIN, 0};
    for (size_t i = 0; i < n; i++)
      p[2 + i] = (struct pollfd){f[i].fd, POLLIN, 0};
    if (poll(p, n + 2, n ? 30000 : -1) < 0 && errno != EINTR) continue;
    if (p[0].revents) break; /* proxy_remove */
    udp_turn(l, p, f, &n);
  }
  for (size_t i = 0; i < n; i++)
    close(f[i].fd);
  free(f);
  free(p);
  close(l->fd);
  close(l->wake[0]);
  close(l->wake[1]);
  pthread_mutex_lock(&mu);
  put_locked(l);
  pthread_mutex_unlock(&mu);
  return NULL;
}

int proxy_add(const char *owner, bool udp, uint16_t host_port, const char *ip4, uint16_t port,
              struct berth_err *err) {
  struct listener *l = xcalloc(1, sizeof *l);
  snprintf(l->owner, sizeof l->owner, "%s", owner);
  l->udp = udp;
  l->wake[0] = l->wake[1] = -1;
  l->to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
  l->refs = 1;
  int r = inet_pton(AF_INET, ip4, &l->to.sin_addr) == 1 ? 0 : -EINVAL;
  l->fd = r == 0 ? v6_socket(udp) : -1;
  if (r == 0 && l->fd < 0) r = -errno;
  if (r == 0) r = v6_bind(l->fd, host_port);
  if (r == 0 && !udp && listen(l->fd, 128) < 0) r = -errno;
  if (r == 0 && udp && pipe2(l->wake, O_CLOEXEC) < 0) r = -errno;
  if (r == 0 && (r = -pthread_create(&l->acceptor, NULL, udp ? udp_main : accept_main, l)) == 0) {
    pthread_mutex_lock(&mu);
    l->next = all;
    all = l;
    pthread_mutex_unlock(&mu);
    return 0;
  }
  if (l->fd >= 0) close(l->fd);
  if (l->wake[0] >= 0) close(l->wake[0]), close(l->wake[1]);
  free(l);
  if (no_v6(-r)) return 1;
  return err_sys_(err, BERTH_ECONFLICT, -r, "listen on [::]:%u/%s (the published port's IPv6 side)",
                  host_port, udp ? "udp" : "tcp");
}

/* the listeners go (their ports free when this returns: the next start
 * of the container binds them again at once), their relays are ended */
void proxy_remove(const char *owner) {
  pthread_t join[16];
  size_t n = 0;
  for (bool more = true; more;) {
    more = false;
    pthread_mutex_lock(&mu);
    for (struct listener **pp = &all; *pp;) {
      struct listener *l = *pp;
      if (strcmp(l->owner, owner)) {
        pp = &l->next;
        continue;
      }
      if (n == ARRAY_SIZE(join)) {
        more = true; /* join these first, then the rest */
        break;
      }
      *pp = l->next;
      l->gone = true;
      if (l->udp && write(l->wake[1], "x", 1) < 0) log_warn("proxy: cannot wake a UDP relay");
      if (!l->udp) shutdown(l->fd, SHUT_RDWR); /* wakes its accept */
      for (struct relay *r = l->relays; r; r = r->next) {
        shutdown(r->a, SHUT_RDWR);
        shutdown(r->b, SHUT_RDWR);
      }
      join[n++] = l->acceptor;
    }
    pthread_mutex_unlock(&mu);
    for (; n > 0; n--)
      pthread_join(join[n - 1], NULL);
  }
}
