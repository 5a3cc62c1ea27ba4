/* berth plugin ABI 1.0 -- network drivers (like libnetwork's driverapi).
 *
 * The core owns IPAM, host-port allocation and the in-netns interface setup;
 * a driver creates the plumbing: bridges, veth pairs, NAT rules.  Order per
 * container: create_endpoint -> join -> publish; on stop publish(n=0) ->
 * leave -> delete_endpoint.
 *
 * Threading: the core serialises every call on a driver unless it is
 * flagged BERTH_PLUGIN_F_THREADSAFE; a thread-safe driver still never sees
 * two calls at once for the same network or the same endpoint.  Every op
 * may be retried after a crash of berthd, so each is idempotent as said.
 */
#ifndef BERTH_NETWORK_H
#define BERTH_NETWORK_H
#include <berth/plugin.h>
#ifdef __cplusplus
extern "C" {
#endif

struct berth_net_create_req {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  const char *network_id;
  const char *name;
  char subnet[48]; /* CIDR chosen by the core's IPAM, "" when none */
  char gateway[48];
  uint32_t internal;
  uint32_t enable_ipv6;
  /* network create -o; with enable_ipv6 berthd adds "berth.ipv6.subnet"
   * (the v6 CIDR) and "berth.ipv6.gateway" (the gateway's address/prefix),
   * the IPv6 half the fields above have no room for */
  const struct berth_kv *opts;
  size_t n_opts;
};

struct berth_endpoint_req {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  const char *network_id;
  const char *endpoint_id;
  char address[48]; /* CIDR from the core's IPAM */
  char mac[18];
  /* The endpoint's options.  berthd adds "berth.netns": the path of the
   * sandbox's network namespace (it exists before create_endpoint).  A
   * driver may make the interface the sandbox gets right there (a veth's
   * peer created in it: no move later, which costs the kernel an RCU grace
   * period); join still names it, and the core renames and addresses it
   * in place.  A driver that ignores the key is moved as before. */
  const struct berth_kv *opts;
  size_t n_opts;
};

/* Filled by join: the interface the core moves into the sandbox. */
struct berth_join_info {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  char src_ifname[16]; /* host-side name of the interface to move */
  char dst_prefix[16]; /* e.g. "eth" */
  char gateway[48];
  uint32_t disable_gateway;
};

struct berth_port_binding {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  uint32_t proto; /* 6 tcp, 17 udp, 132 sctp */
  char host_ip[48];
  uint16_t host_port;
  uint16_t container_port;
  char container_ip[48];
};

struct berth_network_ops {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  uint64_t features;
  /* --- required, since 1.0 --- */
  /* Make the network's shared plumbing (a bridge, rules).  A network that
   * already exists with the same id is success (idempotent). */
  int (*create_network)(void *drv, const struct berth_net_create_req *req, struct berth_err *err);
  /* Remove it; an unknown id is success.  The core has removed every
   * endpoint first. */
  int (*delete_network)(void *drv, const char *network_id, struct berth_err *err);
  /* --- optional (NULL: no-op), since 1.0 --- */
  /* Make one container's plumbing (a veth pair); an existing endpoint with
   * the same id is success. */
  int (*create_endpoint)(void *drv, const struct berth_endpoint_req *req, struct berth_err *err);
  /* Remove it; an unknown endpoint is success. */
  int (*delete_endpoint)(void *drv, const char *network_id, const char *endpoint_id,
                         struct berth_err *err);
  /* Prepare the endpoint for the sandbox at netns_path and say in *out
   * which interface the core moves in (the core moves, renames and
   * addresses it; one already inside, see berth.netns, is not moved).
   * Repeating it for a joined endpoint is success. */
  int (*join)(void *drv, const char *network_id, const char *endpoint_id, const char *netns_path,
              struct berth_join_info *out, struct berth_err *err);
  /* Undo join; safe to repeat, and after the sandbox is gone. */
  int (*leave)(void *drv, const char *network_id, const char *endpoint_id, struct berth_err *err);
  /* "key\tvalue\n" rows for network inspect; no side effects. */
  int (*endpoint_info)(void *drv, const char *network_id, const char *endpoint_id,
                       struct berth_buf *out, struct berth_err *err);
  /* Replace the endpoint's published ports with these n (0 = unpublish);
   * the same set twice is success.  An array of pointers, so the binding
   * struct can grow. */
  int (*publish)(void *drv, const char *network_id, const char *endpoint_id,
                 const struct berth_port_binding *const *ports, size_t n, struct berth_err *err);
};

#ifdef __cplusplus
}
#endif
#endif
