/* A container's networks: which it joins, its endpoints while it runs,
 * connect/disconnect, /etc/hosts and resolv.conf, --link (netctr.h). */
#include "netctr.h"

#include <ctype.h>
#include <sys/stat.h>

#include "../daemon.h"

/* one resolv.conf line of space-separated words: "search a b" */
static char *line_of(const char *key, char **v, size_t n) {
  char *out = xasprintf("%s", key);
  for (size_t i = 0; i < n; i++) {
    char *t = xasprintf("%s %s", out, v[i]);
    free(out);
    out = t;
  }
  char *t = xasprintf("%s\n", out);
  free(out);
  return t;
}

static void append(char **out, const char *s) {
  char *t = xasprintf("%s%s", *out, s);
  free(*out);
  *out = t;
}

/* ---------------- which networks ---------------- */

static const char *mode_of(const struct ctr_opts *o) {
  return *o->network_mode ? o->network_mode : "default";
}

static bool shares_netns(const struct ctr_opts *o) {
  return str_has_prefix(o->network_mode, "container:");
}

static json_t *endpoints_config(const struct container *c) {
  return json_object_get(c->net_config, "EndpointsConfig");
}

/* NetworkingConfig.EndpointsConfig, made when missing */
static json_t *endpoints_config_made(struct container *c) {
  if (!json_is_object(c->net_config)) {
    json_decref(c->net_config);
    c->net_config = json_object();
  }
  if (!json_is_object(endpoints_config(c)))
    json_object_set_new(c->net_config, "EndpointsConfig", json_object());
  return endpoints_config(c);
}

/* EndpointsConfig's key naming the same network as ep (NULL if none) */
static const char *config_key(struct daemon *d, const struct container *c, const char *net_id) {
  const char *k;
  json_t *v;
  json_object_foreach(endpoints_config(c), k, v) {
    struct net_endpoint ep;
    struct berth_err e = {0};
    if (net_resolve(d, k, &ep, &e) == 0 && !strcmp(ep.net_id, net_id)) return k;
  }
  return NULL;
}

int ctrnet_create(struct daemon *d, struct container *c, const struct ctr_opts *o,
                  struct berth_err *err) {
  for (size_t i = 0; i < o->n_links; i++) {
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(o->links[i], ":"), o->links[i]);
    struct container *t = ctr_get(name);
    if (!t)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "could not get container for %s: No such container: %s", name, name);
    ctr_put(t);
  }
  if (shares_netns(o)) return 0;
  /* a network that is not there fails the start, as docker's does */
  struct net_endpoint ep;
  struct berth_err e = {0};
  bool known = net_resolve(d, mode_of(o), &ep, &e) == 0;
  endpoints_config_made(c);
  if (!known ? !json_object_get(endpoints_config(c), mode_of(o)) : !config_key(d, c, ep.net_id))
    json_object_set_new(endpoints_config(c), mode_of(o), json_object());
  return 0;
}

/* the networks it joins, with each one's EndpointConfig: the mode's
 * first, then the rest of EndpointsConfig (a record without one: the mode) */
struct joining {
  struct net_endpoint ep;
  json_t *cfg; /* borrowed from c->net_config */
};

static int plan(struct daemon *d, const struct container *c, const struct ctr_opts *o,
                struct joining **out, size_t *n, struct berth_err *err) {
  json_t *eps = endpoints_config(c);
  size_t cap = json_object_size(eps) + 1;
  struct joining *v = xcalloc(cap, sizeof *v);
  *n = 0;
  struct net_endpoint first;
  int r = net_resolve(d, mode_of(o), &first, err);
  const char *k0 = r == 0 ? config_key(d, c, first.net_id) : NULL;
  if (r == 0 && (k0 || !json_is_object(eps)))
    v[(*n)++] = (struct joining){first, json_object_get(eps, k0 ? k0 : "")};
  const char *k;
  json_t *cfg;
  json_object_foreach(eps, k, cfg) {
    struct net_endpoint ep;
    if (r < 0 || (r = net_resolve(d, k, &ep, err)) < 0) break;
    bool dup = false;
    for (size_t i = 0; i < *n; i++)
      dup |= !strcmp(v[i].ep.net_id, ep.net_id);
    if (!dup) v[(*n)++] = (struct joining){ep, cfg};
  }
  if (r < 0) {
    free(v);
    return r;
  }
  *out = v;
  return 0;
}

/* ---------------- --link ---------------- */

/* what a link shows of its target: it must be running; its address on a
 * network both are on, else on its first */
struct link_target {
  char name[128], alias[128], hostname[64], ip[16];
  json_t *config; /* a reference to its Config */
};

static int link_target(const struct container *c, const char *link, struct link_target *t,
                       struct berth_err *err) {
  const char *colon = strchr(link, ':');
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%.*s", (int)(colon - link), link);
  snprintf(t->alias, sizeof t->alias, "%s", colon + 1);
  struct container *x = ctr_get(t->name);
  if (!x)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "could not get container for %s: No such container: %s", t->name, t->name);
  int r = 0;
  ctr_lock();
  if (!ctr_is_running(x) || x == c) {
    r = berth_err_set(err, BERTH_EINVAL, 0, "Cannot link to a non running container: %s AS %s/%s",
                      x->name, c->name, t->alias);
  } else {
    const struct net_endpoint *ep = x->n_eps ? &x->eps[0] : NULL;
    for (size_t i = 0; i < x->n_eps; i++)
      for (size_t k = 0; k < c->n_eps; k++)
        if (!strcmp(x->eps[i].net_id, c->eps[k].net_id)) ep = &x->eps[i];
    snprintf(t->ip, sizeof t->ip, "%s", ep ? ep->ip : "");
    snprintf(t->hostname, sizeof t->hostname, "%s", x->opts->hostname);
    snprintf(t->name, sizeof t->name, "%s", x->name + 1);
    t->config = json_incref(x->config);
  }
  ctr_unlock();
  ctr_put(x);
  return r;
}

static int check_links(const struct container *c, const struct ctr_opts *o, struct berth_err *err) {
  for (size_t i = 0; i < o->n_links; i++) {
    struct link_target t;
    int r = link_target(c, o->links[i], &t, err);
    json_decref(t.config);
    if (r < 0) return r;
  }
  return 0;
}

/* docker's hosts line for each link: "IP\tALIAS HOSTNAME NAME" */
static void append_links(const struct container *c, const struct ctr_opts *o, char **hosts) {
  for (size_t i = 0; i < o->n_links; i++) {
    struct link_target t;
    struct berth_err e = {0};
    if (link_target(c, o->links[i], &t, &e) == 0 && t.ip[0]) {
      char *l = xasprintf("%s\t%s %s %s\n", t.ip, t.alias, t.hostname, t.name);
      append(hosts, l);
      free(l);
    }
    json_decref(t.config);
  }
}

static void env_add(char ***env, size_t *n, char *kv) {
  size_t kl = strcspn(kv, "=");
  for (size_t i = 0; i < *n; i++)
    if (!strncmp((*env)[i], kv, kl) && (*env)[i][kl] == '=') {
      free(kv); /* the container's own wins */
      return;
    }
  *env = xrealloc(*env, (*n + 2) * sizeof **env);
  (*env)[(*n)++] = kv;
  (*env)[*n] = NULL;
}

static int port_cmp(const void *a, const void *b) {
  unsigned pa = 0, pb = 0;
  sscanf(*(const char *const *)a, "%u", &pa);
  sscanf(*(const char *const *)b, "%u", &pb);
  return pa != pb ? (pa > pb) - (pa < pb)
                  : strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* <ALIAS>_PORT_80_TCP=tcp://IP:80 (and _ADDR, _PORT, _PROTO) for each
 * exposed port, <ALIAS>_PORT for the lowest */
static void link_ports(const struct link_target *t, const char *P, char ***env, size_t *n) {
  json_t *exposed = json_object_get(t->config, "ExposedPorts");
  const char **keys = xcalloc(json_object_size(exposed) + 1, sizeof *keys);
  size_t nk = 0;
  const char *k;
  json_t *v;
  json_object_foreach(exposed, k, v) keys[nk++] = k;
  qsort(keys, nk, sizeof *keys, port_cmp);
  for (size_t i = 0; i < nk; i++) {
    unsigned port = 0;
    char proto[8] = "tcp", up[8];
    sscanf(keys[i], "%u/%7s", &port, proto);
    for (size_t j = 0; j < sizeof up; j++)
      up[j] = (char)toupper((unsigned char)proto[j]);
    if (i == 0) env_add(env, n, xasprintf("%s_PORT=%s://%s:%u", P, proto, t->ip, port));
    env_add(env, n, xasprintf("%s_PORT_%u_%s=%s://%s:%u", P, port, up, proto, t->ip, port));
    env_add(env, n, xasprintf("%s_PORT_%u_%s_ADDR=%s", P, port, up, t->ip));
    env_add(env, n, xasprintf("%s_PORT_%u_%s_PORT=%u", P, port, up, port));
    env_add(env, n, xasprintf("%s_PORT_%u_%s_PROTO=%s", P, port, up, proto));
  }
  free(keys);
}

void ctrnet_link_env(struct container *c, const struct ctr_opts *o, char ***env, size_t *n) {
  for (size_t i = 0; i < o->n_links; i++) {
    struct link_target t;
    struct berth_err e = {0};
    if (link_target(c, o->links[i], &t, &e) == 0) {
      char P[128];
      size_t j = 0;
      for (; t.alias[j] && j < sizeof P - 1; j++)
        P[j] = isalnum((unsigned char)t.alias[j]) ? (char)toupper((unsigned char)t.alias[j]) : '_';
      P[j] = 0;
      link_ports(&t, P, env, n);
      env_add(env, n, xasprintf("%s_NAME=%s/%s", P, c->name, t.alias));
      size_t k;
      json_t *x;
      json_array_foreach(json_object_get(t.config, "Env"), k, x) {
        const char *kv = json_string_value(x), *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq || !strncmp(kv, "HOME=", 5) || !strncmp(kv, "PATH=", 5)) continue;
        env_add(env, n, xasprintf("%s_ENV_%s", P, kv));
      }
    }
    json_decref(t.config);
  }
}

/* ---------------- endpoints ---------------- */

/* --network-alias (its EndpointConfig's Aliases), the hostname, --dns: the
 * names and upstreams of the network's DNS server for it */
static void endpoint_names(const struct container *c, const struct ctr_opts *o, json_t *cfg,
                           struct net_endpoint *ep) {
  snprintf(ep->ctr_id, sizeof ep->ctr_id, "%s", c->id);
  snprintf(ep->ctr_name, sizeof ep->ctr_name, "%s", c->name + 1);
  snprintf(ep->hostname, sizeof ep->hostname, "%s", o->hostname ? o->hostname : "");
  for (size_t i = 0; i < o->n_dns; i++) {
    size_t l = strlen(ep->dns);
    snprintf(ep->dns + l, sizeof ep->dns - l, "%s%s", l ? "," : "", o->dns[i]);
  }
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(cfg, "Aliases"), i, a) {
    const char *s = json_string_value(a);
    size_t l = strlen(ep->aliases);
    if (s && *s && !strchr(s, ','))
      snprintf(ep->aliases + l, sizeof ep->aliases - l, "%s%s", l ? "," : "", s);
  }
}

/* --ip6: EndpointConfig.IPAMConfig.IPv6Address, for net_reserve */
static void want_ip6(json_t *cfg, struct net_endpoint *ep) {
  const char *ip6 =
      json_string_value(json_object_get(json_object_get(cfg, "IPAMConfig"), "IPv6Address"));
  snprintf(ep->ip6, sizeof ep->ip6, "%s", ip6 ? ip6 : "");
}

/* dockerd's refusals of --ip/--ip6 (updateNetworkConfig,
 * validateNetworkingConfig), in its order: an address on a predefined
 * network, (with aliases: a connect's) an alias there, an address on a
 * network whose subnet of that family its creator did not give */
static int refuse_address(const struct net_endpoint *ep, const char *ip, const char *ip6,
                          bool aliases, struct berth_err *err) {
  bool v4 = ip && *ip, v6 = ip6 && *ip6;
  if (ep->predefined && (v4 || v6))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "user specified IP address is supported on user defined networks only");
  if (ep->predefined && aliases)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "network-scoped alias is supported only for containers in user defined "
                         "networks");
  if ((v4 && !ep->subnet_given) || (v6 && !ep->subnet6_given))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "user specified IP address is supported only when connecting to "
                         "networks with user configured subnets");
  return 0;
}

/* an endpoint's address (net_reserve) named ifname in the container: --ip
 * (EndpointConfig.IPAMConfig.IPv4Address), --ip6, the MAC (EndpointConfig's
 * MacAddress of API 1.44, else default_mac: --mac-address on the first
 * network), the names its network's DNS answers for it; at start and at
 * connect */
static int reserve_one(struct daemon *d, const struct container *c, const struct ctr_opts *o,
                       json_t *cfg, struct net_endpoint *ep, const char *ifname,
                       const char *default_mac, struct berth_err *err) {
  const char *ip =
      json_string_value(json_object_get(json_object_get(cfg, "IPAMConfig"), "IPv4Address"));
  if (ip && !*ip) ip = NULL;
  want_ip6(cfg, ep);
  if (refuse_address(ep, ip, ep->ip6, false, err) < 0) return -err->code;
  const char *mac = json_string_value(json_object_get(cfg, "MacAddress"));
  snprintf(ep->mac, sizeof ep->mac, "%s", mac && *mac ? mac : default_mac);
  snprintf(ep->ifname, sizeof ep->ifname, "%s", ifname);
  endpoint_names(c, o, cfg, ep);
  return net_reserve(d, ep, ip, err);
}

/* one attach at a time per container (start, connect, disconnect, exit);
 * a lock and condition of their own: the containers' state condition is
 * not woken for this */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;

static void hold(struct container *c) {
  pthread_mutex_lock(&hold_mu);
  while (c->net_busy)
    pthread_cond_wait(&hold_cv, &hold_mu);
  c->net_busy = true;
  pthread_mutex_unlock(&hold_mu);
}

static void unhold(struct container *c) {
  pthread_mutex_lock(&hold_mu);
  c->net_busy = false;
  pthread_cond_broadcast(&hold_cv);
  pthread_mutex_unlock(&hold_mu);
}

static void set_eps(struct container *c, struct net_endpoint *v, size_t n) {
  ctr_lock();
  free(c->eps);
  c->eps = v;
  c->n_eps = n;
  ctr_unlock();
}

/* ---------------- /etc files ---------------- */

/* resolv.conf as docker writes it: the host's on the host network; on a
 * user network the embedded DNS server (its gateway: --dns servers become
 * its upstreams for this container); elsewhere --dns, or the host's servers
 * without loopback ones (unreachable from the container's namespace), or
 * docker's public fallbacks; --dns-search or the host's search domains;
 * --dns-option (and ndots:0 on user networks) */
static char *resolv_conf(const struct net_endpoint *ep, const struct ctr_opts *o, bool host_net) {
  cleanup_free char *host = read_file("/etc/resolv.conf", NULL);
  if (host_net) return host ? xstrdup(host) : xstrdup("");
  bool user_net = ep && net_endpoint_used(ep) && strcmp(ep->net_name, "bridge");
  char *servers = user_net ? xasprintf("nameserver %s\n", ep->gateway) : xstrdup("");
  char *search = o->n_dns_search ? line_of("search", o->dns_search, o->n_dns_search) : xstrdup("");
  for (size_t i = 0; !user_net && i < o->n_dns; i++) {
    char *l = xasprintf("nameserver %s\n", o->dns[i]);
    append(&servers, l);
    free(l);
  }
  char *save = NULL; /* strtok_r: several containers start at once */
  for (char *line = host ? strtok_r(host, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    bool ns = str_has_prefix(line, "nameserver");
    if (ns && !user_net && !o->n_dns && !strstr(line, " 127.") && !strstr(line, " ::1")) {
      append(&servers, line);
      append(&servers, "\n");
    }
    if (!o->n_dns_search && (str_has_prefix(line, "search") || str_has_prefix(line, "domain"))) {
      append(&search, line);
      append(&search, "\n");
    }
  }
  if (!*servers) append(&servers, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  char *opts = user_net ? xstrdup("options ndots:0\n") : xstrdup("");
  if (o->n_dns_options) {
    free(opts);
    opts = line_of(user_net ? "options ndots:0" : "options", o->dns_options, o->n_dns_options);
  }
  char *out = xasprintf("%s%s%s", search, servers, opts);
  free(search);
  free(servers);
  free(opts);
  return out;
}

static void write_etc_files(struct daemon *d, struct container *c, const struct ctr_opts *o) {
  const struct net_endpoint *ep = c->n_eps ? &c->eps[0] : NULL;
  bool host_net = ep && !strcmp(ep->driver, "host");
  bool used = ep && net_endpoint_used(ep);
  cleanup_free char *dir = ctr_dir(d, c->id);
  char hostbuf[256] = "";
  if (host_net) gethostname(hostbuf, sizeof hostbuf - 1);
  const char *hostname = host_net ? hostbuf : o->hostname;
  cleanup_free char *hnp = xasprintf("%s/hostname", dir);
  cleanup_free char *hntext = xasprintf("%s\n", hostname);
  write_file_derived(hnp, hntext, strlen(hntext), 0644);
  /* docker's lines, the container's own address under its hostname, then
   * --add-host (host-gateway: the gateway of its network) */
  /* --domainname: "<hostname>.<domain> <hostname>", as docker's */
  cleanup_free char *names = *o->domainname && !host_net
                                 ? xasprintf("%s.%s %s", hostname, o->domainname, hostname)
                                 : xstrdup(hostname);
  char *own = used ? xasprintf("%s\t%s\n", ep->ip, names) : xstrdup("");
  if (used && ep->ip6[0]) {
    char *l = xasprintf("%s\t%s\n", ep->ip6, names);
    append(&own, l);
    free(l);
  }
  append_links(c, o, &own);
  for (size_t i = 0; i < o->n_extra_hosts; i++) {
    const char *h = o->extra_hosts[i], *colon = strchr(h, ':');
    const char *ip = strcmp(colon + 1, "host-gateway") ? colon + 1
                     : used                            ? ep->gateway
                                                       : "172.17.0.1";
    char *l = xasprintf("%s\t%.*s\n", ip, (int)(colon - h), h);
    append(&own, l);
    free(l);
  }
  cleanup_free char *hosts =
      host_net ? read_file("/etc/hosts", NULL)
               : xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                           "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                           "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n%s",
                           own);
  free(own);
  cleanup_free char *hp = xasprintf("%s/hosts", dir);
  if (hosts) write_file_derived(hp, hosts, strlen(hosts), 0644);
  cleanup_free char *resolv = resolv_conf(ep, o, host_net);
  cleanup_free char *rp = xasprintf("%s/resolv.conf", dir);
  write_file_derived(rp, resolv, strlen(resolv), 0644);
}

/* --network container:<name|id>: the other one must be running; its
 * namespace is joined, its /etc files copied, no endpoint of its own */
static int join_container_network(struct daemon *d, struct container *c, const char *ref,
                                  struct berth_err *err) {
  struct container *t = ctr_get(ref);
  if (!t) return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such container: %s", ref);
  pid_t pid = ctr_running_pid(t);
  int r = 0;
  if (t == c)
    r = berth_err_set(err, BERTH_EINVAL, 0, "cannot join own network");
  else if (!pid)
    r = berth_err_set(err, BERTH_ECONFLICT, 0, "cannot join network of a non running container: %s",
                      t->id);
  if (r == 0) {
    snprintf(c->netns_of, sizeof c->netns_of, "%d", (int)pid);
    cleanup_free char *from = ctr_dir(d, t->id);
    cleanup_free char *to = ctr_dir(d, c->id);
    const char *files[] = {"hosts", "resolv.conf", "hostname"};
    for (size_t i = 0; i < 3; i++) {
      cleanup_free char *src = xasprintf("%s/%s", from, files[i]);
      cleanup_free char *dst = xasprintf("%s/%s", to, files[i]);
      size_t len = 0;
      cleanup_free char *text = read_file(src, &len);
      if (text) write_file_derived(dst, text, len, 0644);
    }
  }
  ctr_put(t);
  return r;
}

static bool user_network(const char *net) {
  return strcmp(net, "bridge") && strcmp(net, "none") && strcmp(net, "host");
}

/* what docker keeps in a network's EndpointSettings once the container has
 * an endpoint there (made: its start) or is connected to it: the
 * network's id (shown after the exit) and, on a network a user made, the
 * short id among the aliases; under ctr_lock */
static void keep_endpoint(struct daemon *d, struct container *c, const struct net_endpoint *ep,
                          bool made) {
  const char *k = config_key(d, c, ep->net_id);
  json_t *cfg = json_object_get(endpoints_config_made(c), k ? k : ep->net_name);
  if (!json_is_object(cfg)) {
    cfg = json_object();
    json_object_set_new(endpoints_config(c), ep->net_name, cfg);
  }
  if (made) json_object_set_new(cfg, "NetworkID", json_string(ep->net_id));
  if (!user_network(ep->net_name)) return;
  char short_id[13];
  snprintf(short_id, sizeof short_id, "%.12s", c->id);
  json_t *a = json_object_get(cfg, "Aliases");
  if (!json_is_array(a)) json_object_set_new(cfg, "Aliases", a = json_array());
  size_t i;
  json_t *x;
  json_array_foreach(a, i, x) if (!strcmp(json_string_value(x) ?: "", short_id)) return;
  json_array_append_new(a, json_string(short_id));
}

int ctrnet_reserve(struct daemon *d, struct container *c, const struct ctr_opts *o,
                   struct berth_err *err) {
  c->netns_of[0] = 0;
  ctrnet_release(d, c); /* nothing of a previous run */
  if (shares_netns(o))
    return join_container_network(d, c, o->network_mode + strlen("container:"), err);
  struct joining *j = NULL;
  size_t n = 0;
  int r = plan(d, c, o, &j, &n, err);
  if (r == 0) r = check_links(c, o, err);
  struct net_endpoint *v = r == 0 ? xcalloc(n + 1, sizeof *v) : NULL;
  size_t done = 0;
  for (; r == 0 && done < n; done++) {
    v[done] = j[done].ep;
    char ifname[16];
    snprintf(ifname, sizeof ifname, "eth%zu", done);
    r = reserve_one(d, c, o, j[done].cfg, &v[done], ifname, done == 0 ? o->mac : "", err);
  }
  if (r < 0 && v) {
    for (size_t i = 0; i < done; i++)
      net_release(d, &v[i]);
    free(v);
  } else if (r == 0) {
    ctr_lock();
    for (size_t i = 0; i < n; i++)
      keep_endpoint(d, c, &v[i], true);
    ctr_unlock();
    set_eps(c, v, n);
    write_etc_files(d, c, o);
  }
  free(j);
  return r;
}

bool ctrnet_plumbs(struct container *c) {
  ctr_lock();
  bool any = false;
  for (size_t i = 0; i < c->n_eps && !any; i++)
    any = net_endpoint_plumbed(&c->eps[i]);
  ctr_unlock();
  return any;
}

int ctrnet_plumb(struct daemon *d, struct container *c, pid_t pid, struct berth_err *err) {
  hold(c);
  int r = 0;
  for (size_t i = 0; r == 0 && i < c->n_eps; i++)
    r = net_plumb(d, &c->eps[i], pid, i == 0, err);
  json_t *ports = NULL;
  if (r == 0 && c->n_eps) {
    struct ctr_opts *o = ctr_opts_get(c);
    ports = net_publish(d, &c->eps[0], o->ports, o->n_ports, err);
    ctr_opts_put(o);
    if (!ports) r = -err->code;
  }
  ctr_lock();
  json_decref(c->ports);
  c->ports = ports;
  ctr_unlock();
  unhold(c);
  return r;
}

void ctrnet_release(struct daemon *d, struct container *c) {
  hold(c);
  for (size_t i = 0; i < c->n_eps; i++)
    net_release(d, &c->eps[i]);
  set_eps(c, NULL, 0);
  ctr_lock();
  json_decref(c->ports);
  c->ports = NULL;
  ctr_unlock();
  unhold(c);
}

void ctrnet_restore(struct daemon *d, struct container *c, bool running) {
  if (!running) {
    ctrnet_release(d, c);
    return;
  }
  for (size_t i = 0; i < c->n_eps; i++)
    net_restore(d, &c->eps[i], true);
  if (c->n_eps) net_republish(d, &c->eps[0], c->ports);
}

json_t *ctrnet_to_json(const struct container *c) {
  json_t *a = json_array();
  for (size_t i = 0; i < c->n_eps; i++)
    if (net_endpoint_used(&c->eps[i])) json_array_append_new(a, net_endpoint_json(&c->eps[i]));
  return a;
}

void ctrnet_from_json(struct container *c, json_t *record) {
  json_t *a = json_object_get(record, "Endpoints");
  json_t *one = json_object_get(record, "Endpoint"); /* before networks could be several */
  size_t n = json_array_size(a) + (one != NULL);
  c->eps = n ? xcalloc(n, sizeof *c->eps) : NULL;
  c->n_eps = 0;
  if (one) net_endpoint_from_json(one, &c->eps[c->n_eps++]);
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) net_endpoint_from_json(e, &c->eps[c->n_eps++]);
  for (i = 0; i < c->n_eps; i++)
    if (!c->eps[i].ifname[0]) snprintf(c->eps[i].ifname, sizeof c->eps[i].ifname, "eth%zu", i);
}

/* ---------------- connect, disconnect ---------------- */

static int refuse_mode(const struct ctr_opts *o, const struct net_endpoint *ep,
                       struct berth_err *err) {
  if (shares_netns(o))
    return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                         "container sharing network namespace with another container or host "
                         "cannot be connected to any other network");
  if (!strcmp(o->network_mode, "host") || !strcmp(ep->driver, "host"))
    return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                         "container cannot be disconnected from host network or connected to "
                         "host network");
  if (!strcmp(o->network_mode, "none") || !strcmp(ep->driver, "none"))
    return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                         "container cannot be disconnected from none network or connected to "
                         "none network");
  return 0;
}

/* What dockerd refuses of a connect before it looks for the endpoint, in
 * its order (updateNetworkConfig, then updateNetworkSettings): an address
 * or alias on a predefined network, an address on one without a subnet
 * its creator gave, the host network, a container that shares a
 * namespace, none beside anything else. */
static int refuse_connect(const struct container *c, const struct ctr_opts *o,
                          const struct net_endpoint *ep, json_t *cfg, struct berth_err *err) {
  json_t *ipam = json_object_get(cfg, "IPAMConfig");
  if (refuse_address(ep, json_string_value(json_object_get(ipam, "IPv4Address")),
                     json_string_value(json_object_get(ipam, "IPv6Address")),
                     json_array_size(json_object_get(cfg, "Aliases")) > 0, err) < 0)
    return -err->code;
  bool host_mode = !strcmp(o->network_mode, "host");
  if (!strcmp(ep->driver, "host") && !host_mode)
    return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                         "container cannot be disconnected from host network or connected to "
                         "host network");
  bool none = !strcmp(ep->driver, "none") || !strcmp(o->network_mode, "none");
  for (size_t i = 0; i < c->n_eps && !none; i++)
    none |= !strcmp(c->eps[i].driver, "none") && strcmp(c->eps[i].net_id, ep->net_id);
  if (shares_netns(o) || (host_mode && strcmp(ep->driver, "host")))
    return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                         "container sharing network namespace with another container or host "
                         "cannot be connected to any other network");
  bool same = (c->n_eps == 1 && !strcmp(c->eps[0].net_id, ep->net_id)) ||
              (c->n_eps == 0 && !strcmp(ep->driver, "none") && !strcmp(o->network_mode, "none"));
  if (none && !same)
    return berth_err_set(err, BERTH_EFORBIDDEN, 0,
                         "container cannot be connected to multiple networks with one of the "
                         "networks in private (none) mode");
  return 0;
}

/* the first ethN no endpoint of c uses */
static void free_ifname(const struct container *c, char out[16]) {
  for (unsigned k = 0;; k++) {
    snprintf(out, 16, "eth%u", k);
    bool used = false;
    for (size_t i = 0; i < c->n_eps; i++)
      used |= !strcmp(c->eps[i].ifname, out);
    if (!used) return;
  }
}

/* a running container: the endpoint made and plumbed now */
static int connect_now(struct daemon *d, struct container *c, const struct ctr_opts *o, json_t *cfg,
                       struct net_endpoint *ep, struct berth_err *err) {
  char ifname[16];
  free_ifname(c, ifname);
  int r = reserve_one(d, c, o, cfg, ep, ifname, "", err);
  if (r == 0) r = net_plumb(d, ep, c->pid, c->n_eps == 0, err);
  if (r < 0) {
    net_release_now(d, ep);
    return r;
  }
  struct net_endpoint *v = xcalloc(c->n_eps + 1, sizeof *v);
  memcpy(v, c->eps, c->n_eps * sizeof *v);
  v[c->n_eps] = *ep;
  set_eps(c, v, c->n_eps + 1);
  return 0;
}

/* the start of a connect (with its EndpointConfig cfg) or disconnect:
 * the network, the container held, its mode checked (on failure: not
 * held) */
static int attach_begin(struct daemon *d, struct container *c, const char *net, bool connect,
                        json_t *cfg, struct net_endpoint *ep, struct ctr_opts **o,
                        struct berth_err *err) {
  if (net_resolve(d, net, ep, err) < 0) return -err->code;
  hold(c);
  *o = ctr_opts_get(c);
  int r = connect ? refuse_connect(c, *o, ep, cfg, err) : refuse_mode(*o, ep, err);
  if (r < 0) {
    ctr_opts_put(*o);
    unhold(c);
  }
  return r;
}

int ctr_net_connect(struct daemon *d, struct container *c, const char *net, json_t *cfg,
                    struct berth_err *err) {
  ctr_ahead_drop(d, c); /* its start plumbs what it is connected to */
  struct net_endpoint ep;
  struct ctr_opts *o;
  if (json_array_size(json_object_get(cfg, "Links")) ||
      json_array_size(json_object_get(json_object_get(cfg, "IPAMConfig"), "LinkLocalIPs")))
    return berth_err_set(err, BERTH_ENOTSUP, 0,
                         "network connect: --link and --link-local-ip are not supported (use "
                         "--alias, names resolve on user networks)");
  int r = attach_begin(d, c, net, true, cfg, &ep, &o, err);
  if (r < 0) return r;
  bool on = false;
  for (size_t i = 0; i < c->n_eps; i++)
    on |= !strcmp(c->eps[i].net_id, ep.net_id);
  ctr_lock();
  bool live = ctr_is_running(c);
  /* one not running that has it already: nothing to do, as dockerd 20.10
   * (which answers 200 and keeps the settings it had) */
  bool kept = !live && config_key(d, c, ep.net_id);
  ctr_unlock();
  if (on)
    r = berth_err_set(err, BERTH_EFORBIDDEN, 0,
                      "endpoint with name %s already exists in network %s", c->name + 1,
                      ep.net_name);
  if (r == 0 && kept) {
    ctr_opts_put(o);
    unhold(c);
    return 0;
  }
  if (r == 0 && live) r = connect_now(d, c, o, cfg, &ep, err);
  if (r == 0) {
    ctr_lock();
    json_object_set_new(endpoints_config_made(c), ep.net_name,
                        json_is_object(cfg) ? json_deep_copy(cfg) : json_object());
    keep_endpoint(d, c, &ep, live);
    ctr_unlock();
  }
  ctr_opts_put(o);
  unhold(c);
  if (r == 0) ctr_save(d, c);
  return r;
}

int ctr_net_disconnect(struct daemon *d, struct container *c, const char *net,
                       struct berth_err *err) {
  ctr_ahead_drop(d, c);
  struct net_endpoint ep;
  struct ctr_opts *o;
  int r = attach_begin(d, c, net, false, NULL, &ep, &o, err);
  if (r < 0) return r;
  ctr_opts_put(o);
  bool found = false;
  for (size_t i = 0; i < c->n_eps; i++) {
    if (strcmp(c->eps[i].net_id, ep.net_id)) continue;
    net_release_now(d, &c->eps[i]);
    ctr_lock();
    memmove(&c->eps[i], &c->eps[i + 1], (c->n_eps - i - 1) * sizeof *c->eps);
    c->n_eps--;
    if (i == 0) json_decref(c->ports), c->ports = NULL; /* they were published on it */
    ctr_unlock();
    found = true;
    break;
  }
  ctr_lock();
  for (const char *k; (k = config_key(d, c, ep.net_id));) {
    json_object_del(endpoints_config(c), k);
    found = true;
  }
  bool live = ctr_is_running(c);
  ctr_unlock();
  if (!found) /* dockerd's two wordings: a running container's, a stopped one's */
    r = berth_err_set(err, BERTH_EFORBIDDEN, 0, "container %s is not connected to %snetwork %s",
                      c->id, live ? "" : "the ", ep.net_name);
  unhold(c);
  if (r == 0) ctr_save(d, c);
  return r;
}

/* ---------------- shown ---------------- */

/* An endpoint no driver plumbs (none, host) has no record of its own:
 * docker still shows an EndpointID while the container runs, a new one
 * each start.  Derived from the container, the network and the start, so
 * inspect and network inspect agree, and a restarted berthd shows the same. */
static void unplumbed_ep_id(const char *ctr_id, const char *net_id, int64_t started_ns,
                            char out[65]) {
  cleanup_free char *seed = xasprintf("%s/%s/%lld", ctr_id, net_id, (long long)started_ns);
  sha256_hex(seed, strlen(seed), out);
}

/* docker's: --network-alias, then the short id from the first start or
 * connect on (keep_endpoint), on a network a user made; none on bridge,
 * host and none, which have no names */
static json_t *shown_aliases(const char *net, json_t *cfg) {
  json_t *a = json_object_get(cfg, "Aliases");
  return user_network(net) && json_is_array(a) ? json_incref(a) : json_null();
}

json_t *ctrnet_networks_json(struct daemon *d, const struct container *c,
                             struct net_endpoint *bridge) {
  json_t *out = json_object();
  memset(bridge, 0, sizeof *bridge);
  const struct ctr_opts *o = c->opts;
  if (shares_netns(o)) return out; /* docker shows none */
  struct joining *j = NULL;
  size_t n = 0;
  struct berth_err e = {0};
  bool live = ctr_is_running(c);
  if (live && c->n_eps) {
    j = xcalloc(c->n_eps, sizeof *j);
    for (; n < c->n_eps; n++)
      j[n] = (struct joining){c->eps[n], json_object_get(endpoints_config(c),
                                                         config_key(d, c, c->eps[n].net_id) ?: "")};
  } else if (plan(d, c, o, &j, &n, &e) < 0) {
    j = xcalloc(1, sizeof *j); /* its network went: the mode's name, as docker shows it */
    snprintf(j[0].ep.net_name, sizeof j[0].ep.net_name, "%s", mode_of(o));
    n = 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (live && !j[i].ep.ep_id[0] && !net_endpoint_plumbed(&j[i].ep))
      unplumbed_ep_id(c->id, j[i].ep.net_id, c->started_ns, j[i].ep.ep_id);
    if (!live) /* the network's id once it had an endpoint there, as docker's */
      snprintf(j[i].ep.net_id, sizeof j[i].ep.net_id, "%s",
               json_string_value(json_object_get(j[i].cfg, "NetworkID")) ?: "");
    json_t *s = net_endpoint_settings(&j[i].ep, shown_aliases(j[i].ep.net_name, j[i].cfg));
    /* IPAMConfig (--ip, --ip6) and DriverOpts as the client sent them, as docker's */
    static const char *const echoed[] = {"IPAMConfig", "DriverOpts"};
    for (size_t k = 0; k < ARRAY_SIZE(echoed); k++) {
      json_t *v = json_object_get(j[i].cfg, echoed[k]);
      if (json_is_object(v)) json_object_set(s, echoed[k], v);
    }
    json_object_set_new(out, j[i].ep.net_name, s);
    if (!strcmp(j[i].ep.net_name, "bridge")) *bridge = j[i].ep;
  }
  free(j);
  return out;
}

json_t *ctrnet_stats(const struct ctr_opts *o, pid_t pid) {
  char p[64];
  struct stat mine, theirs;
  snprintf(p, sizeof p, "/proc/%d/ns/net", (int)pid);
  if (pid <= 0 || shares_netns(o) || stat(p, &theirs) < 0 || stat("/proc/self/ns/net", &mine) < 0 ||
      (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino))
    return NULL;
  snprintf(p, sizeof p, "/proc/%d/net/dev", (int)pid);
  cleanup_free char *s = read_file(p, NULL);
  json_t *out = json_object();
  char *save = NULL;
  /* "  eth0: RX bytes packets errs drop fifo frame compressed multicast,
   * TX bytes packets errs drop ...": docker's four of each */
  for (char *line = s ? strtok_r(s, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    char *colon = strchr(line, ':');
    if (!colon) continue; /* the two header lines */
    *colon = 0;
    while (*line == ' ')
      line++;
    unsigned long long v[16] = {0};
    if (!strcmp(line, "lo") ||
        sscanf(colon + 1, "%llu %llu %llu %llu %*u %*u %*u %*u %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[8], &v[9], &v[10], &v[11]) != 8)
      continue;
    json_object_set_new(out, line,
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes", (json_int_t)v[0],
                                  "rx_packets", (json_int_t)v[1], "rx_errors", (json_int_t)v[2],
                                  "rx_dropped", (json_int_t)v[3], "tx_bytes", (json_int_t)v[8],
                                  "tx_packets", (json_int_t)v[9], "tx_errors", (json_int_t)v[10],
                                  "tx_dropped", (json_int_t)v[11]));
  }
  if (json_object_size(out)) return out;
  json_decref(out);
  return NULL;
}

static void unplumbed_members(struct daemon *d, const char *net_id, json_t *members) {
  size_t n;
  struct container **all = ctr_list(&n);
  for (size_t i = 0; i < n; i++) {
    struct container *c = all[i];
    struct ctr_opts *o = ctr_opts_get(c);
    ctr_lock();
    bool run = ctr_is_running(c);
    int64_t started = c->started_ns;
    cleanup_free char *name = xstrdup(c->name + 1);
    ctr_unlock();
    struct net_endpoint ep;
    struct berth_err e = {0};
    char ep_id[65];
    if (o && run && !shares_netns(o) && net_resolve(d, mode_of(o), &ep, &e) == 0 &&
        !strcmp(ep.net_id, net_id) && !json_object_get(members, c->id)) {
      unplumbed_ep_id(c->id, net_id, started, ep_id);
      json_object_set_new(members, c->id,
                          json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", name, "EndpointID", ep_id,
                                    "MacAddress", "", "IPv4Address", "", "IPv6Address", ""));
    }
    ctr_opts_put(o);
    ctr_put(c);
  }
  free(all);
}

json_t *ctrnet_network_inspect(struct daemon *d, const char *ref, struct berth_err *err) {
  json_t *j = net_inspect(d, ref, err);
  const char *drv = json_string_value(json_object_get(j, "Driver")) ?: "";
  json_t *members = json_object_get(j, "Containers");
  if (json_is_object(members) && (!strcmp(drv, "host") || !strcmp(drv, "null")))
    unplumbed_members(d, json_string_value(json_object_get(j, "Id")) ?: "", members);
  return j;
}
