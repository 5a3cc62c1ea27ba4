/* An out-of-tree network driver: one veth pair per endpoint and nothing
 * else (no bridge, no NAT), made through libnl-route-3 as berth's own
 * drivers do.  A point-to-point link between the host and a container.
 *
 *   cc $(pkg-config --cflags berth-plugin libnl-route-3.0) -shared -fPIC \
 *      -o veth.so veth.c $(pkg-config --libs libnl-route-3.0)
 *
 *   network: { drivers = [ "none", "host", "/path/veth.so" ];
 *              veth: { prefix = "bv"; mtu = 1500; }; };
 *
 * create_endpoint makes <prefix><8 of the endpoint id> on the host and
 * <prefix>c<7 of it> as its peer, which join hands to the core to move
 * into the container's namespace (renamed to eth0 there).  The network's
 * gateway is kept in the host's state store.  Every op is idempotent, as
 * network.h asks.  Not thread-safe: berthd serialises the calls. */
#include <berth/network.h>
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conf {
  const char *prefix;
  int64_t mtu;
};

struct drv {
  const struct berth_host *host;
  struct conf conf;
  struct nl_sock *nl;
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("prefix", BERTH_CONF_STRING, struct conf, prefix, "bv"),
    BERTH_CONF_KEY("mtu", BERTH_CONF_INT, struct conf, mtu, "1500"),
};

static int nl_fail(struct berth_err *err, int nlerr, const char *what, const char *name) {
  return berth_err_set(err, BERTH_EINTERNAL, 0, "%s %s: %s", what, name, nl_geterror(nlerr));
}

static int veth_init(const struct berth_host *host, void **out, struct berth_err *err) {
  struct drv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r == 0 && (strlen(d->conf.prefix) > 4 || d->conf.mtu < 68 || d->conf.mtu > 65535))
    r = berth_err_set(err, BERTH_EINVAL, 0, "prefix is at most 4 characters, mtu 68..65535");
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

static void veth_fini(void *drv) {
  struct drv *d = drv;
  nl_socket_free(d->nl);
  free(d);
}

/* host side and container side names of an endpoint's pair */
static void names(const struct drv *d, const char *ep, char host[IFNAMSIZ], char peer[IFNAMSIZ]) {
  snprintf(host, IFNAMSIZ, "%s%.8s", d->conf.prefix, ep);
  snprintf(peer, IFNAMSIZ, "%sc%.7s", d->conf.prefix, ep);
}

static int create_network(void *drv, const struct berth_net_create_req *req,
                          struct berth_err *err) {
  struct drv *d = drv;
  return d->host->state_put(d->host, req->network_id, "gateway", req->gateway, strlen(req->gateway),
                            err);
}

static int delete_network(void *drv, const char *network_id, struct berth_err *err) {
  struct drv *d = drv;
  return d->host->state_del(d->host, network_id, NULL, err);
}

static int create_endpoint(void *drv, const struct berth_endpoint_req *req, struct berth_err *err) {
  struct drv *d = drv;
  char host[IFNAMSIZ], peer[IFNAMSIZ];
  names(d, req->endpoint_id, host, peer);
  if (if_nametoindex(host)) return 0; /* there already: success */
  struct rtnl_link *l = rtnl_link_veth_alloc();
  if (!l) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  rtnl_link_set_name(l, host);
  rtnl_link_set_mtu(l, (unsigned)d->conf.mtu);
  struct rtnl_link *p = rtnl_link_veth_get_peer(l);
  rtnl_link_set_name(p, peer);
  rtnl_link_set_mtu(p, (unsigned)d->conf.mtu);
  rtnl_link_put(p);
  int r = rtnl_link_add(d->nl, l, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(l);
  return r < 0 ? nl_fail(err, r, "add veth", host) : 0;
}

static int delete_endpoint(void *drv, const char *network_id, const char *endpoint_id,
                           struct berth_err *err) {
  struct drv *d = drv;
  (void)network_id;
  char host[IFNAMSIZ], peer[IFNAMSIZ];
  names(d, endpoint_id, host, peer);
  if (!if_nametoindex(host)) return 0; /* gone already (or never made): success */
  struct rtnl_link *l = rtnl_link_alloc();
  if (!l) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  rtnl_link_set_name(l, host);
  int r = rtnl_link_delete(d->nl, l); /* the peer goes with it */
  rtnl_link_put(l);
  return r < 0 && r != -NLE_OBJ_NOTFOUND ? nl_fail(err, r, "delete", host) : 0;
}

/* bring the host side up; the core moves the peer into the sandbox */
static int join(void *drv, const char *network_id, const char *endpoint_id, const char *netns_path,
                struct berth_join_info *out, struct berth_err *err) {
  struct drv *d = drv;
  (void)netns_path;
  char host[IFNAMSIZ], peer[IFNAMSIZ];
  names(d, endpoint_id, host, peer);
  struct rtnl_link *l = NULL, *up = rtnl_link_alloc();
  int r = rtnl_link_get_kernel(d->nl, 0, host, &l);
  if (r == 0 && up) {
    rtnl_link_set_flags(up, IFF_UP);
    r = rtnl_link_change(d->nl, l, up, 0);
  }
  if (l) rtnl_link_put(l);
  if (up) rtnl_link_put(up);
  if (r < 0) return nl_fail(err, r, "bring up", host);
  snprintf(out->src_ifname, sizeof out->src_ifname, "%s", peer);
  snprintf(out->dst_prefix, sizeof out->dst_prefix, "eth");
  struct berth_buf gw = {sizeof gw, NULL, 0, 0};
  r = d->host->state_get(d->host, network_id, "gateway", &gw, err);
  if (r == 0 && gw.len) snprintf(out->gateway, sizeof out->gateway, "%.*s", (int)gw.len, gw.data);
  free(gw.data);
  return r == -BERTH_ENOTFOUND ? 0 : r; /* a network made before: no gateway known */
}

static int leave(void *drv, const char *network_id, const char *endpoint_id,
                 struct berth_err *err) {
  (void)drv, (void)network_id, (void)endpoint_id, (void)err;
  return 0; /* the pair stays until delete_endpoint */
}

static int endpoint_info(void *drv, const char *network_id, const char *endpoint_id,
                         struct berth_buf *out, struct berth_err *err) {
  struct drv *d = drv;
  (void)network_id;
  char host[IFNAMSIZ], peer[IFNAMSIZ], row[64];
  names(d, endpoint_id, host, peer);
  int n = snprintf(row, sizeof row, "host_veth\t%s\n", host);
  if (d->host->buf_append(d->host, out, row, (size_t)n) < 0)
    return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  return 0;
}

static const struct berth_network_ops veth_ops = {
    .struct_size = sizeof(struct berth_network_ops),
    .create_network = create_network,
    .delete_network = delete_network,
    .create_endpoint = create_endpoint,
    .delete_endpoint = delete_endpoint,
    .join = join,
    .leave = leave,
    .endpoint_info = endpoint_info,
};

BERTH_PLUGIN(veth, .kind = BERTH_KIND_NETWORK, .name = "veth", .version = "0.1.0",
             .description = "a veth pair per endpoint, through libnl-route-3", .init = veth_init,
             .fini = veth_fini, .ops = &veth_ops);
