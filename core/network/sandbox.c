/* A container's network namespace, set up from berthd: the interface a
 * driver's join names is moved in (unless the driver made it there),
 * renamed (eth0), given its MAC, address
 * and MTU, brought up with lo, and the default route goes via the
 * gateway.  libnl-route-3, on a thread that joined the namespace. */
#include "sandbox.h"

#include <fcntl.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <pthread.h>
#include <sched.h>

#include "ipam.h"

static int nlfail(struct berth_err *err, int e, const char *what, const char *name) {
  return berth_err_set(err, BERTH_EINTERNAL, 0, "sandbox: %s %s: %s", what, name, nl_geterror(e));
}

/* move ifname (in berthd's namespace) into the namespace open at nsfd */
static int move_link(const char *ifname, int nsfd, struct berth_err *err) {
  struct nl_sock *sk = nl_socket_alloc();
  struct rtnl_link *l = NULL, *chg = rtnl_link_alloc();
  int r = sk && chg ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
  if (r == 0) r = rtnl_link_get_kernel(sk, 0, ifname, &l);
  if (r == 0) {
    rtnl_link_set_ns_fd(chg, nsfd);
    r = rtnl_link_change(sk, l, chg, 0);
  }
  if (l) rtnl_link_put(l);
  if (chg) rtnl_link_put(chg);
  if (sk) nl_socket_free(sk);
  return r < 0 ? nlfail(err, r, "move", ifname) : 0;
}

static int link_set(struct nl_sock *sk, const char *name, const struct sandbox_if *s,
                    struct berth_err *err) {
  struct rtnl_link *l = NULL, *chg = rtnl_link_alloc();
  struct nl_addr *mac = NULL;
  int r = chg ? rtnl_link_get_kernel(sk, 0, name, &l) : -NLE_NOMEM;
  if (r == 0 && s) {
    rtnl_link_set_name(chg, s->dst_name);
    if (s->mtu) rtnl_link_set_mtu(chg, (unsigned)s->mtu);
    if (s->mac[0] && nl_addr_parse(s->mac, AF_LLC, &mac) == 0) rtnl_link_set_addr(chg, mac);
  }
  if (r == 0) {
    rtnl_link_set_flags(chg, IFF_UP);
    r = rtnl_link_change(sk, l, chg, 0);
  }
  if (mac) nl_addr_put(mac);
  if (l) rtnl_link_put(l);
  if (chg) rtnl_link_put(chg);
  return r < 0 ? nlfail(err, r, "set up", name) : 0;
}

/* text: "a.b.c.d/n" or an IPv6 "x::y/n" (no duplicate address detection:
 * the address is ours, and DAD would hold it back for a second) */
static int add_addr(struct nl_sock *sk, const char *ifname, const char *text,
                    struct berth_err *err) {
  int af = strchr(text, ':') ? AF_INET6 : AF_INET;
  struct nl_addr *local = NULL;
  struct rtnl_addr *a = rtnl_addr_alloc();
  int idx = (int)if_nametoindex(ifname);
  int r = a && idx ? nl_addr_parse(text, af, &local) : -NLE_NODEV;
  if (r == 0) {
    rtnl_addr_set_ifindex(a, idx);
    rtnl_addr_set_local(a, local);
    if (af == AF_INET6) rtnl_addr_set_flags(a, IFA_F_NODAD);
    r = rtnl_addr_add(sk, a, 0);
  }
  if (local) nl_addr_put(local);
  if (a) rtnl_addr_put(a);
  return r < 0 && r != -NLE_EXIST ? nlfail(err, r, "address", text) : 0;
}

/* gw: an IPv4 or IPv6 address */
static int add_default_route(struct nl_sock *sk, const struct sandbox_if *s, const char *gw,
                             struct berth_err *err) {
  int af = strchr(gw, ':') ? AF_INET6 : AF_INET;
  struct rtnl_route *rt = rtnl_route_alloc();
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
  struct nl_addr *dst = NULL, *via = NULL;
  int r = rt && nh ? nl_addr_parse(af == AF_INET6 ? "::/0" : "0.0.0.0/0", af, &dst) : -NLE_NOMEM;
  if (r == 0) r = nl_addr_parse(gw, af, &via);
  if (r == 0) {
    rtnl_route_set_family(rt, (uint8_t)af);
    rtnl_route_set_dst(rt, dst);
    rtnl_route_nh_set_gateway(nh, via);
    rtnl_route_nh_set_ifindex(nh, (int)if_nametoindex(s->dst_name));
    rtnl_route_add_nexthop(rt, nh);
    nh = NULL; /* the route owns it */
    r = rtnl_route_add(sk, rt, NLM_F_CREATE);
  }
  if (nh) rtnl_route_nh_free(nh);
  if (dst) nl_addr_put(dst);
  if (via) nl_addr_put(via);
  if (rt) rtnl_route_put(rt);
  return r < 0 && r != -NLE_EXIST ? nlfail(err, r, "default route via", gw) : 0;
}

static int set_addresses(struct nl_sock *sk, const struct sandbox_if *s, struct berth_err *err) {
  char ip[16], text[64];
  ip4_format(s->ip, ip);
  snprintf(text, sizeof text, "%s/%d", ip, s->prefix);
  int r = add_addr(sk, s->dst_name, text, err);
  if (r == 0 && s->gateway) {
    ip4_format(s->gateway, ip);
    r = add_default_route(sk, s, ip, err);
  }
  if (r == 0 && s->ip6[0]) {
    snprintf(text, sizeof text, "%s/%d", s->ip6, s->prefix6);
    r = add_addr(sk, s->dst_name, text, err);
  }
  if (r == 0 && s->ip6[0] && s->gateway6[0]) r = add_default_route(sk, s, s->gateway6, err);
  return r;
}

struct inside {
  int nsfd;
  const struct sandbox_if *s;
  struct berth_err *err;
  int ret;
};

static void *inside_main(void *arg) {
  struct inside *in = arg;
  if (unshare(CLONE_FS) < 0 || setns(in->nsfd, CLONE_NEWNET) < 0) {
    in->ret = err_sys(in->err, BERTH_EINTERNAL, "sandbox: join the container's network");
    return NULL;
  }
  struct nl_sock *sk = nl_socket_alloc();
  int r = sk ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
  if (r < 0) {
    in->ret = nlfail(in->err, r, "netlink", "socket");
  } else {
    in->ret = link_set(sk, "lo", NULL, in->err);
    if (in->ret == 0 && in->s) in->ret = link_set(sk, in->s->src_name, in->s, in->err);
    if (in->ret == 0 && in->s) in->ret = set_addresses(sk, in->s, in->err);
  }
  if (sk) nl_socket_free(sk);
  return NULL;
}

int sandbox_setup(pid_t pid, const struct sandbox_if *s, struct berth_err *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "sandbox: open %s", path);
  /* made inside already by the driver (berth.netns), or moved in now */
  int r = s && if_nametoindex(s->src_name) ? move_link(s->src_name, fd, err) : 0;
  if (r == 0) {
    /* a thread of its own: it stays in the container's namespace and ends */
    struct inside in = {fd, s, err, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, inside_main, &in) != 0)
      r = berth_err_set(err, BERTH_EINTERNAL, 0, "sandbox: no thread");
    else {
      pthread_join(t, NULL);
      r = in.ret;
    }
  }
  close(fd);
  return r;
}
