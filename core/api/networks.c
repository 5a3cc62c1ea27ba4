/* /networks: parse, call core/network, render. */
#include "../container/container.h"
#include "../container/netctr.h"
#include "../network/network.h"
#include "../util/filters.h"
#include "routes.h"

/* IPAM.Config: at most one IPv4 and one IPv6 entry */
static int ipam_configs(json_t *cfgs, json_t **v4, json_t **v6, struct berth_err *err) {
  size_t i;
  json_t *c;
  *v4 = *v6 = NULL;
  json_array_foreach(cfgs, i, c) {
    const char *sub = api_field(c, "Subnet");
    json_t **slot = sub && strchr(sub, ':') ? v6 : v4;
    if (*slot)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "only one IPv4 and one IPv6 IPAM configuration are supported");
    *slot = c;
  }
  return 0;
}

static int create(struct api_request *req) {
  json_t *body = api_body_json(req);
  if (!body) return 0;
  struct berth_err err = {0};
  json_t *ipam = json_object_get(body, "IPAM"), *c4, *c6;
  int rc = ipam_configs(json_object_get(ipam, "Config"), &c4, &c6, &err);
  struct net_create_req r = {
      .name = api_field(body, "Name"),
      .driver = api_field(body, "Driver"),
      .subnet = api_field(c4, "Subnet"),
      .gateway = api_field(c4, "Gateway"),
      .ip_range = api_field(c4, "IPRange"),
      .internal = json_is_true(json_object_get(body, "Internal")),
      .attachable = json_is_true(json_object_get(body, "Attachable")),
      .ipv6 = json_is_true(json_object_get(body, "EnableIPv6")),
      .subnet6 = api_field(c6, "Subnet"),
      .gateway6 = api_field(c6, "Gateway"),
  };
  const char *ipam_driver = api_field(ipam, "Driver");
  char id[65] = "";
  if (rc == 0 && ipam_driver && *ipam_driver && strcmp(ipam_driver, "default"))
    rc = berth_err_set(&err, BERTH_ENOTFOUND, 0, "plugin \"%s\" not found", ipam_driver);
  if (rc == 0) rc = api_string_map(body, "Options", &r.options, &err);
  if (rc == 0) rc = api_string_map(body, "Labels", &r.labels, &err);
  if (rc == 0 && json_is_object(ipam)) rc = api_string_map(ipam, "Options", &r.ipam_options, &err);
  if (rc == 0) rc = net_create(req->d, &r, id, &err);
  json_decref(body);
  if (rc < 0) return api_reply_err(req, &err);
  return api_reply_json(req, 201, json_pack("{s:s,s:s}", "Id", id, "Warning", ""));
}

static int list(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  json_t *a =
      filters_parse(api_query(req, "filters"), &f, &err) == 0 ? net_list(req->d, &f, &err) : NULL;
  filters_free(&f);
  return a ? api_reply_json(req, 200, a) : api_reply_err(req, &err);
}

static int inspect(struct api_request *req) {
  struct berth_err err = {0};
  json_t *j = ctrnet_network_inspect(req->d, api_param(req, 0), &err);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
}

static int remove_(struct api_request *req) {
  struct berth_err err = {0};
  if (net_remove(req->d, api_param(req, 0), &err) < 0) return api_reply_err(req, &err);
  return api_reply_empty(req, 204);
}

static int prune(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  json_t *names =
      filters_parse(api_query(req, "filters"), &f, &err) == 0 ? net_prune(req->d, &f, &err) : NULL;
  filters_free(&f);
  if (!names) return api_reply_err(req, &err);
  return api_reply_json(req, 200, json_pack("{s:o}", "NetworksDeleted", names));
}

/* {"Container": ref, "EndpointConfig": {...}} (connect) or {"Container":
 * ref, "Force": bool} (disconnect) */
static int attach(struct api_request *req, bool connect) {
  json_t *body = api_body_json(req);
  if (!body) return 0;
  struct berth_err err = {0};
  const char *ref = api_field(body, "Container");
  json_t *cfg = json_object_get(body, "EndpointConfig");
  /* the container first, then the network: dockerd's order of refusals */
  struct container *c = ref ? ctr_get(ref) : NULL;
  json_t *j = c ? net_inspect(req->d, api_param(req, 0), &err) : NULL;
  int rc = !c  ? berth_err_set(&err, BERTH_ENOTFOUND, 0, "No such container: %s", ref ? ref : "")
           : j ? 0
               : -err.code;
  if (rc == 0 && cfg && !json_is_null(cfg) && !json_is_object(cfg))
    rc = berth_err_set(&err, BERTH_EINVAL, 0, "EndpointConfig: an object is expected");
  if (rc == 0 && connect) rc = ctr_net_connect(req->d, c, api_param(req, 0), cfg, &err);
  if (rc == 0 && !connect) rc = ctr_net_disconnect(req->d, c, api_param(req, 0), &err);
  if (c) ctr_put(c);
  json_decref(j);
  json_decref(body);
  return rc < 0 ? api_reply_err(req, &err) : api_reply_empty(req, 200);
}

static int connect_(struct api_request *req) {
  return attach(req, true);
}

static int disconnect(struct api_request *req) {
  return attach(req, false);
}

const struct api_route network_routes[] = {
    {"GET", "/networks", list, BODY_BUFFER, NULL},
    {"POST", "/networks/create", create, BODY_BUFFER, NULL},
    {"POST", "/networks/prune", prune, BODY_BUFFER, NULL},
    {"GET", "/networks/{id}", inspect, BODY_BUFFER, NULL},
    {"DELETE", "/networks/{id}", remove_, BODY_BUFFER, NULL},
    {"POST", "/networks/{id}/connect", connect_, BODY_BUFFER, NULL},
    {"POST", "/networks/{id}/disconnect", disconnect, BODY_BUFFER, NULL},
};
const size_t n_network_routes = ARRAY_SIZE(network_routes);
