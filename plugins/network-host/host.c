/* host: the container shares berthd's network namespace; the core skips
 * creating one.  No plumbing. */
#include <berth/network.h>

static int host_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  *drv = (void *)host;
  return 0;
}
static int host_create(void *drv, const struct berth_net_create_req *req, struct berth_err *err) {
  return 0;
}
static int host_delete(void *drv, const char *id, struct berth_err *err) {
  return 0;
}

static const struct berth_network_ops host_ops = {
    .struct_size = sizeof(struct berth_network_ops),
    .create_network = host_create,
    .delete_network = host_delete,
};

BERTH_PLUGIN_DEFINE(host, BERTH_KIND_NETWORK, "host", "1.0.0", "the host's network namespace",
                    BERTH_PLUGIN_F_THREADSAFE, host_init, NULL, &host_ops)
