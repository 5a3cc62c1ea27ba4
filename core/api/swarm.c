/* What berthd answers where docker's swarm mode and managed plugins would:
 * docker's own "not in a swarm" replies (clients' cleanup paths, docker-py's
 * and compose's checks, rely on them), an empty plugin list, and a clear
 * refusal to install one (berth's drivers are listed by /info and `berth
 * plugin ls`; docs/plugins.md). */
#include "routes.h"

#define NOT_MANAGER                                                                                \
  "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to "       \
  "connect this node to swarm and try again."

static int not_manager(struct api_request *req) {
  return api_reply_error(req, 503, NOT_MANAGER);
}

static int not_member(struct api_request *req) {
  return api_reply_error(req, 503, "This node is not part of a swarm");
}

static int no_swarm_mode(struct api_request *req) {
  return api_reply_error(req, 501, "swarm mode is not supported by berth");
}

static int plugins(struct api_request *req) {
  return api_reply_json(req, 200, json_array());
}

static int plugin_inspect(struct api_request *req) {
  return api_reply_error(req, 404, "plugin \"%s\" not found", api_param(req, 0));
}

static int plugin_install(struct api_request *req) {
  return api_reply_error(req, 501,
                         "berth does not run docker's managed plugins: its drivers (storage, "
                         "network, log, registry, volume) are shared objects named in daemon.conf "
                         "and listed by `berth plugin ls` (docs/plugins.md)");
}

const struct api_route swarm_routes[] = {
    {"GET", "/swarm", not_manager, BODY_BUFFER, NULL},
    {"POST", "/swarm/leave", not_member, BODY_BUFFER, NULL},
    {"POST", "/swarm/init", no_swarm_mode, BODY_BUFFER, NULL},
    {"POST", "/swarm/join", no_swarm_mode, BODY_BUFFER, NULL},
    {"POST", "/swarm/update", not_manager, BODY_BUFFER, NULL},
    {"GET", "/swarm/unlockkey", not_manager, BODY_BUFFER, NULL},
    {"POST", "/swarm/unlock", not_manager, BODY_BUFFER, NULL},
    {"GET", "/nodes", not_manager, BODY_BUFFER, NULL},
    {"GET", "/nodes/{id}", not_manager, BODY_BUFFER, NULL},
    {"GET", "/services", not_manager, BODY_BUFFER, NULL},
    {"GET", "/services/{id}", not_manager, BODY_BUFFER, NULL},
    {"POST", "/services/create", not_manager, BODY_BUFFER, NULL},
    {"GET", "/tasks", not_manager, BODY_BUFFER, NULL},
    {"GET", "/secrets", not_manager, BODY_BUFFER, NULL},
    {"GET", "/configs", not_manager, BODY_BUFFER, NULL},
    {"GET", "/plugins", plugins, BODY_BUFFER, NULL},
    {"GET", "/plugins/privileges", plugin_install, BODY_BUFFER, NULL},
    {"POST", "/plugins/pull", plugin_install, BODY_BUFFER, NULL},
    {"GET", "/plugins/{name*}/json", plugin_inspect, BODY_BUFFER, NULL},
};
const size_t n_swarm_routes = ARRAY_SIZE(swarm_routes);
