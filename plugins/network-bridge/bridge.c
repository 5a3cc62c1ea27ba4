/* bridge: docker's default network driver, on libnl-route-3.  A network is
 * a Linux bridge holding the gateway address (berth0 for the default
 * network "bridge", br-<12 hex of the id> for the others, or the name in
 * com.docker.network.bridge.name); an endpoint is a veth pair whose host
 * side is a port of the bridge (hairpin on) and whose other side is made in
 * the container's namespace when the core says where (berth.netns), else
 * moved there by the core.  NAT, published ports and isolation between
 * networks are berth's own nftables tables (ip, ip6 berth), through
 * libnftables.
 *
 * daemon.conf (network.bridge): default-name ("berth0"), mtu (1500).
 * Options (network create -o): com.docker.network.bridge.name,
 * com.docker.network.driver.mtu, com.docker.network.bridge.enable_icc
 * (false: the containers' ports are isolated from each other),
 * com.docker.network.bridge.enable_ip_masquerade (false: no masquerade);
 * com.docker.network.bridge.host_binding_ipv4 is the core's (the default
 * host address of -p).
 * What each network and endpoint is made of is kept with host->state_*,
 * so every op can be repeated after a crash.  Not thread-safe: berthd
 * serialises the calls. */
#include <berth/network.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conf {
  const char *default_name;
  int64_t mtu;
};

/* what the NAT table is made from: every network's bridge and subnet,
 * every endpoint's published ports (the core calls create_network and
 * publish again after a restart, so memory is enough) */
struct bnet {
  char id[65], bridge[IFNAMSIZ], subnet[48], subnet6[48]; /* subnet6: "" without IPv6 */
  int internal, masq;
};
struct bport {
  char ep[65];
  struct berth_port_binding b;
};

struct drv {
  const struct berth_host *host;
  struct conf conf;
  struct nl_sock *nl;
  struct bnet *nets;
  size_t n_nets;
  struct bport *ports;
  size_t n_ports;
  struct nft_ctx *nft; /* made once: a context costs more than a change */
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("default-name", BERTH_CONF_STRING, struct conf, default_name, "berth0"),
    BERTH_CONF_KEY("mtu", BERTH_CONF_INT, struct conf, mtu, "1500"),
};

static int nlerr(struct berth_err *err, int e, const char *what, const char *name) {
  return berth_err_set(err, -e == NLE_EXIST ? BERTH_ECONFLICT : BERTH_EINTERNAL, 0, "%s %s: %s",
                       what, name, nl_geterror(e));
}

static int b_init(const struct berth_host *host, void **out, struct berth_err *err) {
  struct drv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r == 0 && (strlen(d->conf.default_name) >= IFNAMSIZ || !*d->conf.default_name))
    r = berth_err_set(err, BERTH_EINVAL, 0, "default-name must be 1 to 15 characters");
  if (r == 0 && (d->conf.mtu < 68 || d->conf.mtu > 65535))
    r = berth_err_set(err, BERTH_EINVAL, 0, "mtu must be 68 to 65535");
  if (r == 0 && (!(d->nl = nl_socket_alloc()) || nl_connect(d->nl, NETLINK_ROUTE) < 0))
    r = berth_err_set(err, BERTH_ESKIP, 0, "no rtnetlink socket");
  if (r < 0) {
    if (d->nl) nl_socket_free(d->nl);
    free(d);
    return r;
  }
  *out = d;
  return 0;
}

static void b_fini(void *drv) {
  struct drv *d = drv;
  nl_socket_free(d->nl);
  if (d->nft) nft_ctx_free(d->nft);
  free(d->nets);
  free(d->ports);
  free(d);
}

static const char *opt(const struct berth_kv *opts, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(BERTH_ELEM(opts, i)->key, key)) return BERTH_ELEM(opts, i)->value;
  return NULL;
}

/* a state value as a string in out ("" when absent); -code on I/O errors */
static int get(struct drv *d, const char *obj, const char *key, char *out, size_t len,
               struct berth_err *err) {
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  int r = d->host->state_get(d->host, obj, key, &b, err);
  snprintf(out, len, "%.*s", r == 0 ? (int)b.len : 0, r == 0 && b.data ? b.data : "");
  free(b.data);
  return r == -BERTH_ENOTFOUND ? 0 : r;
}

static int put(struct drv *d, const char *obj, const char *key, const char *v,
               struct berth_err *err) {
  return d->host->state_put(d->host, obj, key, v, strlen(v), err);
}

/* set flags (IFF_UP) and master on a link by name; master 0: unchanged */
static int link_up(struct drv *d, const char *name, int master, struct berth_err *err) {
  struct rtnl_link *l = NULL, *chg = rtnl_link_alloc();
  int r = rtnl_link_get_kernel(d->nl, 0, name, &l);
  if (r == 0 && chg) {
    rtnl_link_set_flags(chg, IFF_UP);
    if (master) rtnl_link_set_master(chg, master);
    r = rtnl_link_change(d->nl, l, chg, 0);
  }
  if (l) rtnl_link_put(l);
  if (chg) rtnl_link_put(chg);
  return r < 0 ? nlerr(err, r, "bring up", name) : 0;
}

/* A bridge port's flags.  Hairpin mode: what the bridge receives on it may
 * go back out of it (a container reaching its own published port through
 * the host's address: DNAT sends it back where it came from).  Isolated
 * (enable_icc=false): no traffic with the bridge's other isolated ports,
 * i.e. the other containers; the gateway and the way out are not ports. */
static int port_flags(struct drv *d, const char *name, bool isolated, struct berth_err *err) {
  /* RTM_SETLINK for AF_BRIDGE with IFLA_PROTINFO { IFLA_BRPORT_MODE 1,
   * IFLA_BRPORT_ISOLATED }: libnl's bridge link objects cannot change a
   * port's flags in place */
  struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = (int)if_nametoindex(name)};
  struct nl_msg *m = ifi.ifi_index ? nlmsg_alloc_simple(RTM_SETLINK, 0) : NULL;
  int r = m ? nlmsg_append(m, &ifi, sizeof ifi, NLMSG_ALIGNTO) : -NLE_NODEV;
  struct nlattr *pi = r == 0 ? nla_nest_start(m, IFLA_PROTINFO | NLA_F_NESTED) : NULL;
  if (r == 0 && !pi) r = -NLE_NOMEM;
  if (r == 0) r = nla_put_u8(m, IFLA_BRPORT_MODE, 1);
  if (r == 0 && isolated) r = nla_put_u8(m, IFLA_BRPORT_ISOLATED, 1);
  if (r == 0) r = nla_nest_end(m, pi);
  if (r == 0)
    r = nl_send_sync(d->nl, m); /* frees m */
  else if (m)
    nlmsg_free(m);
  return r < 0 ? nlerr(err, r, "port flags of", name) : 0;
}

static int add_address(struct drv *d, const char *ifname, const char *cidr, struct berth_err *err) {
  struct nl_addr *local = NULL;
  struct rtnl_addr *a = rtnl_addr_alloc();
  int idx = (int)if_nametoindex(ifname);
  int af = strchr(cidr, ':') ? AF_INET6 : AF_INET;
  int r = a && idx ? nl_addr_parse(cidr, af, &local) : -NLE_NOMEM;
  if (r == 0) {
    rtnl_addr_set_ifindex(a, idx);
    rtnl_addr_set_local(a, local);
    if (af == AF_INET6) rtnl_addr_set_flags(a, IFA_F_NODAD); /* usable at once */
    r = rtnl_addr_add(d->nl, a, 0);
    if (r == -NLE_EXIST) r = 0; /* there already */
  }
  if (local) nl_addr_put(local);
  if (a) rtnl_addr_put(a);
  return r < 0 ? nlerr(err, r, "address", ifname) : 0;
}

/* ---------------- NAT: berth's own nftables table ----------------
 * `table ip berth`, replaced whole and atomically at every change (one nft
 * transaction: add, delete, add), never anything of anyone else's.
 *   postrouting: masquerade what leaves a network's subnet for another
 *     interface, and what the host sends to a published port from 127/8
 *     (route_localnet is on for the bridge: local access needs no proxy
 *     process and no copy, the kernel forwards)
 *   prerouting, output: DNAT for each published port (the host's addresses,
 *     or the one given), so other machines and the host itself reach it
 *   forward: no traffic between two berth bridges (network isolation); none
 *     in or out of an --internal network's bridge but its own */

static const char *proto_name(uint32_t p) {
  return p == 17 ? "udp" : p == 132 ? "sctp" : "tcp";
}

struct text {
  char *s;
  size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->s && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = (t->cap + (size_t)n + 1) * 2;
    char *ns = realloc(t->s, cap);
    if (!ns) return;
    t->s = ns, t->cap = cap;
  }
}

/* a network's rules in table fam ("ip" or "ip6") for its subnet of that
 * family: masquerade out, --internal, no traffic with the other bridges;
 * on IPv4 also the host's own 127/8 access and hairpin NAT */
static void render_net(struct text *t, const char *fam, const char *subnet, const struct bnet *n,
                       const struct drv *d) {
  bool v4 = !strcmp(fam, "ip");
  if (n->masq && !n->internal)
    add(t, "add rule %s berth postrouting %s saddr %s oifname != \"%s\" masquerade\n", fam, fam,
        subnet, n->bridge);
  if (v4) {
    add(t, "add rule ip berth postrouting ip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n",
        n->bridge);
    /* hairpin: a container reaching a published port of its own network
     * through the host's address; the answer must come back through the NAT */
    add(t, "add rule ip berth postrouting ip saddr %s oifname \"%s\" ct status dnat masquerade\n",
        subnet, n->bridge);
  }
  if (n->internal)
    add(t,
        "add rule %s berth forward iifname \"%s\" oifname != \"%s\" drop\n"
        "add rule %s berth forward oifname \"%s\" iifname != \"%s\" drop\n",
        fam, n->bridge, n->bridge, fam, n->bridge, n->bridge);
  for (size_t k = 0; k < d->n_nets; k++)
    if (strcmp(d->nets[k].bridge, n->bridge))
      add(t, "add rule %s berth forward iifname \"%s\" oifname \"%s\" drop\n", fam, n->bridge,
          d->nets[k].bridge);
}

/* `table ip6 berth`, there while a network has an IPv6 subnet */
static void render_ip6(struct text *t, const struct drv *d) {
  bool any = false;
  for (size_t i = 0; i < d->n_nets; i++)
    any |= d->nets[i].subnet6[0] != 0;
  add(t, "add table ip6 berth\ndelete table ip6 berth\n");
  if (!any) return;
  add(t, "add table ip6 berth\n"
         "add chain ip6 berth postrouting { type nat hook postrouting priority srcnat; }\n"
         "add chain ip6 berth forward { type filter hook forward priority filter; }\n");
  for (size_t i = 0; i < d->n_nets; i++)
    if (d->nets[i].subnet6[0]) render_net(t, "ip6", d->nets[i].subnet6, &d->nets[i], d);
}

static void render_port(struct text *t, const struct berth_port_binding *b) {
  char match[80];
  if (b->host_ip[0] && strcmp(b->host_ip, "0.0.0.0"))
    snprintf(match, sizeof match, "ip daddr %s", b->host_ip);
  else
    snprintf(match, sizeof match, "fib daddr type local");
  const char *chains[] = {"prerouting", "output"};
  for (int c = 0; c < 2; c++)
    add(t, "add rule ip berth %s %s %s dport %u dnat to %s:%u\n", chains[c], match,
        proto_name(b->proto), b->host_port, b->container_ip, b->container_port);
}

static int apply_nat(struct drv *d, struct berth_err *err) {
  struct text t = {0};
  add(&t, "add table ip berth\ndelete table ip berth\n");
  if (d->n_nets) {
    add(&t, "add table ip berth\n"
            "add chain ip berth postrouting { type nat hook postrouting priority srcnat; }\n"
            "add chain ip berth prerouting { type nat hook prerouting priority dstnat; }\n"
            "add chain ip berth output { type nat hook output priority -100; }\n"
            "add chain ip berth forward { type filter hook forward priority filter; }\n");
    for (size_t i = 0; i < d->n_nets; i++)
      render_net(&t, "ip", d->nets[i].subnet, &d->nets[i], d);
    for (size_t i = 0; i < d->n_ports; i++)
      render_port(&t, &d->ports[i].b);
  }
  render_ip6(&t, d);
  if (!t.s) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  if (!d->nft && (d->nft = nft_ctx_new(NFT_CTX_DEFAULT))) nft_ctx_buffer_error(d->nft);
  int r = 0;
  if (!d->nft)
    r = berth_err_set(err, BERTH_EINTERNAL, 0, "nftables: no context");
  else if (nft_run_cmd_from_buffer(d->nft, t.s) != 0)
    r = berth_err_set(err, BERTH_EINTERNAL, 0, "nftables: %s", nft_ctx_get_error_buffer(d->nft));
  free(t.s);
  return r;
}

/* a sysctl of this network namespace */
static void sysctl_set(const char *path, const char *v) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(v, f);
    fclose(f);
  }
}

static struct bnet *find_net(struct drv *d, const char *id) {
  for (size_t i = 0; i < d->n_nets; i++)
    if (!strcmp(d->nets[i].id, id)) return &d->nets[i];
  return NULL;
}

static int remember_net(struct drv *d, const struct berth_net_create_req *req, const char *bridge,
                        int masq, struct berth_err *err) {
  struct bnet *n = find_net(d, req->network_id);
  if (!n) {
    struct bnet *nv = realloc(d->nets, (d->n_nets + 1) * sizeof *nv);
    if (!nv) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
    d->nets = nv;
    n = &d->nets[d->n_nets++];
  }
  memset(n, 0, sizeof *n);
  snprintf(n->id, sizeof n->id, "%s", req->network_id);
  snprintf(n->bridge, sizeof n->bridge, "%s", bridge);
  snprintf(n->subnet, sizeof n->subnet, "%s", req->subnet);
  const char *sub6 = opt(req->opts, req->n_opts, "berth.ipv6.subnet");
  snprintf(n->subnet6, sizeof n->subnet6, "%s", sub6 ? sub6 : "");
  n->internal = (int)req->internal, n->masq = masq;
  char p[128];
  snprintf(p, sizeof p, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
  sysctl_set(p, "1");
  if (masq && !req->internal) sysctl_set("/proc/sys/net/ipv4/ip_forward", "1");
  if (sub6 && masq && !req->internal) /* as docker's --ipv6 does */
    sysctl_set("/proc/sys/net/ipv6/conf/all/forwarding", "1");
  return apply_nat(d, err);
}

static void forget_ports(struct drv *d, const char *ep) {
  for (size_t i = 0; i < d->n_ports;)
    if (!ep || !strcmp(d->ports[i].ep, ep))
      d->ports[i] = d->ports[--d->n_ports];
    else
      i++;
}

static int forget_net(struct drv *d, const char *id, struct berth_err *err) {
  struct bnet *n = find_net(d, id);
  if (!n) return 0;
  *n = d->nets[--d->n_nets];
  return apply_nat(d, err);
}

static int bridge_name(struct drv *d, const struct berth_net_create_req *req, char out[IFNAMSIZ],
                       struct berth_err *err) {
  const char *given = opt(req->opts, req->n_opts, "com.docker.network.bridge.name");
  if (given && (!*given || strlen(given) >= IFNAMSIZ || strchr(given, '/')))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "bridge name \"%s\" is not valid: 1 to 15 characters, no '/'", given);
  if (given)
    snprintf(out, IFNAMSIZ, "%s", given);
  else if (!strcmp(req->name, "bridge"))
    snprintf(out, IFNAMSIZ, "%s", d->conf.default_name);
  else
    snprintf(out, IFNAMSIZ, "br-%.12s", req->network_id);
  return 0;
}

/* A bridge takes the lowest MAC of its ports unless it has one of its own:
 * then removing a container's veth changes the gateway's MAC and every other
 * container's ARP entry for it goes stale (no traffic until it expires).  So
 * each bridge gets a fixed, locally administered MAC made from its network's
 * id, as docker gives one. */
static int make_bridge(struct drv *d, const char *name, const char *network_id, int64_t mtu,
                       struct berth_err *err) {
  if (if_nametoindex(name)) return 0; /* there already (a restart, or made by hand) */
  struct rtnl_link *l = rtnl_link_bridge_alloc();
  if (!l) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  char mac_text[18];
  snprintf(mac_text, sizeof mac_text, "02:%.2s:%.2s:%.2s:%.2s:%.2s", network_id, network_id + 2,
           network_id + 4, network_id + 6, network_id + 8);
  struct nl_addr *mac = NULL;
  rtnl_link_set_name(l, name);
  rtnl_link_set_mtu(l, (unsigned)mtu);
  if (strlen(network_id) >= 10 && nl_addr_parse(mac_text, AF_LLC, &mac) == 0)
    rtnl_link_set_addr(l, mac);
  int r = rtnl_link_add(d->nl, l, NLM_F_CREATE | NLM_F_EXCL);
  if (mac) nl_addr_put(mac);
  rtnl_link_put(l);
  return r < 0 ? nlerr(err, r, "create bridge", name) : 0;
}

static int b_create_network(void *drv, const struct berth_net_create_req *req,
                            struct berth_err *err) {
  struct drv *d = drv;
  char name[IFNAMSIZ], gw[64] = "", mtus[16];
  int r = bridge_name(d, req, name, err);
  if (r < 0) return r;
  const char *m = opt(req->opts, req->n_opts, "com.docker.network.driver.mtu");
  int64_t mtu = m ? strtoll(m, NULL, 10) : d->conf.mtu;
  if (mtu < 68 || mtu > 65535)
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid MTU %s: 68 to 65535", m);
  const char *slash = strchr(req->subnet, '/');
  if (req->gateway[0] && slash) snprintf(gw, sizeof gw, "%s%s", req->gateway, slash);
  snprintf(mtus, sizeof mtus, "%lld", (long long)mtu);
  const char *icc = opt(req->opts, req->n_opts, "com.docker.network.bridge.enable_icc");
  const char *masq = opt(req->opts, req->n_opts, "com.docker.network.bridge.enable_ip_masquerade");
  const char *gw6 = opt(req->opts, req->n_opts, "berth.ipv6.gateway"); /* the core's, with --ipv6 */
  if ((r = make_bridge(d, name, req->network_id, mtu, err)) < 0) return r;
  if ((gw[0] && (r = add_address(d, name, gw, err)) < 0) ||
      (gw6 && (r = add_address(d, name, gw6, err)) < 0) || (r = link_up(d, name, 0, err)) < 0 ||
      (r = put(d, req->network_id, "bridge", name, err)) < 0 ||
      (r = put(d, req->network_id, "gateway", req->gateway, err)) < 0 ||
      (r = put(d, req->network_id, "mtu", mtus, err)) < 0 ||
      (r = put(d, req->network_id, "internal", req->internal ? "1" : "0", err)) < 0 ||
      (r = put(d, req->network_id, "icc", icc && !strcmp(icc, "false") ? "0" : "1", err)) < 0 ||
      (r = put(d, req->network_id, "masquerade", masq && !strcmp(masq, "false") ? "0" : "1", err)) <
          0 ||
      (r = remember_net(d, req, name, !(masq && !strcmp(masq, "false")), err)) < 0) {
    struct rtnl_link *l = rtnl_link_alloc();
    if (l) {
      rtnl_link_set_name(l, name);
      rtnl_link_delete(d->nl, l); /* nothing half-made */
      rtnl_link_put(l);
    }
    d->host->state_del(d->host, req->network_id, NULL, NULL);
  }
  return r;
}

static int delete_link(struct drv *d, const char *name, struct berth_err *err) {
  if (!*name || !if_nametoindex(name)) return 0;
  struct rtnl_link *l = rtnl_link_alloc();
  if (!l) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  rtnl_link_set_name(l, name);
  int r = rtnl_link_delete(d->nl, l);
  rtnl_link_put(l);
  return r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV ? nlerr(err, r, "delete", name) : 0;
}

static int b_delete_network(void *drv, const char *network_id, struct berth_err *err) {
  struct drv *d = drv;
  char name[64];
  int r = get(d, network_id, "bridge", name, sizeof name, err);
  if (r == 0) r = forget_net(d, network_id, err);
  if (r == 0) r = delete_link(d, name, err);
  if (r == 0) r = d->host->state_del(d->host, network_id, NULL, err);
  return r;
}

/* the endpoint's two interface names: veth<7 hex> on the host, vp<7 hex>
 * until the core moves it into the container */
static void veth_names(const char *ep, char host[IFNAMSIZ], char peer[IFNAMSIZ]) {
  snprintf(host, IFNAMSIZ, "veth%.7s", ep);
  snprintf(peer, IFNAMSIZ, "vp%.7s", ep);
}

/* the veth pair; its peer made in the sandbox at netns when given (no
 * move later: moving an interface costs the kernel an RCU grace period) */
static int make_veth(struct drv *d, const char *host, const char *peer, unsigned mtu,
                     const char *netns, struct berth_err *err) {
  int nsfd = netns ? open(netns, O_RDONLY | O_CLOEXEC) : -1;
  if (netns && nsfd < 0)
    return berth_err_set(err, BERTH_EINTERNAL, errno, "open %s: %s", netns, strerror(errno));
  struct rtnl_link *l = rtnl_link_veth_alloc();
  int r = l ? 0 : -NLE_NOMEM;
  if (l) {
    rtnl_link_set_name(l, host);
    rtnl_link_set_mtu(l, mtu);
    struct rtnl_link *p = rtnl_link_veth_get_peer(l);
    rtnl_link_set_name(p, peer);
    rtnl_link_set_mtu(p, mtu);
    if (nsfd >= 0) rtnl_link_set_ns_fd(p, nsfd);
    rtnl_link_put(p);
    r = rtnl_link_add(d->nl, l, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(l);
  }
  if (nsfd >= 0) close(nsfd);
  return r < 0 ? nlerr(err, r, "create veth", host) : 0;
}

static int b_create_endpoint(void *drv, const struct berth_endpoint_req *req,
                             struct berth_err *err) {
  struct drv *d = drv;
  char host[IFNAMSIZ], peer[IFNAMSIZ], br[64], mtus[16], icc[8];
  veth_names(req->endpoint_id, host, peer);
  int r = get(d, req->network_id, "bridge", br, sizeof br, err);
  if (r == 0) r = get(d, req->network_id, "mtu", mtus, sizeof mtus, err);
  if (r == 0) r = get(d, req->network_id, "icc", icc, sizeof icc, err);
  if (r < 0) return r;
  int master = br[0] ? (int)if_nametoindex(br) : 0;
  if (!master)
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "network %.12s has no bridge", req->network_id);
  unsigned mtu = (unsigned)(mtus[0] ? atoi(mtus) : (int)d->conf.mtu);
  const char *netns = opt(req->opts, req->n_opts, "berth.netns");
  if (!if_nametoindex(host) && (r = make_veth(d, host, peer, mtu, netns, err)) < 0) return r;
  if ((r = link_up(d, host, master, err)) < 0 ||
      (r = port_flags(d, host, !strcmp(icc, "0"), err)) < 0) {
    delete_link(d, host, NULL);
    return r;
  }
  return 0; /* nothing to keep: the names come from the endpoint's id */
}

static int b_join(void *drv, const char *network_id, const char *endpoint_id,
                  const char *netns_path, struct berth_join_info *out, struct berth_err *err) {
  struct drv *d = drv;
  (void)netns_path; /* the core moves the interface */
  char host[IFNAMSIZ], peer[IFNAMSIZ], internal[8];
  veth_names(endpoint_id, host, peer);
  int r = get(d, network_id, "gateway", out->gateway, sizeof out->gateway, err);
  if (r == 0) r = get(d, network_id, "internal", internal, sizeof internal, err);
  if (r < 0) return r;
  if (!if_nametoindex(host))
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "endpoint %.12s has no interface", endpoint_id);
  snprintf(out->src_ifname, sizeof out->src_ifname, "%s", peer);
  snprintf(out->dst_prefix, sizeof out->dst_prefix, "eth");
  out->disable_gateway = !strcmp(internal, "1"); /* --internal: no route out */
  return 0;
}

static int b_leave(void *drv, const char *network_id, const char *endpoint_id,
                   struct berth_err *err) {
  (void)drv, (void)network_id, (void)endpoint_id, (void)err;
  return 0; /* the pair goes with delete_endpoint (or with the container's namespace) */
}

static int b_delete_endpoint(void *drv, const char *network_id, const char *endpoint_id,
                             struct berth_err *err) {
  struct drv *d = drv;
  (void)network_id;
  char host[IFNAMSIZ], peer[IFNAMSIZ];
  veth_names(endpoint_id, host, peer);
  size_t had = d->n_ports;
  forget_ports(d, endpoint_id);
  int r = had != d->n_ports ? apply_nat(d, err) : 0;
  if (r == 0) r = delete_link(d, host, err);
  if (r == 0) r = d->host->state_del(d->host, endpoint_id, NULL, err);
  return r;
}

static int b_endpoint_info(void *drv, const char *network_id, const char *endpoint_id,
                           struct berth_buf *out, struct berth_err *err) {
  struct drv *d = drv;
  char host[IFNAMSIZ], peer[IFNAMSIZ], br[64], row[160];
  veth_names(endpoint_id, host, peer);
  int r = get(d, network_id, "bridge", br, sizeof br, err);
  if (r < 0) return r;
  int n = snprintf(row, sizeof row, "bridge\t%s\nhost_veth\t%s\n", br, host);
  if (d->host->buf_append(d->host, out, row, (size_t)n) < 0)
    return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  return 0;
}

static int b_publish(void *drv, const char *network_id, const char *endpoint_id,
                     const struct berth_port_binding *const *ports, size_t n,
                     struct berth_err *err) {
  struct drv *d = drv;
  (void)network_id;
  size_t had = d->n_ports;
  forget_ports(d, endpoint_id);
  if (!n && had == d->n_ports) return 0; /* nothing was published, nothing is */
  struct bport *pv = realloc(d->ports, (d->n_ports + n + 1) * sizeof *pv);
  if (!pv) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->ports = pv;
  for (size_t i = 0; i < n; i++) {
    struct bport *b = &d->ports[d->n_ports++];
    memset(b, 0, sizeof *b);
    snprintf(b->ep, sizeof b->ep, "%s", endpoint_id);
    /* copy what the host's struct holds of ours: it may be older or newer */
    memcpy(&b->b, ports[i],
           ports[i]->struct_size < sizeof b->b ? ports[i]->struct_size : sizeof b->b);
    b->b.struct_size = sizeof b->b;
  }
  return apply_nat(d, err);
}

static const struct berth_network_ops b_ops = {
    .struct_size = sizeof(struct berth_network_ops),
    .create_network = b_create_network,
    .delete_network = b_delete_network,
    .create_endpoint = b_create_endpoint,
    .delete_endpoint = b_delete_endpoint,
    .join = b_join,
    .leave = b_leave,
    .endpoint_info = b_endpoint_info,
    .publish = b_publish,
};

BERTH_PLUGIN(bridge, .kind = BERTH_KIND_NETWORK, .name = "bridge", .version = "1.0.0",
             .description = "Linux bridges and veth pairs, through libnl-route-3", .init = b_init,
             .fini = b_fini, .ops = &b_ops);
