/* berth network ls|create|inspect|rm|prune|connect|disconnect, with docker's
 * flags, columns and messages. */
#include "cli.h"

/* a network as docker's network ls shows it: the short ID, CreatedAt,
 * IPv6, Internal and Labels as its formatter's fields */
static void net_row(json_t *r, bool no_trunc) {
  char id[65], at[96] = "";
  snprintf(id, sizeof id, "%.*s", no_trunc ? 64 : 12,
           json_string_value(json_object_get(r, "Id")) ?: "");
  json_object_set_new(r, "ID", json_string(id));
  int64_t created = parse_rfc3339(json_string_value(json_object_get(r, "Created")) ?: "");
  if (created != INT64_MIN) go_time_string(created, at, sizeof at);
  json_object_set_new(r, "CreatedAt", json_string(at));
  json_object_set_new(
      r, "IPv6", json_string(json_is_true(json_object_get(r, "EnableIPv6")) ? "true" : "false"));
  json_object_set_new(r, "Internal",
                      json_string(json_is_true(json_object_get(r, "Internal")) ? "true" : "false"));
  json_object_set_new(r, "Labels", labels_joined(json_object_get(r, "Labels")));
}

static int net_ls(int argc, char **argv) {
  bool quiet = false, no_trunc = false;
  const char *format = NULL;
  struct strlist filt = {0};
  const struct flag flags[] = {{"quiet", 'q', F_BOOL, &quiet, "Only display network IDs"},
                               {"no-trunc", 0, F_BOOL, &no_trunc, "Do not truncate the output"},
                               {"format", 0, F_STRING, &format, "Format output using a template"},
                               {"filter", 'f', F_LIST, &filt, "Provide filter values"},
                               {0}};
  PARSE("berth network ls [OPTIONS]", flags);
  free(pos);
  cleanup_free char *path = path_with_filters("/networks", &filt, NULL);
  json_t *rows = NULL;
  if (api_call("GET", path, NULL, &rows, NULL) < 0) return 1;
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) net_row(r, no_trunc);
  sort_by_name(rows);
  static const char *const headers[][2] = {{"ID", "NETWORK ID"}, {"Name", "NAME"},
                                           {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
                                           {"IPv6", "IPV6"},     {"Internal", "INTERNAL"},
                                           {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"},
                                           {NULL, NULL}};
  print_rows(rows, quiet ? "{{.ID}}" : format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
             headers, false);
  json_decref(rows);
  return 0;
}

/* IPAM.Config as docker's CLI makes it: one entry per --subnet (IPv4 or
 * IPv6), each --gateway and the --ip-range with the subnet of its family */
static json_t *ipam_config(const struct strlist *subnets, const struct strlist *gateways,
                           const char *ip_range) {
  json_t *cfg = json_array();
  for (size_t i = 0; i < subnets->n; i++)
    json_array_append_new(cfg, json_pack("{s:s}", "Subnet", subnets->v[i]));
  if (!subnets->n && (gateways->n || ip_range)) json_array_append_new(cfg, json_object());
  for (size_t i = 0; i < gateways->n; i++) {
    bool v6 = strchr(gateways->v[i], ':') != NULL;
    json_t *c = json_array_get(cfg, 0);
    for (size_t k = 0; k < json_array_size(cfg); k++) {
      const char *sub = json_string_value(json_object_get(json_array_get(cfg, k), "Subnet"));
      if (sub && (strchr(sub, ':') != NULL) == v6) c = json_array_get(cfg, k);
    }
    json_object_set_new(c, "Gateway", json_string(gateways->v[i]));
  }
  if (ip_range) json_object_set_new(json_array_get(cfg, 0), "IPRange", json_string(ip_range));
  return cfg;
}

static int net_create(int argc, char **argv) {
  const char *driver = "bridge", *ip_range = NULL;
  bool internal = false, attachable = false, ipv6 = false;
  struct strlist opts = {0}, labels = {0}, subnets = {0}, gateways = {0};
  const struct flag flags[] = {
      {"driver", 'd', F_STRING, &driver, "Driver to manage the Network (default \"bridge\")"},
      {"subnet", 0, F_LIST, &subnets, "Subnet in CIDR format that represents a network segment"},
      {"gateway", 0, F_LIST, &gateways, "IPv4 or IPv6 Gateway for the master subnet"},
      {"ip-range", 0, F_STRING, &ip_range, "Allocate container ip from a sub-range"},
      {"internal", 0, F_BOOL, &internal, "Restrict external access to the network"},
      {"attachable", 0, F_BOOL, &attachable, "Enable manual container attachment"},
      {"ipv6", 0, F_BOOL, &ipv6, "Enable IPv6 networking"},
      {"opt", 'o', F_LIST, &opts, "Set driver specific options"},
      {"label", 0, F_LIST, &labels, "Set metadata on a network"},
      {0}};
  PARSE("berth network create [OPTIONS] NETWORK", flags);
  if (npos != 1) {
    die_usage("berth network create [OPTIONS] NETWORK",
              "\"berth network create\" requires exactly 1 argument.");
    free(pos);
    return 1;
  }
  json_t *cfg = ipam_config(&subnets, &gateways, ip_range);
  json_t *body = json_pack("{s:s,s:s,s:{s:s,s:o},s:b,s:b,s:b,s:o,s:o,s:b}", "Name", pos[0],
                           "Driver", driver, "IPAM", "Driver", "default", "Config", cfg, "Internal",
                           internal, "Attachable", attachable, "EnableIPv6", ipv6, "Options",
                           kv_map(&opts), "Labels", kv_map(&labels), "CheckDuplicate", 1);
  free(pos);
  json_t *out = NULL;
  int r = api_call("POST", "/networks/create", body, &out, NULL);
  json_decref(body);
  if (r < 0) return 1;
  printf("%s\n", json_string_value(json_object_get(out, "Id")) ?: "");
  json_decref(out);
  return 0;
}

static int net_inspect(int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {
      {"format", 'f', F_STRING, &format, "Format output using a custom template"}, {0}};
  PARSE("berth network inspect [OPTIONS] NETWORK [NETWORK...]", flags);
  if (npos < 1) {
    die_usage("berth network inspect [OPTIONS] NETWORK [NETWORK...]",
              "\"berth network inspect\" requires at least 1 argument.");
    free(pos);
    return 1;
  }
  int rc = inspect_each("/networks", pos, npos, format);
  free(pos);
  return rc;
}

static int net_rm(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth network rm NETWORK [NETWORK...]", flags);
  if (npos < 1) {
    die_usage("berth network rm NETWORK [NETWORK...]",
              "\"berth network rm\" requires at least 1 argument.");
    free(pos);
    return 1;
  }
  int rc = remove_each("/networks", "", pos, npos);
  free(pos);
  return rc;
}

static int net_prune(int argc, char **argv) {
  bool force = false;
  struct strlist filt = {0};
  const struct flag flags[] = {{"force", 'f', F_BOOL, &force, "Do not prompt for confirmation"},
                               {"filter", 0, F_LIST, &filt, "Provide filter values"},
                               {0}};
  PARSE("berth network prune [OPTIONS]", flags);
  free(pos);
  if (!force && !confirm("WARNING! This will remove all custom networks not used by at least one "
                         "container."))
    return 0;
  cleanup_free char *path = path_with_filters("/networks/prune", &filt, NULL);
  return prune_post(path, "NetworksDeleted", "Networks") < 0 ? 1 : 0;
}

/* connect and disconnect: POST /networks/{net}/(dis)connect */
static int net_attach(int argc, char **argv, bool connect) {
  bool force = false;
  const char *ip = NULL;
  struct strlist aliases = {0};
  const struct flag cflags[] = {{"ip", 0, F_STRING, &ip, "IPv4 address (e.g., 172.30.100.104)"},
                                {"alias", 0, F_LIST, &aliases, "Add network-scoped alias"},
                                {0}};
  const struct flag dflags[] = {
      {"force", 'f', F_BOOL, &force, "Force the container to disconnect from a network"}, {0}};
  const char *usage = connect ? "berth network connect [OPTIONS] NETWORK CONTAINER"
                              : "berth network disconnect [OPTIONS] NETWORK CONTAINER";
  PARSE(usage, connect ? cflags : dflags);
  if (npos != 2) {
    die_usage(usage, "\"berth network %s\" requires exactly 2 arguments.",
              connect ? "connect" : "disconnect");
    free(pos);
    return 1;
  }
  json_t *body = json_pack("{s:s}", "Container", pos[1]);
  if (connect) {
    json_t *ep = json_pack("{s:o}", "Aliases", json_array());
    for (size_t i = 0; i < aliases.n; i++)
      json_array_append_new(json_object_get(ep, "Aliases"), json_string(aliases.v[i]));
    if (ip) json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
    json_object_set_new(body, "EndpointConfig", ep);
  } else {
    json_object_set_new(body, "Force", json_boolean(force));
  }
  cleanup_free char *e = url_escape(pos[0]);
  cleanup_free char *path = xasprintf("/networks/%s/%s", e, connect ? "connect" : "disconnect");
  free(pos);
  int r = api_call("POST", path, body, NULL, NULL);
  json_decref(body);
  return r < 0 ? 1 : 0;
}

static int net_connect(int argc, char **argv) {
  return net_attach(argc, argv, true);
}

static int net_disconnect(int argc, char **argv) {
  return net_attach(argc, argv, false);
}

int cmd_network(int argc, char **argv) {
  static const struct command sub[] = {
      {"ls", net_ls, "List networks"},
      {"list", net_ls, "List networks"},
      {"create", net_create, "Create a network"},
      {"inspect", net_inspect, "Display detailed information on one or more networks"},
      {"rm", net_rm, "Remove one or more networks"},
      {"remove", net_rm, "Remove one or more networks"},
      {"prune", net_prune, "Remove all unused networks"},
      {"connect", net_connect, "Connect a container to a network"},
      {"disconnect", net_disconnect, "Disconnect a container from a network"},
  };
  return run_subcommand("network", sub, ARRAY_SIZE(sub),
                        "ls create inspect rm prune connect disconnect", argc, argv);
}
