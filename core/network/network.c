#include "network.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../container/config.h"
#include "../driver.h"
#include "../events/events.h"
#include "../util/filters.h"
#include "dns.h"
#include "ipam.h"
#include "proxy.h"
#include "sandbox.h"

struct network {
  char id[65];
  char *name;
  char *driver; /* the driver's name: "bridge", "host", "none" */
  bool has_ipam;
  struct cidr subnet, range;
  char subnet_text[20]; /* the subnet as given when it had host bits (docker shows it so), or "" */
  uint32_t gateway;
  bool gateway_implied,
      gateway6_implied; /* a subnet given without its gateway: docker shows none */
  bool internal, attachable, ipv6, predefined;
  bool subnet_given; /* its creator gave the v4 subnet (dockerd takes --ip only then) */
  json_t *options, *labels;
  json_t *ipam_options; /* IPAM.Options as created (docker echoes them), or NULL */
  json_t *shown;        /* the default bridge's Options with its driver's settings (not saved) */
  int64_t created_ns;
  struct ipam_net ipam;
  struct cidr6 subnet6;     /* prefix != 0: given (used only with --ipv6, as dockerd) */
  char subnet6_text[48];    /* subnet6 as given when it had host bits, or "" */
  uint32_t gateway6;        /* the gateway's offset in subnet6 */
  struct ipam_net ipam6;    /* over the offsets */
  struct net_endpoint *eps; /* the containers on it now */
  size_t n_eps;
};

static struct {
  pthread_mutex_t lock;
  struct network **v;
  size_t n;
} N = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

static const char *shown_driver(const struct network *n) {
  return !strcmp(n->driver, "none") ? "null" : n->driver; /* as docker names it */
}

static char *record_path(struct daemon *d, const char *id) {
  return xasprintf("%s/networks/%s.json", d->cfg.data_root, id);
}

/* the subnet as docker shows it: as given */
static void subnet_shown(const struct network *n, char out[20]) {
  if (*n->subnet_text)
    snprintf(out, 20, "%s", n->subnet_text);
  else
    cidr_format(n->subnet, out);
}

static void keep_subnet_text(struct network *n, const char *given) {
  char canon[20];
  cidr_format(n->subnet, canon);
  snprintf(n->subnet_text, sizeof n->subnet_text, "%s", strcmp(canon, given) ? given : "");
}

static void subnet6_shown(const struct network *n, char out[48]) {
  if (*n->subnet6_text)
    snprintf(out, 48, "%s", n->subnet6_text);
  else
    cidr6_format(n->subnet6, out);
}

static void keep_subnet6_text(struct network *n, const char *given) {
  char canon[48];
  cidr6_format(n->subnet6, canon);
  snprintf(n->subnet6_text, sizeof n->subnet6_text, "%s", strcmp(canon, given) ? given : "");
}

static json_t *record_json(const struct network *n) {
  char sub[20] = "", rng[20] = "", gw[16] = "";
  if (n->has_ipam) {
    subnet_shown(n, sub);
    if (n->range.prefix) cidr_format(n->range, rng);
    ip4_format(n->gateway, gw);
  }
  char sub6[48] = "", gw6[46] = "";
  if (n->subnet6.prefix) {
    subnet6_shown(n, sub6);
    ip6_at(n->subnet6, n->gateway6, gw6);
  }
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:O,s:O,s:I,s:s,s:s,s:O*}", "Id",
                        n->id, "Name", n->name, "Driver", n->driver, "Subnet", sub, "IPRange", rng,
                        "Gateway", gw, "Internal", n->internal, "Attachable", n->attachable,
                        "EnableIPv6", n->ipv6, "Predefined", n->predefined, "Options", n->options,
                        "Labels", n->labels, "Created", (json_int_t)n->created_ns, "Subnet6", sub6,
                        "Gateway6", gw6, "IPAMOptions", n->ipam_options);
  if (n->gateway_implied) json_object_set_new(j, "GatewayImplied", json_true());
  json_object_set_new(j, "SubnetGiven", json_boolean(n->subnet_given));
  if (n->gateway6_implied) json_object_set_new(j, "Gateway6Implied", json_true());
  return j;
}

static int save(struct daemon *d, const struct network *n, struct berth_err *err) {
  json_t *j = record_json(n);
  cleanup_free char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  cleanup_free char *path = record_path(d, n->id);
  int r = write_file_atomic(path, text, strlen(text), 0600);
  return r < 0 ? err_sys_(err, BERTH_EINTERNAL, -r, "save network %s", n->name) : 0;
}

static void net_free(struct network *n) {
  if (!n) return;
  free(n->name);
  free(n->driver);
  json_decref(n->options);
  json_decref(n->labels);
  json_decref(n->ipam_options);
  json_decref(n->shown);
  ipam_net_free(&n->ipam);
  ipam_net_free(&n->ipam6);
  free(n->eps);
  free(n);
}

static void ep_add_locked(struct network *n, const struct net_endpoint *ep) {
  n->eps = xrealloc(n->eps, (n->n_eps + 1) * sizeof *n->eps);
  n->eps[n->n_eps++] = *ep;
}

static void ep_del_locked(struct network *n, const char *ep_id) {
  for (size_t i = 0; i < n->n_eps; i++)
    if (!strcmp(n->eps[i].ep_id, ep_id)) {
      n->eps[i] = n->eps[--n->n_eps];
      return;
    }
}

/* by exact name, full id, then a unique id prefix; with N.lock held */
static struct network *find_locked(const char *ref) {
  struct network *hit = NULL;
  size_t len = strlen(ref), hits = 0;
  for (size_t i = 0; i < N.n; i++)
    if (!strcmp(N.v[i]->name, ref)) return N.v[i];
  for (size_t i = 0; i < N.n; i++)
    if (!strcmp(N.v[i]->id, ref)) return N.v[i];
  for (size_t i = 0; len && i < N.n; i++)
    if (!strncmp(N.v[i]->id, ref, len)) hit = N.v[i], hits++;
  return hits == 1 ? hit : NULL;
}

static void add_locked(struct network *n) {
  N.v = xrealloc(N.v, (N.n + 1) * sizeof *N.v);
  N.v[N.n++] = n;
}

static void remove_locked(struct network *n) {
  for (size_t i = 0; i < N.n; i++)
    if (N.v[i] == n) {
      memmove(N.v + i, N.v + i + 1, (N.n - i - 1) * sizeof *N.v);
      N.n--;
      return;
    }
}

/* addresses of its IPv6 subnet handed out: one given without --ipv6 is
 * recorded and shown only, as dockerd (its offset map is never made) */
static bool uses_v6(const struct network *n) {
  return n->ipv6 && n->subnet6.prefix;
}

static int ipam_setup(struct network *n) {
  if (!n->has_ipam) return 0;
  if (uses_v6(n) &&
      ipam_net_init(&n->ipam6, ip6_pool(n->subnet6), (struct cidr){0, 0}, n->gateway6) < 0)
    return -1;
  return ipam_net_init(&n->ipam, n->subnet, n->range, n->gateway);
}

static struct network *from_record(json_t *j) {
  struct network *n = xcalloc(1, sizeof *n);
  const char *id = json_string_value(json_object_get(j, "Id"));
  const char *name = json_string_value(json_object_get(j, "Name"));
  const char *drv = json_string_value(json_object_get(j, "Driver"));
  if (!id || strlen(id) != 64 || !name || !drv) {
    free(n);
    return NULL;
  }
  memcpy(n->id, id, 65);
  n->name = xstrdup(name);
  n->driver = xstrdup(drv);
  struct berth_err e = {0};
  const char *sub = json_string_value(json_object_get(j, "Subnet"));
  const char *rng = json_string_value(json_object_get(j, "IPRange"));
  const char *gw = json_string_value(json_object_get(j, "Gateway"));
  n->has_ipam = sub && *sub && cidr_parse(sub, "subnet", &n->subnet, &e) == 0;
  if (n->has_ipam) keep_subnet_text(n, sub);
  if (rng && *rng) cidr_parse(rng, "ip-range", &n->range, &e);
  if (gw && *gw) ip4_parse(gw, &n->gateway);
  const char *sub6 = json_string_value(json_object_get(j, "Subnet6"));
  const char *gw6 = json_string_value(json_object_get(j, "Gateway6"));
  if (sub6 && *sub6 && cidr6_parse(sub6, "subnet", &n->subnet6, &e) == 0) {
    keep_subnet6_text(n, sub6);
    if (ip6_offset(n->subnet6, gw6, &n->gateway6) < 0) n->gateway6 = 1;
  }
  n->internal = json_is_true(json_object_get(j, "Internal"));
  n->attachable = json_is_true(json_object_get(j, "Attachable"));
  n->ipv6 = json_is_true(json_object_get(j, "EnableIPv6"));
  n->predefined = json_is_true(json_object_get(j, "Predefined"));
  n->gateway_implied = json_is_true(json_object_get(j, "GatewayImplied"));
  json_t *given = json_object_get(j, "SubnetGiven"); /* unknown before stop 31: as given */
  n->subnet_given = !given || json_is_true(given);
  n->gateway6_implied = json_is_true(json_object_get(j, "Gateway6Implied"));
  n->options = json_incref(json_object_get(j, "Options"));
  n->labels = json_incref(json_object_get(j, "Labels"));
  json_t *io = json_object_get(j, "IPAMOptions");
  n->ipam_options = json_is_object(io) ? json_incref(io) : NULL;
  if (!json_is_object(n->options)) json_decref(n->options), n->options = json_object();
  if (!json_is_object(n->labels)) json_decref(n->labels), n->labels = json_object();
  n->created_ns = json_integer_value(json_object_get(j, "Created"));
  ipam_setup(n);
  return n;
}

static void load_records(struct daemon *d) {
  cleanup_free char *dir = xasprintf("%s/networks", d->cfg.data_root);
  DIR *dd = opendir(dir);
  struct dirent *de;
  while (dd && (de = readdir(dd))) {
    if (!str_has_suffix(de->d_name, ".json") || strlen(de->d_name) != 69) continue;
    cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
    json_t *j = json_load_file(p, 0, NULL);
    struct network *n = j ? from_record(j) : NULL;
    json_decref(j);
    if (!n) {
      log_warn("network record %s is unreadable; ignored", p);
      continue;
    }
    add_locked(n);
  }
  if (dd) closedir(dd);
}

/* host and none, when their drivers are loaded: made once, kept with
 * their ids */
static void predefine(struct daemon *d, const char *name, const char *driver) {
  if (find_locked(name) || !plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, driver)) return;
  struct network *n = xcalloc(1, sizeof *n);
  random_hex(n->id, 32);
  n->name = xstrdup(name);
  n->driver = xstrdup(driver);
  n->predefined = true;
  n->options = json_object();
  n->labels = json_object();
  n->created_ns = now_ns();
  struct berth_err e = {0};
  if (save(d, n, &e) < 0) log_warn("%s", e.msg);
  add_locked(n);
}

static int driver_create(struct daemon *d, struct network *n, struct berth_err *err);
static bool has_dns(const struct network *n);
static int dns_lookup(const char *net_id, uint32_t client, const char *name, uint32_t *ip,
                      uint8_t ip6[16]);
static void dns_upstream(const char *net_id, uint32_t client, char *out, size_t len);
static void dns_up(struct daemon *d, const char *id, uint32_t gateway, const char *name);
static bool plumbed_driver(const char *driver);

/* the subnets the networks hold, for overlap checks and pool picking
 * (with N.lock held; the caller frees); with routes, also the host's own
 * routes (not the default one), as docker skips pools the host reaches
 * already (a LAN on 172.17.0.0/16, another engine's docker0) */
static struct cidr *subnets_locked(size_t *n, bool routes) {
  size_t cap = N.n + 1;
  struct cidr *v = xcalloc(cap, sizeof *v);
  *n = 0;
  for (size_t i = 0; i < N.n; i++)
    if (N.v[i]->has_ipam) v[(*n)++] = N.v[i]->subnet;
  FILE *f = routes ? fopen("/proc/net/route", "re") : NULL;
  char line[256];
  while (f && fgets(line, sizeof line, f)) {
    unsigned dst, gw, flags, mask;
    char ifname[32];
    if (sscanf(line, "%31s %x %x %x %*d %*d %*d %x", ifname, &dst, &gw, &flags, &mask) != 5 ||
        !mask)
      continue; /* the header, a default route */
    if (*n + 1 >= cap) v = xrealloc(v, (cap *= 2) * sizeof *v);
    uint32_t m = ntohl(mask);
    v[(*n)++] = (struct cidr){ntohl(dst) & m, __builtin_popcount(m)};
  }
  if (f) fclose(f);
  return v;
}

/* the default bridge network, when the bridge driver is loaded: 172.17.0.0/16
 * unless another network holds it */
static void predefine_bridge(struct daemon *d) {
  if (find_locked("bridge") || !plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, "bridge"))
    return;
  size_t nu;
  cleanup_free struct cidr *used = subnets_locked(&nu, true);
  struct network *n = xcalloc(1, sizeof *n);
  random_hex(n->id, 32);
  n->name = xstrdup("bridge");
  n->driver = xstrdup("bridge");
  n->predefined = n->has_ipam = true;
  n->options = json_pack("{s:s}", "com.docker.network.bridge.default_bridge", "true");
  n->labels = json_object();
  n->created_ns = now_ns();
  struct berth_err e = {0};
  int r = 0;
  if (*d->cfg.bridge_subnet)
    r = cidr_parse(d->cfg.bridge_subnet, "network.bridge-subnet", &n->subnet, &e);
  else
    r = ipam_pick_pool(used, nu, true, &n->subnet, &e);
  if (r == 0) {
    n->gateway = n->subnet.addr + 1;
    r = ipam_setup(n) < 0 ? -BERTH_EINTERNAL : 0;
  }
  if (r == 0) r = driver_create(d, n, &e);
  if (r == 0) r = save(d, n, &e);
  if (r < 0) {
    daemon_warn(d, "the default bridge network could not be made: %s", e.msg);
    net_free(n);
    return;
  }
  add_locked(n);
}

/* what docker's default bridge shows in its Options: the settings it was
 * made with (here the bridge driver's daemon.conf default-name and mtu, and
 * the defaults of the options a user network may set) */
static void show_default_bridge(struct daemon *d) {
  struct network *n = find_locked("bridge");
  struct loaded_plugin *p = plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, "bridge");
  if (!n || !n->predefined || strcmp(n->driver, "bridge") || !p) return;
  json_t *conf = plugin_resolved_config(p);
  /* each option: a value of its own, or the driver's setting of that name
   * (the resolved configuration holds each as a string) */
  static const struct {
    const char *option, *value, *setting;
  } shown[] = {{"com.docker.network.bridge.enable_icc", "true", NULL},
               {"com.docker.network.bridge.enable_ip_masquerade", "true", NULL},
               {"com.docker.network.bridge.host_binding_ipv4", "0.0.0.0", NULL},
               {"com.docker.network.bridge.name", NULL, "default-name"},
               {"com.docker.network.driver.mtu", NULL, "mtu"}};
  json_decref(n->shown);
  n->shown = json_deep_copy(n->options);
  for (size_t i = 0; i < ARRAY_SIZE(shown); i++) {
    const char *v = shown[i].value;
    if (shown[i].setting) v = json_string_value(json_object_get(conf, shown[i].setting));
    if (v && !json_object_get(n->shown, shown[i].option))
      json_object_set_new(n->shown, shown[i].option, json_string(v));
  }
  json_decref(conf);
}

/* bridges do not outlive a reboot: every network's plumbing again
 * (idempotent in the driver) */
static void replumb(struct daemon *d) {
  for (size_t i = 0; i < N.n; i++) {
    struct network *n = N.v[i];
    if (!strcmp(n->driver, "host") || !strcmp(n->driver, "none")) continue;
    struct berth_err e = {0};
    if (driver_create(d, n, &e) < 0)
      daemon_warn(d, "network %s cannot be set up: %s", n->name, e.msg);
  }
}

int net_init(struct daemon *d, struct berth_err *err) {
  cleanup_free char *dir = xasprintf("%s/networks", d->cfg.data_root);
  int r = mkdir_p(dir, 0700);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "mkdir %s", dir);
  pthread_mutex_lock(&N.lock);
  load_records(d);
  replumb(d);
  predefine(d, "host", "host");
  predefine(d, "none", "none");
  predefine_bridge(d);
  show_default_bridge(d);
  size_t n = N.n;
  struct {
    char id[65], name[128];
    uint32_t gw;
  } *up = xcalloc(n + 1, sizeof *up);
  size_t nu = 0;
  for (size_t i = 0; i < N.n; i++)
    if (has_dns(N.v[i])) {
      memcpy(up[nu].id, N.v[i]->id, 65);
      snprintf(up[nu].name, sizeof up[nu].name, "%s", N.v[i]->name);
      up[nu++].gw = N.v[i]->gateway;
    }
  pthread_mutex_unlock(&N.lock);
  if (dns_start(dns_lookup, dns_upstream) < 0)
    daemon_warn(d, "the embedded DNS server could not start");
  for (size_t i = 0; i < nu; i++) /* outside N.lock: the DNS thread takes it */
    dns_up(d, up[i].id, up[i].gw, up[i].name);
  free(up);
  log_info("networks: %zu", n);
  return 0;
}

/* dockerd's IPAM has no address for a gateway in a subnet this small */
static int no_gateway_room(const char *gateway, struct berth_err *err) {
  return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                       "failed to allocate gateway (%s): No available addresses on this pool",
                       gateway ? gateway : "");
}

/* the IPAM part of a create: the subnet given (not overlapping another
 * network's) or a default pool, the range within it, the gateway in it */
static int plan_ipam(const struct net_create_req *r, struct network *n, struct berth_err *err) {
  n->has_ipam = true;
  size_t nu;
  cleanup_free struct cidr *used = subnets_locked(&nu, !(r->subnet && *r->subnet));
  int rc;
  if (r->subnet && *r->subnet) {
    if ((rc = cidr_parse(r->subnet, "subnet", &n->subnet, err)) < 0) return rc;
    keep_subnet_text(n, r->subnet);
    n->subnet_given = true;
    if (n->subnet.prefix >= 31) return no_gateway_room(r->gateway, err);
    for (size_t i = 0; i < nu; i++)
      if (cidr_overlap(used[i], n->subnet))
        return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                             "Pool overlaps with other one on this address space");
  } else if ((rc = ipam_pick_pool(used, nu, false, &n->subnet, err)) < 0) {
    return rc;
  }
  if (r->ip_range && *r->ip_range) {
    if ((rc = cidr_parse(r->ip_range, "ip-range", &n->range, err)) < 0) return rc;
    if (!cidr_within(n->range, n->subnet))
      return berth_err_set(err, BERTH_EINVAL, 0, "no matching subnet for range %s", r->ip_range);
  }
  if (r->gateway && *r->gateway) {
    if (ip4_parse(r->gateway, &n->gateway) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid gateway address %s", r->gateway);
    if (!cidr_contains(n->subnet, n->gateway))
      return berth_err_set(err, BERTH_EINVAL, 0, "no matching subnet for gateway %s", r->gateway);
  } else {
    n->gateway = n->subnet.addr + 1;
    n->gateway_implied = r->subnet && *r->subnet;
  }
  return ipam_setup(n) < 0 ? berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory") : 0;
}

/* The IPv6 subnet: with --ipv6 required (docker 20.10 picks none by
 * itself) and used; without, recorded and shown but not used, as dockerd
 * (a compose file's IPAM may list one without enable_ipv6). */
static int plan_ipam6(const struct net_create_req *r, struct network *n, struct berth_err *err) {
  bool given = r->subnet6 && *r->subnet6;
  if (!given)
    return r->ipv6 ? berth_err_set(err, BERTH_EFORBIDDEN, 0,
                                   "could not find an available, non-overlapping IPv6 address "
                                   "pool among the defaults to assign to the network")
                   : 0;
  int rc = cidr6_parse(r->subnet6, "subnet", &n->subnet6, err);
  if (rc < 0) return rc;
  if (!n->subnet6.prefix)
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid subnet %s: a /0 takes every address",
                         r->subnet6);
  keep_subnet6_text(n, r->subnet6);
  const char *gw = r->gateway6 && *r->gateway6 ? r->gateway6 : NULL;
  if (r->ipv6 && n->subnet6.prefix == 128) return no_gateway_room(gw, err);
  for (size_t i = 0; r->ipv6 && i < N.n; i++)
    if (N.v[i]->ipv6 && N.v[i]->subnet6.prefix && cidr6_overlap(N.v[i]->subnet6, n->subnet6))
      return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                           "Pool overlaps with other one on this address space");
  n->gateway6 = 1;
  n->gateway6_implied = !gw;
  if (gw && ip6_offset(n->subnet6, gw, &n->gateway6) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "no matching subnet for gateway %s", gw);
  return 0;
}

static int check_create(struct daemon *d, const struct net_create_req *r, const char *driver,
                        struct berth_err *err) {
  if (!r->name || !*r->name) return berth_err_set(err, BERTH_EINVAL, 0, "network name is required");
  for (const char *c = r->name; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr("_.-", *c))
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                           "allowed",
                           r->name);
  struct network *same = find_locked(r->name);
  if (same && same->predefined && !strcmp(same->name, r->name))
    return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                         "operation is not permitted on predefined %s network", r->name);
  if (same)
    return berth_err_set(err, BERTH_ECONFLICT, 0, "network with name %s already exists", r->name);
  const char *hb =
      json_string_value(json_object_get(r->options, "com.docker.network.bridge.host_binding_ipv4"));
  uint32_t a;
  if (hb && ip4_parse(hb, &a) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid com.docker.network.bridge.host_binding_ipv4 %s: not an IPv4 "
                         "address",
                         hb);
  if (!strcmp(driver, "host") || !strcmp(driver, "null") || !strcmp(driver, "none"))
    return berth_err_set(err, BERTH_EFORBIDDEN, 0, "only one instance of \"%s\" network is allowed",
                         driver);
  if (!plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, driver))
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "plugin \"%s\" not found", driver);
  return 0;
}

/* the options object as a berth_kv array (strings owned by the object) */
static struct berth_kv *kv_of(json_t *obj, size_t *n) {
  *n = json_object_size(obj);
  struct berth_kv *kv = xcalloc(*n + 1, sizeof *kv);
  const char *k;
  json_t *v;
  size_t i = 0;
  json_object_foreach(obj, k, v) {
    kv[i++] = (struct berth_kv){sizeof *kv, k, json_string_value(v) ?: ""};
  }
  return kv;
}

static int driver_create(struct daemon *d, struct network *n, struct berth_err *err) {
  struct loaded_plugin *p = plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, n->driver);
  if (!p) return berth_err_set(err, BERTH_ENOTFOUND, 0, "plugin \"%s\" not found", n->driver);
  struct berth_net_create_req rq = {sizeof rq,   n->id,   n->name, "", "",
                                    n->internal, n->ipv6, NULL,    0};
  if (n->has_ipam) {
    cidr_format(n->subnet, rq.subnet);
    ip4_format(n->gateway, rq.gateway);
  }
  size_t nk;
  struct berth_kv *kv = kv_of(n->options, &nk);
  char sub6[48], gw6[64], addr6[46];
  if (uses_v6(n)) { /* the IPv6 half, as options (the 1.0 request has one subnet) */
    cidr6_format(n->subnet6, sub6);
    ip6_at(n->subnet6, n->gateway6, addr6);
    snprintf(gw6, sizeof gw6, "%s/%d", addr6, n->subnet6.prefix);
    kv = xrealloc(kv, (nk + 3) * sizeof *kv);
    kv[nk++] = (struct berth_kv){sizeof *kv, "berth.ipv6.subnet", sub6};
    kv[nk++] = (struct berth_kv){sizeof *kv, "berth.ipv6.gateway", gw6};
  }
  rq.opts = kv;
  rq.n_opts = nk;
  int r = drv_net_create(p, &rq, err);
  free(kv);
  return r;
}

/* docker's network events: the network's id, its name and driver */
static void net_event(const char *id, const char *name, const char *driver, const char *action,
                      const char *ctr) {
  json_t *a = json_pack("{s:s,s:s}", "name", name, "type", driver);
  if (ctr) json_object_set_new(a, "container", json_string(ctr));
  ev_emit("network", action, id, a);
}

static void ep_event(const struct net_endpoint *ep, const char *action) {
  net_event(ep->net_id, ep->net_name, ep->driver, action, ep->ctr_id);
}

static uint64_t generation = 1;

uint64_t net_generation(void) {
  return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

int net_create(struct daemon *d, const struct net_create_req *r, char id_out[65],
               struct berth_err *err) {
  __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL);
  const char *driver = r->driver && *r->driver ? r->driver : "bridge";
  pthread_mutex_lock(&N.lock);
  int rc = check_create(d, r, driver, err);
  struct network *n = NULL;
  if (rc == 0) {
    n = xcalloc(1, sizeof *n);
    random_hex(n->id, 32);
    n->name = xstrdup(r->name);
    n->driver = xstrdup(driver);
    n->internal = r->internal, n->attachable = r->attachable, n->ipv6 = r->ipv6;
    n->options = r->options ? json_deep_copy(r->options) : json_object();
    n->labels = r->labels ? json_deep_copy(r->labels) : json_object();
    n->ipam_options = r->ipam_options ? json_deep_copy(r->ipam_options) : NULL;
    n->created_ns = now_ns();
    rc = plan_ipam6(r, n, err);
    if (rc == 0) rc = plan_ipam(r, n, err);
  }
  if (rc == 0) rc = driver_create(d, n, err);
  if (rc == 0 && (rc = save(d, n, err)) < 0) {
    struct loaded_plugin *p = plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, n->driver);
    struct berth_err e2 = {0};
    drv_net_delete(p, n->id, &e2); /* nothing half-made */
  }
  bool dns = rc == 0 && has_dns(n);
  uint32_t gw = n ? n->gateway : 0;
  if (rc == 0) {
    add_locked(n);
    memcpy(id_out, n->id, 65);
  } else {
    net_free(n);
  }
  pthread_mutex_unlock(&N.lock);
  if (dns) dns_up(d, id_out, gw, r->name);
  if (rc == 0) net_event(id_out, r->name, driver, "create", NULL);
  return rc;
}

/* docker's 403, naming the containers */
static int in_use(const struct network *n, struct berth_err *err) {
  char names[400] = "";
  for (size_t i = 0; i < n->n_eps; i++) {
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", n->eps[i].ctr_name);
  }
  return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                       "error while removing network: network %s has active endpoints (%s)",
                       n->name, names);
}

int net_remove(struct daemon *d, const char *ref, struct berth_err *err) {
  __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL);
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(ref);
  int r = 0;
  if (!n)
    r = berth_err_set(err, BERTH_ENOTFOUND, 0, "network %s not found", ref);
  else if (n->predefined)
    r = berth_err_set(err, BERTH_EFORBIDDEN, 0, "%s is a pre-defined network and cannot be removed",
                      n->name);
  else if (n->n_eps)
    r = in_use(n, err);
  if (r == 0) {
    struct loaded_plugin *p = plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, n->driver);
    if (p) r = drv_net_delete(p, n->id, err);
  }
  if (r == 0) {
    cleanup_free char *path = record_path(d, n->id);
    if (unlink(path) < 0 && errno != ENOENT)
      r = err_sys(err, BERTH_EINTERNAL, "remove network record %s", path);
  }
  char gone[65] = "";
  if (r == 0) {
    net_event(n->id, n->name, n->driver, "destroy", NULL);
    memcpy(gone, n->id, 65);
    remove_locked(n);
    net_free(n);
  }
  pthread_mutex_unlock(&N.lock);
  if (gone[0]) dns_remove(gone);
  return r;
}

static json_t *ipam_json(const struct network *n) {
  json_t *cfg = json_array();
  if (n->has_ipam) {
    char sub[20], gw[16], rng[20];
    subnet_shown(n, sub);
    ip4_format(n->gateway, gw);
    json_t *c = json_pack("{s:s}", "Subnet", sub);
    if (n->range.prefix) {
      cidr_format(n->range, rng);
      json_object_set_new(c, "IPRange", json_string(rng));
    }
    if (!n->gateway_implied) json_object_set_new(c, "Gateway", json_string(gw));
    json_array_append_new(cfg, c);
  }
  if (n->subnet6.prefix) {
    char sub6[48], gw6[46];
    subnet6_shown(n, sub6);
    ip6_at(n->subnet6, n->gateway6, gw6);
    json_t *c = json_pack("{s:s}", "Subnet", sub6);
    if (!n->gateway6_implied) json_object_set_new(c, "Gateway", json_string(gw6));
    json_array_append_new(cfg, c);
  }
  return json_pack("{s:s,s:O?,s:o}", "Driver", "default", "Options", n->ipam_options, "Config",
                   cfg);
}

static json_t *containers_json(const struct network *n) {
  json_t *o = json_object();
  for (size_t i = 0; i < n->n_eps; i++) {
    const struct net_endpoint *e = &n->eps[i];
    char cidr[24], cidr6[56] = "";
    snprintf(cidr, sizeof cidr, "%s/%d", e->ip, e->prefix);
    if (e->ip6[0]) snprintf(cidr6, sizeof cidr6, "%s/%d", e->ip6, e->prefix6);
    json_object_set_new(o, e->ctr_id,
                        json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", e->ctr_name, "EndpointID",
                                  e->ep_id, "MacAddress", e->mac, "IPv4Address", cidr,
                                  "IPv6Address", cidr6));
  }
  return o;
}

static json_t *inspect_locked(const struct network *n) {
  char created[64];
  format_rfc3339(n->created_ns, created, sizeof created);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:o,s:b,s:b,s:b,s:{s:s},s:b,s:o,s:O,s:O}", "Name",
                   n->name, "Id", n->id, "Created", created, "Scope", "local", "Driver",
                   shown_driver(n), "EnableIPv6", n->ipv6, "EnableIPv4", 1, "IPAM", ipam_json(n),
                   "Internal", n->internal, "Attachable", n->attachable, "Ingress", 0, "ConfigFrom",
                   "Network", "", "ConfigOnly", 0, "Containers", containers_json(n), "Options",
                   n->shown ? n->shown : n->options, "Labels", n->labels);
}

json_t *net_inspect(struct daemon *d, const char *ref, struct berth_err *err) {
  (void)d;
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(ref);
  json_t *j = n ? inspect_locked(n) : NULL;
  pthread_mutex_unlock(&N.lock);
  if (!j) berth_err_set(err, BERTH_ENOTFOUND, 0, "network %s not found", ref);
  return j;
}

/* docker's network filters (daemon/network/filter.go): driver exactly,
 * name and id as regular expressions, label as a list, scope local, then
 * dangling (one value) and type (its values ORed) */
static bool matches(const struct network *n, struct filters *f, int dangling) {
  bool custom = !n->predefined;
  bool type = !filters_has(f, "type") ||
              (custom ? filters_exact(f, "type", "custom") : filters_exact(f, "type", "builtin"));
  return (filters_exact(f, "driver", shown_driver(n)) || filters_exact(f, "driver", n->driver)) &&
         filters_match(f, "name", n->name) && filters_match(f, "id", n->id) &&
         filters_labels(f, "label", n->labels) && filters_exact(f, "scope", "local") &&
         (dangling < 0 || dangling == (custom && !n->n_eps)) && type;
}

static int check_filters(struct filters *f, int *dangling, struct berth_err *err) {
  static const char *const accepted[] = {"name", "id",    "driver",   "label",
                                         "type", "scope", "dangling", NULL};
  if (filters_check(f, accepted, err) < 0) return -1;
  const struct filter_key *k = filters_get(f, "type");
  for (size_t i = 0; k && i < k->n; i++)
    if (strcmp(k->vals[i], "custom") && strcmp(k->vals[i], "builtin"))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid filter: 'type'='%s'", k->vals[i]);
  *dangling = -1;
  if (!(k = filters_get(f, "dangling")) || !k->n) return 0;
  if (k->n > 1)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "got more than one value for filter key \"dangling\"");
  const char *v = k->vals[0];
  if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "0") || !strcmp(v, "false")) {
    *dangling = *v == '1' || *v == 't';
    return 0;
  }
  return berth_err_set(err, BERTH_EINVAL, 0,
                       "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or "
                       "\"false\" (or \"0\")");
}

json_t *net_list(struct daemon *d, struct filters *f, struct berth_err *err) {
  (void)d;
  int dangling;
  if (check_filters(f, &dangling, err) < 0) return NULL;
  json_t *a = json_array();
  pthread_mutex_lock(&N.lock);
  for (size_t i = 0; i < N.n; i++)
    if (matches(N.v[i], f, dangling)) json_array_append_new(a, inspect_locked(N.v[i]));
  pthread_mutex_unlock(&N.lock);
  return a;
}

json_t *net_prune(struct daemon *d, struct filters *f, struct berth_err *err) {
  static const char *const accepted[] = {"label", "label!", "until", NULL};
  int64_t until;
  if (filters_check(f, accepted, err) < 0 || filters_until(f, &until, err) < 0) return NULL;
  json_t *names = json_array();
  pthread_mutex_lock(&N.lock);
  json_t *victims = json_array();
  for (size_t i = 0; i < N.n; i++) {
    if (!N.v[i]->predefined && !N.v[i]->n_eps && N.v[i]->created_ns <= until &&
        filters_prune_labels(f, N.v[i]->labels))
      json_array_append_new(victims, json_string(N.v[i]->id));
  }
  pthread_mutex_unlock(&N.lock);
  size_t i;
  json_t *v;
  json_array_foreach(victims, i, v) {
    struct berth_err e = {0};
    json_t *j = net_inspect(d, json_string_value(v), &e);
    const char *name = j ? json_string_value(json_object_get(j, "Name")) : NULL;
    if (name && net_remove(d, json_string_value(v), &e) == 0)
      json_array_append_new(names, json_string(name));
    json_decref(j);
  }
  json_decref(victims);
  return names;
}

/* ---------------- endpoints ---------------- */

static void unhold_locked(const char *ep_id);
static bool has_holds_locked(const char *ep_id);

static bool plumbed_driver(const char *driver) {
  return strcmp(driver, "host") && strcmp(driver, "none");
}

int net_resolve(struct daemon *d, const char *mode, struct net_endpoint *ep,
                struct berth_err *err) {
  memset(ep, 0, sizeof *ep);
  if (!mode || !*mode || !strcmp(mode, "default")) mode = d->cfg.default_network;
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(mode);
  if (!n && !strcmp(mode, "bridge")) n = find_locked(d->cfg.default_network);
  if (n) {
    memcpy(ep->net_id, n->id, 65);
    snprintf(ep->net_name, sizeof ep->net_name, "%s", n->name);
    snprintf(ep->driver, sizeof ep->driver, "%s", n->driver);
    ep->predefined = n->predefined;
    ep->subnet_given = n->subnet_given;
    ep->subnet6_given = uses_v6(n);
  }
  pthread_mutex_unlock(&N.lock);
  return n ? 0 : berth_err_set(err, BERTH_ENOTFOUND, 0, "network %s not found", mode);
}

bool net_endpoint_used(const struct net_endpoint *ep) {
  return ep->ip[0] != 0;
}

bool net_endpoint_plumbed(const struct net_endpoint *ep) {
  return plumbed_driver(ep->driver) && net_endpoint_used(ep);
}

/* the IPv6 half of an endpoint on a network with --ipv6 */
static int reserve6_locked(struct network *n, struct net_endpoint *ep, struct berth_err *err) {
  char want6[46];
  snprintf(want6, sizeof want6, "%s", ep->ip6); /* --ip6, or "" */
  ep->ip6[0] = ep->gateway6[0] = 0;
  if (!uses_v6(n))
    return want6[0] ? berth_err_set(err, BERTH_EINVAL, 0,
                                    "invalid address %s: the network has no IPv6 subnet", want6)
                    : 0;
  uint32_t off, want = 0;
  if (want6[0] && ip6_offset(n->subnet6, want6, &want) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Invalid address %s: It does not belong to any of this network's subnets",
                         want6);
  int r = ipam_alloc(&n->ipam6, want, &off, err);
  if (r < 0 && want)
    return berth_err_set(err, BERTH_ECONFLICT, 0, "Address already in use: %s", want6);
  if (r < 0) return r;
  ip6_at(n->subnet6, off, ep->ip6);
  ip6_at(n->subnet6, n->gateway6, ep->gateway6);
  ep->prefix6 = n->subnet6.prefix;
  return 0;
}

int net_reserve(struct daemon *d, struct net_endpoint *ep, const char *want_ip,
                struct berth_err *err) {
  (void)d;
  if (!plumbed_driver(ep->driver)) return 0;
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(ep->net_id);
  int r = n && n->has_ipam
              ? 0
              : berth_err_set(err, BERTH_ENOTFOUND, 0, "network %s not found", ep->net_name);
  uint32_t want = 0, ip = 0;
  if (r == 0 && want_ip && *want_ip && ip4_parse(want_ip, &want) < 0)
    r = berth_err_set(err, BERTH_EINVAL, 0, "invalid IPv4 address: %s", want_ip);
  if (r == 0) r = ipam_alloc(&n->ipam, want, &ip, err);
  if (r == 0) {
    ip4_format(ip, ep->ip);
    ip4_format(n->gateway, ep->gateway);
    ep->prefix = n->subnet.prefix;
    if (!ep->mac[0])
      snprintf(ep->mac, sizeof ep->mac, "02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 255,
               (ip >> 8) & 255, ip & 255); /* as docker derives it */
    r = reserve6_locked(n, ep, err);
    if (r < 0) ipam_release(&n->ipam, ip), ep->ip[0] = 0;
  }
  if (r == 0) {
    random_hex(ep->ep_id, 32);
    ep_add_locked(n, ep);
  }
  pthread_mutex_unlock(&N.lock);
  return r;
}

static struct loaded_plugin *driver_of(struct daemon *d, const struct net_endpoint *ep) {
  return plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, ep->driver);
}

int net_plumb(struct daemon *d, struct net_endpoint *ep, pid_t pid, bool route,
              struct berth_err *err) {
  if (!net_endpoint_plumbed(ep)) return 0;
  struct loaded_plugin *p = driver_of(d, ep);
  if (!p) return berth_err_set(err, BERTH_ENOTFOUND, 0, "plugin \"%s\" not found", ep->driver);
  char ns[64];
  snprintf(ns, sizeof ns, "/proc/%d/ns/net", (int)pid);
  /* where the sandbox is, so the driver can make the interface in it */
  struct berth_kv kv = {sizeof kv, "berth.netns", ns};
  struct berth_endpoint_req rq = {sizeof rq, ep->net_id, ep->ep_id, "", "", &kv, 1};
  snprintf(rq.address, sizeof rq.address, "%s/%d", ep->ip, ep->prefix);
  snprintf(rq.mac, sizeof rq.mac, "%s", ep->mac);
  struct berth_join_info ji = {sizeof ji, "", "", "", 0};
  int64_t t = trace_phase(ep->ctr_id, "", 0);
  int r = drv_net_create_endpoint(p, &rq, err);
  t = trace_phase(ep->ctr_id, "net create_endpoint", t);
  if (r == 0) r = drv_net_join(p, ep->net_id, ep->ep_id, ns, &ji, err);
  t = trace_phase(ep->ctr_id, "net join", t);
  if (r == 0) {
    struct sandbox_if s = {.prefix = ep->prefix};
    snprintf(s.src_name, sizeof s.src_name, "%s", ji.src_ifname);
    snprintf(s.dst_name, sizeof s.dst_name, "%s", ep->ifname[0] ? ep->ifname : "eth0");
    snprintf(s.mac, sizeof s.mac, "%s", ep->mac);
    ip4_parse(ep->ip, &s.ip);
    if (route && !ji.disable_gateway)
      ip4_parse(ji.gateway[0] ? ji.gateway : ep->gateway, &s.gateway);
    snprintf(s.ip6, sizeof s.ip6, "%s", ep->ip6);
    s.prefix6 = ep->prefix6;
    if (route && !ji.disable_gateway) snprintf(s.gateway6, sizeof s.gateway6, "%s", ep->gateway6);
    r = sandbox_setup(pid, &s, err);
    trace_phase(ep->ctr_id, "net sandbox", t);
  }
  if (r < 0) {
    struct berth_err e2 = {0};
    drv_net_leave(p, ep->net_id, ep->ep_id, &e2);
    drv_net_delete_endpoint(p, ep->net_id, ep->ep_id, &e2);
  } else {
    ep_event(ep, "connect");
  }
  return r;
}

static void release_address(struct net_endpoint *ep) {
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(ep->net_id);
  uint32_t ip;
  if (n && n->has_ipam && ip4_parse(ep->ip, &ip) == 0) ipam_release(&n->ipam, ip);
  uint32_t off;
  if (n && uses_v6(n) && ip6_offset(n->subnet6, ep->ip6, &off) == 0) ipam_release(&n->ipam6, off);
  if (n) ep_del_locked(n, ep->ep_id);
  unhold_locked(ep->ep_id);
  pthread_mutex_unlock(&N.lock);
}

struct unplumb {
  struct daemon *d;
  struct net_endpoint ep;
};

/* the driver's leave and delete_endpoint, off the exit's path: deleting a
 * veth waits for the kernel (synchronize_net, ~20 ms), and the kernel
 * removes the pair with the container's namespace anyway */
static void *unplumb_main(void *arg) {
  struct unplumb *u = arg;
  struct loaded_plugin *p = driver_of(u->d, &u->ep);
  struct berth_err e = {0};
  if (p && (drv_net_leave(p, u->ep.net_id, u->ep.ep_id, &e) < 0 ||
            drv_net_delete_endpoint(p, u->ep.net_id, u->ep.ep_id, &e) < 0))
    log_warn("network %s: endpoint %.12s: %s", u->ep.net_name, u->ep.ep_id, e.msg);
  free(u);
  return NULL;
}

/* on a thread of its own: counted, so berthd's stop waits for the driver */
static void *unplumb_thread(void *arg) {
  unplumb_main(arg);
  work_end();
  return NULL;
}

static void release(struct daemon *d, struct net_endpoint *ep, bool now) {
  if (!net_endpoint_used(ep)) return;
  if (plumbed_driver(ep->driver)) ep_event(ep, "disconnect");
  struct loaded_plugin *p = driver_of(d, ep);
  /* its published ports go now (a new container may want them) */
  pthread_mutex_lock(&N.lock);
  bool held = has_holds_locked(ep->ep_id);
  pthread_mutex_unlock(&N.lock);
  struct berth_err e = {0};
  if (p && held && drv_net_publish(p, ep->net_id, ep->ep_id, NULL, 0, &e) < 0)
    log_warn("network %s: endpoint %.12s: %s", ep->net_name, ep->ep_id, e.msg);
  release_address(ep);
  struct unplumb *u = xcalloc(1, sizeof *u);
  u->d = d, u->ep = *ep;
  pthread_t t;
  bool later = !now && work_begin(); /* berthd stopping: here, in the caller's work */
  if (later && pthread_create(&t, NULL, unplumb_thread, u) == 0) {
    pthread_detach(t);
  } else {
    if (later) work_end();
    unplumb_main(u);
  }
  ep->ip[0] = ep->gateway[0] = ep->mac[0] = ep->ep_id[0] = 0;
}

void net_release(struct daemon *d, struct net_endpoint *ep) {
  release(d, ep, false);
}

void net_release_now(struct daemon *d, struct net_endpoint *ep) {
  release(d, ep, true);
}

void net_restore(struct daemon *d, struct net_endpoint *ep, bool running) {
  if (!net_endpoint_used(ep)) return;
  if (!running) {
    net_release(d, ep); /* what a container that died meanwhile left */
    return;
  }
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(ep->net_id);
  uint32_t ip;
  if (n && n->has_ipam && ip4_parse(ep->ip, &ip) == 0 && !ipam_mark(&n->ipam, ip))
    log_warn("network %s: %s is held twice", n->name, ep->ip);
  uint32_t off;
  if (n && uses_v6(n) && ip6_offset(n->subnet6, ep->ip6, &off) == 0) ipam_mark(&n->ipam6, off);
  if (n) ep_add_locked(n, ep);
  pthread_mutex_unlock(&N.lock);
}

json_t *net_endpoint_json(const struct net_endpoint *ep) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}",
                   "NetworkID", ep->net_id, "Name", ep->net_name, "Driver", ep->driver,
                   "EndpointID", ep->ep_id, "IPAddress", ep->ip, "Gateway", ep->gateway,
                   "MacAddress", ep->mac, "IPPrefixLen", ep->prefix, "ContainerID", ep->ctr_id,
                   "ContainerName", ep->ctr_name, "Hostname", ep->hostname, "Aliases", ep->aliases,
                   "Dns", ep->dns, "IfName", ep->ifname, "GlobalIPv6Address", ep->ip6,
                   "IPv6Gateway", ep->gateway6, "GlobalIPv6PrefixLen", ep->prefix6);
}

static void copy_str(json_t *j, const char *k, char *out, size_t len) {
  snprintf(out, len, "%s", json_string_value(json_object_get(j, k)) ?: "");
}

void net_endpoint_from_json(json_t *j, struct net_endpoint *ep) {
  memset(ep, 0, sizeof *ep);
  copy_str(j, "NetworkID", ep->net_id, sizeof ep->net_id);
  copy_str(j, "Name", ep->net_name, sizeof ep->net_name);
  copy_str(j, "Driver", ep->driver, sizeof ep->driver);
  copy_str(j, "EndpointID", ep->ep_id, sizeof ep->ep_id);
  copy_str(j, "IPAddress", ep->ip, sizeof ep->ip);
  copy_str(j, "Gateway", ep->gateway, sizeof ep->gateway);
  copy_str(j, "MacAddress", ep->mac, sizeof ep->mac);
  copy_str(j, "ContainerID", ep->ctr_id, sizeof ep->ctr_id);
  copy_str(j, "ContainerName", ep->ctr_name, sizeof ep->ctr_name);
  copy_str(j, "Hostname", ep->hostname, sizeof ep->hostname);
  copy_str(j, "Aliases", ep->aliases, sizeof ep->aliases);
  copy_str(j, "Dns", ep->dns, sizeof ep->dns);
  copy_str(j, "IfName", ep->ifname, sizeof ep->ifname);
  copy_str(j, "GlobalIPv6Address", ep->ip6, sizeof ep->ip6);
  copy_str(j, "IPv6Gateway", ep->gateway6, sizeof ep->gateway6);
  ep->prefix6 = (int)json_integer_value(json_object_get(j, "GlobalIPv6PrefixLen"));
  ep->prefix = (int)json_integer_value(json_object_get(j, "IPPrefixLen"));
}

json_t *net_endpoint_settings(const struct net_endpoint *ep, json_t *aliases) {
  return json_pack("{s:n,s:n,s:o,s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:n,s:n}", "IPAMConfig",
                   "Links", "Aliases", aliases, "NetworkID", ep->net_id, "EndpointID", ep->ep_id,
                   "Gateway", ep->gateway, "IPAddress", ep->ip, "IPPrefixLen", ep->prefix,
                   "IPv6Gateway", ep->gateway6, "GlobalIPv6PrefixLen", ep->prefix6,
                   "GlobalIPv6Address", ep->ip6, "MacAddress", ep->mac, "DriverOpts", "DNSNames");
}

/* ---------------- names (the embedded DNS server) ---------------- */

static bool alias_of(const char *list, const char *name) {
  size_t nl = strlen(name);
  for (const char *p = list; *p;) {
    size_t l = strcspn(p, ",");
    if (l == nl && !strncasecmp(p, name, l)) return true;
    p += l + (p[l] == ',');
  }
  return false;
}

static bool answers_to(const struct net_endpoint *e, const char *name) {
  return !strcasecmp(e->ctr_name, name) || (strlen(name) == 12 && !strncmp(e->ctr_id, name, 12)) ||
         (e->hostname[0] && !strcasecmp(e->hostname, name)) || alias_of(e->aliases, name);
}

static int lookup_on_locked(const struct network *n, const char *name, uint32_t *ip,
                            uint8_t ip6[16]) {
  for (size_t i = 0; n && i < n->n_eps; i++)
    if (answers_to(&n->eps[i], name) && ip4_parse(n->eps[i].ip, ip) == 0) {
      memset(ip6, 0, 16);
      if (n->eps[i].ip6[0]) inet_pton(AF_INET6, n->eps[i].ip6, ip6);
      return 1;
    }
  return 0;
}

/* a container called name (its name, short id, hostname, alias) on net_id,
 * else on another network the client's container is on (connected) */
static int dns_lookup(const char *net_id, uint32_t client, const char *name, uint32_t *ip,
                      uint8_t ip6[16]) {
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(net_id);
  int found = lookup_on_locked(n, name, ip, ip6);
  const char *who = NULL;
  for (size_t i = 0; n && !found && i < n->n_eps; i++) {
    uint32_t a;
    if (ip4_parse(n->eps[i].ip, &a) == 0 && a == client) who = n->eps[i].ctr_id;
  }
  for (size_t k = 0; who && !found && k < N.n; k++) {
    struct network *o = N.v[k];
    for (size_t i = 0; o != n && i < o->n_eps && !found; i++)
      if (!strcmp(o->eps[i].ctr_id, who)) found = lookup_on_locked(o, name, ip, ip6);
  }
  pthread_mutex_unlock(&N.lock);
  return found;
}

/* the --dns servers of the container at client (the DNS server's
 * upstreams for it) */
static void dns_upstream(const char *net_id, uint32_t client, char *out, size_t len) {
  out[0] = 0;
  pthread_mutex_lock(&N.lock);
  struct network *n = find_locked(net_id);
  for (size_t i = 0; n && i < n->n_eps; i++) {
    uint32_t ip;
    if (ip4_parse(n->eps[i].ip, &ip) == 0 && ip == client) snprintf(out, len, "%s", n->eps[i].dns);
  }
  pthread_mutex_unlock(&N.lock);
}

/* user networks with an address answer names on their gateway */
static bool has_dns(const struct network *n) {
  return n->has_ipam && !n->predefined && plumbed_driver(n->driver);
}

static void dns_up(struct daemon *d, const char *id, uint32_t gateway, const char *name) {
  int r = dns_add(id, gateway);
  if (r < 0) daemon_warn(d, "network %s: no DNS server on its gateway: %s", name, strerror(-r));
}

/* ---------------- published ports ---------------- */

struct port_hold {
  char ep_id[65], proto[8], host_ip[48];
  uint16_t port, cport;
};
static struct port_hold *holds; /* with N.lock */
static size_t n_holds;

static bool any_ip(const char *ip) {
  return !*ip || !strcmp(ip, "0.0.0.0");
}

/* a port with an IPv6 side relayed by the proxy: TCP or UDP on any address */
static bool proxied(const char *proto, const char *ip) {
  return strcmp(proto, "sctp") && any_ip(ip);
}

static bool held_locked(const char *proto, const char *ip, uint16_t port) {
  for (size_t i = 0; i < n_holds; i++)
    if (holds[i].port == port && !strcmp(holds[i].proto, proto) &&
        (any_ip(ip) || any_ip(holds[i].host_ip) || !strcmp(ip, holds[i].host_ip)))
      return true;
  return false;
}

/* no other program of this host listens there (docker's proxy would fail) */
static bool free_on_host(const char *proto, const char *ip, uint16_t port) {
  if (!strcmp(proto, "sctp")) return true;
  int fd = socket(AF_INET, (!strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  uint32_t a = 0;
  if (!any_ip(ip)) ip4_parse(ip, &a);
  sa.sin_addr.s_addr = htonl(a);
  bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  /* any address: the IPv6 side too, which the proxy will listen on */
  return ok && (!proxied(proto, ip) || proxy_v6_free(!strcmp(proto, "udp"), port));
}

static void ephemeral_range(uint16_t *lo, uint16_t *hi) {
  unsigned a = 32768, b = 60999;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (f && fscanf(f, "%u %u", &a, &b) != 2) a = 32768, b = 60999;
  if (f) fclose(f);
  *lo = (uint16_t)a, *hi = (uint16_t)(b < 65536 ? b : 65535);
}

static int pick_port_locked(const struct ctr_port *p, uint16_t *out, struct berth_err *err) {
  uint16_t lo = p->hlo, hi = p->hhi;
  const char *shown_ip = any_ip(p->host_ip) ? "0.0.0.0" : p->host_ip;
  if (lo && lo == hi) {
    if (held_locked(p->proto, p->host_ip, lo) || !free_on_host(p->proto, p->host_ip, lo))
      return berth_err_set(err, BERTH_ECONFLICT, 0,
                           "Bind for %s:%u failed: port is already allocated", shown_ip, lo);
    return *out = lo, 0;
  }
  if (!lo) ephemeral_range(&lo, &hi);
  uint32_t span = (uint32_t)(hi - lo) + 1, start = (uint32_t)random() % span;
  for (uint32_t k = 0; k < span; k++) {
    uint16_t port = (uint16_t)(lo + (start + k) % span);
    if (!held_locked(p->proto, p->host_ip, port) && free_on_host(p->proto, p->host_ip, port))
      return *out = port, 0;
  }
  return berth_err_set(err, BERTH_ECONFLICT, 0,
                       "Bind for %s:%u-%u failed: no free port in the range", shown_ip, lo, hi);
}

static bool has_holds_locked(const char *ep_id) {
  for (size_t i = 0; i < n_holds; i++)
    if (!strcmp(holds[i].ep_id, ep_id)) return true;
  return false;
}

static void unhold_locked(const char *ep_id) {
  proxy_remove(ep_id);
  for (size_t i = 0; i < n_holds;)
    if (!strcmp(holds[i].ep_id, ep_id))
      holds[i] = holds[--n_holds];
    else
      i++;
}

static uint32_t proto_num(const char *p) {
  return !strcmp(p, "udp") ? 17 : !strcmp(p, "sctp") ? 132 : 6;
}

/* the holds of ep as docker's NetworkSettings.Ports, and to the driver;
 * an IPv6 side that cannot be had fails the publish when v6_required (a
 * new one, checked free a moment ago), else is only said in the log (a
 * restart: the IPv4 side is published all the same) */
static int publish_held(struct daemon *d, const struct net_endpoint *ep, json_t **ports_out,
                        bool v6_required, struct berth_err *err) {
  struct berth_port_binding *b = xcalloc(n_holds + 1, sizeof *b);
  const struct berth_port_binding **ptrs = xcalloc(n_holds + 1, sizeof *ptrs);
  json_t *ports = json_object();
  size_t n = 0;
  int r = 0;
  for (size_t i = 0; i < n_holds; i++) {
    const struct port_hold *h = &holds[i];
    if (strcmp(h->ep_id, ep->ep_id)) continue;
    b[n] = (struct berth_port_binding){sizeof b[n], proto_num(h->proto), "", h->port, h->cport, ""};
    snprintf(b[n].host_ip, sizeof b[n].host_ip, "%s", h->host_ip);
    snprintf(b[n].container_ip, sizeof b[n].container_ip, "%s", ep->ip);
    ptrs[n] = &b[n];
    char key[16], hp[8];
    snprintf(key, sizeof key, "%u/%s", h->cport, h->proto);
    snprintf(hp, sizeof hp, "%u", h->port);
    json_t *arr = json_object_get(ports, key);
    if (!arr) json_object_set_new(ports, key, arr = json_array());
    json_array_append_new(arr,
                          json_pack("{s:s,s:s}", "HostIp",
                                    any_ip(h->host_ip) ? "0.0.0.0" : h->host_ip, "HostPort", hp));
    n++;
    /* docker's [::]:PORT beside it (docker-proxy's), where the host has IPv6 */
    int v6 = proxied(h->proto, h->host_ip)
                 ? proxy_add(ep->ep_id, !strcmp(h->proto, "udp"), h->port, ep->ip, h->cport, err)
                 : 1;
    if (v6 == 0) json_array_append_new(arr, json_pack("{s:s,s:s}", "HostIp", "::", "HostPort", hp));
    if (v6 < 0 && v6_required) {
      r = v6;
      break;
    }
    if (v6 < 0) {
      log_warn("container %.12s: %s", ep->ctr_id, err->msg);
      err->code = err->sys_errno = 0, err->msg[0] = 0;
    }
  }
  struct loaded_plugin *p = driver_of(d, ep);
  if (r == 0 && p) r = drv_net_publish(p, ep->net_id, ep->ep_id, ptrs, n, err);
  if (r < 0) proxy_remove(ep->ep_id);
  free(ptrs);
  free(b);
  if (r < 0 || !ports_out)
    json_decref(ports);
  else
    *ports_out = ports;
  return r;
}

json_t *net_publish(struct daemon *d, struct net_endpoint *ep, const struct ctr_port *req, size_t n,
                    struct berth_err *err) {
  /* nothing to publish: no driver call (a NAT table is not rebuilt for it) */
  if (!plumbed_driver(ep->driver) || !net_endpoint_used(ep) || !n) return json_object();
  pthread_mutex_lock(&N.lock);
  /* -p without a host address: the network's host_binding_ipv4, or any */
  struct network *net = find_locked(ep->net_id);
  const char *dflt = net ? json_string_value(json_object_get(
                               net->options, "com.docker.network.bridge.host_binding_ipv4"))
                         : NULL;
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    uint16_t port = 0;
    struct ctr_port p = req[i];
    if (!p.host_ip[0] && dflt) snprintf(p.host_ip, sizeof p.host_ip, "%s", dflt);
    if ((r = pick_port_locked(&p, &port, err)) < 0) break;
    holds = xrealloc(holds, (n_holds + 1) * sizeof *holds);
    struct port_hold *h = &holds[n_holds++];
    memset(h, 0, sizeof *h);
    snprintf(h->ep_id, sizeof h->ep_id, "%s", ep->ep_id);
    snprintf(h->proto, sizeof h->proto, "%s", req[i].proto);
    snprintf(h->host_ip, sizeof h->host_ip, "%s", p.host_ip);
    h->port = port, h->cport = req[i].cport;
  }
  json_t *ports = NULL;
  if (r == 0) r = publish_held(d, ep, &ports, true, err);
  if (r < 0) unhold_locked(ep->ep_id);
  pthread_mutex_unlock(&N.lock);
  return r < 0 ? NULL : ports;
}

/* after a restart: the ports a running container had, held and published
 * again */
void net_republish(struct daemon *d, struct net_endpoint *ep, json_t *ports) {
  const char *k;
  json_t *v;
  pthread_mutex_lock(&N.lock);
  json_object_foreach(ports, k, v) {
    struct port_hold h = {0};
    unsigned cport = 0;
    char proto[8] = "tcp";
    if (sscanf(k, "%u/%7s", &cport, proto) < 1) continue;
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
      snprintf(h.ep_id, sizeof h.ep_id, "%s", ep->ep_id);
      snprintf(h.proto, sizeof h.proto, "%s", proto);
      const char *hip = json_string_value(json_object_get(b, "HostIp")) ?: "";
      if (!strcmp(hip, "::")) continue; /* the proxy's, made again with the IPv4 one */
      snprintf(h.host_ip, sizeof h.host_ip, "%s", strcmp(hip, "0.0.0.0") ? hip : "");
      h.port = (uint16_t)atoi(json_string_value(json_object_get(b, "HostPort")) ?: "0");
      h.cport = (uint16_t)cport;
      holds = xrealloc(holds, (n_holds + 1) * sizeof *holds);
      holds[n_holds++] = h;
    }
  }
  struct berth_err e = {0};
  if (publish_held(d, ep, NULL, false, &e) < 0)
    log_warn("container %.12s: its ports could not be published again: %s", ep->ctr_id, e.msg);
  pthread_mutex_unlock(&N.lock);
}
