/* none: the container gets a network namespace with only lo.  Nothing to
 * plumb, so every op succeeds without doing anything; the core makes the
 * namespace and brings lo up. */
#include <berth/network.h>

static int none_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  *drv = (void *)host;
  return 0;
}
static int none_create(void *drv, const struct berth_net_create_req *req, struct berth_err *err) {
  return 0;
}
static int none_delete(void *drv, const char *id, struct berth_err *err) {
  return 0;
}

static const struct berth_network_ops none_ops = {
    .struct_size = sizeof(struct berth_network_ops),
    .create_network = none_create,
    .delete_network = none_delete,
};

BERTH_PLUGIN_DEFINE(none, BERTH_KIND_NETWORK, "none", "1.0.0", "loopback only",
                    BERTH_PLUGIN_F_THREADSAFE, none_init, NULL, &none_ops)
