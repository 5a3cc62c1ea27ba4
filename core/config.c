#include "config.h"

#include "network/ipam.h"

#include <libgen.h>

#define DEFAULT_DATA_ROOT "/var/lib/berth"
#define DEFAULT_EXEC_ROOT "/run/berth"
#define DEFAULT_SOCKET "/run/berth.sock"
#ifndef BERTH_PLUGIN_DIR
#define BERTH_PLUGIN_DIR "/usr/local/lib/berth/plugins"
#endif

/* A key table per group: name and libconfig type; NULL type = a group of
 * driver groups whose contents the drivers validate themselves. */
struct conf_key {
  const char *name;
  int type;
};

static const struct conf_key top_keys[] = {
    {"data-root", CONFIG_TYPE_STRING},
    {"exec-root", CONFIG_TYPE_STRING},
    {"plugin-dir", CONFIG_TYPE_STRING},
    {"debug", CONFIG_TYPE_BOOL},
    {"no-new-privileges", CONFIG_TYPE_BOOL},
    {"start-ahead", CONFIG_TYPE_BOOL},
    {"seccomp-profile", CONFIG_TYPE_STRING},
    {"userns-remap", CONFIG_TYPE_STRING},
    {"api", CONFIG_TYPE_GROUP},
    {"storage", CONFIG_TYPE_GROUP},
    {"network", CONFIG_TYPE_GROUP},
    {"log", CONFIG_TYPE_GROUP},
    {"registry", CONFIG_TYPE_GROUP},
    {"volume", CONFIG_TYPE_GROUP},
};
static const struct conf_key api_keys[] = {{"socket", CONFIG_TYPE_STRING},
                                           {"group", CONFIG_TYPE_STRING}};
static const struct conf_key storage_keys[] = {{"driver", CONFIG_TYPE_STRING}};
static const struct conf_key network_keys[] = {{"drivers", CONFIG_TYPE_ARRAY},
                                               {"default", CONFIG_TYPE_STRING},
                                               {"bridge-subnet", CONFIG_TYPE_STRING}};
static const struct conf_key log_keys[] = {{"driver", CONFIG_TYPE_STRING},
                                           {"drivers", CONFIG_TYPE_ARRAY}};
static const struct conf_key volume_keys[] = {{"drivers", CONFIG_TYPE_ARRAY}};
static const struct conf_key registry_keys[] = {{"driver", CONFIG_TYPE_STRING},
                                                {"max-concurrent-downloads", CONFIG_TYPE_INT}};

static const char *type_name(int t) {
  switch (t) {
  case CONFIG_TYPE_STRING: return "a string";
  case CONFIG_TYPE_BOOL: return "a boolean";
  case CONFIG_TYPE_GROUP: return "a group";
  case CONFIG_TYPE_ARRAY: return "an array of strings";
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64: return "an integer";
  default: return "another type";
  }
}

/* Check a group's members against keys; members that are groups themselves
 * and not in the table are driver groups when allow_driver_groups. */
static int check_group(struct berth_config *c, config_setting_t *g, const struct conf_key *keys,
                       size_t n, bool allow_driver_groups, const char *where,
                       struct berth_err *err) {
  int count = config_setting_length(g);
  for (int i = 0; i < count; i++) {
    config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
    const char *name = config_setting_name(s);
    int line = config_setting_source_line(s);
    const struct conf_key *k = NULL;
    for (size_t j = 0; j < n; j++)
      if (!strcmp(keys[j].name, name)) k = &keys[j];
    if (!k) {
      if (allow_driver_groups && config_setting_type(s) == CONFIG_TYPE_GROUP) continue;
      return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: unknown key '%s%s%s'", c->file_name, line,
                           where, *where ? "." : "", name);
    }
    int t = config_setting_type(s);
    bool ok = t == k->type || (k->type == CONFIG_TYPE_ARRAY && t == CONFIG_TYPE_LIST);
    if (ok && k->type == CONFIG_TYPE_ARRAY) {
      for (int e = 0; e < config_setting_length(s); e++)
        if (config_setting_type(config_setting_get_elem(s, (unsigned)e)) != CONFIG_TYPE_STRING)
          ok = false;
    }
    if (ok && t == CONFIG_TYPE_STRING && !*config_setting_get_string(s) && strcmp(name, "group"))
      return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: '%s' must not be empty", c->file_name,
                           line, name);
    if (!ok)
      return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: '%s%s%s' must be %s", c->file_name, line,
                           where, *where ? "." : "", name, type_name(k->type));
  }
  return 0;
}

static void set_str(char **dst, config_setting_t *g, const char *key) {
  const char *v;
  if (g && config_setting_lookup_string(g, key, &v)) {
    free(*dst);
    *dst = xstrdup(v);
  }
}

static int check_abs(struct berth_config *c, config_setting_t *root, const char *path,
                     const char *val, struct berth_err *err) {
  if (val && val[0] != '/') {
    config_setting_t *s = config_setting_lookup(root, path);
    return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: '%s' must be an absolute path, not '%s'",
                         c->file_name, s ? config_setting_source_line(s) : 0, path, val);
  }
  return 0;
}

static void set_defaults(struct berth_config *c) {
  c->data_root = xstrdup(DEFAULT_DATA_ROOT);
  c->exec_root = xstrdup(DEFAULT_EXEC_ROOT);
  c->socket_path = xstrdup(DEFAULT_SOCKET);
  c->plugin_dir = xstrdup(BERTH_PLUGIN_DIR);
  c->storage_driver = xstrdup("overlay");
  c->log_driver = xstrdup("json-file");
  c->default_network = xstrdup("none");
  c->bridge_subnet = xstrdup("");
  c->network_drivers = xcalloc(2, sizeof(char *));
  c->network_drivers[0] = xstrdup("none");
  c->network_drivers[1] = xstrdup("host");
  c->n_network_drivers = 2;
  c->log_drivers = xcalloc(2, sizeof(char *));
  c->log_drivers[0] = xstrdup("local");
  c->log_drivers[1] = xstrdup("syslog");
  c->n_log_drivers = 2;
}

/* a list of driver names replaces the default one */
static void set_list(char ***v, size_t *n, config_setting_t *group, const char *key) {
  config_setting_t *list = group ? config_setting_lookup(group, key) : NULL;
  if (!list) return;
  for (size_t i = 0; i < *n; i++)
    free((*v)[i]);
  *n = (size_t)config_setting_length(list);
  *v = xrealloc(*v, (*n + 1) * sizeof(char *));
  for (size_t i = 0; i < *n; i++) {
    const char *e = config_setting_get_string_elem(list, (int)i);
    (*v)[i] = xstrdup(e ? e : "");
  }
}

int config_load(struct berth_config *c, const char *path, struct berth_err *err) {
  memset(c, 0, sizeof *c);
  set_defaults(c);
  config_init(&c->cfg);
  c->cfg_loaded = true;
  if (!path) {
    c->file_name = xstrdup("daemon.conf");
    return 0;
  }
  c->file = xstrdup(path);
  cleanup_free char *copy = xstrdup(path);
  c->file_name = xstrdup(basename(copy));
  if (!path_exists(path)) return berth_err_set(err, BERTH_EINVAL, ENOENT, "%s: no such file", path);
  size_t jl = strlen(path);
  cleanup_free char *head = read_file(path, NULL);
  const char *h = head ? head + strspn(head, " \t\r\n") : "";
  if ((jl > 5 && !strcmp(path + jl - 5, ".json")) || *h == '{')
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "%s: berthd reads a daemon.conf (libconfig), not docker's daemon.json; "
                         "docs/daemon-conf.md gives each daemon.json key's daemon.conf equivalent",
                         c->file_name);
  if (config_read_file(&c->cfg, path) != CONFIG_TRUE)
    return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: %s", c->file_name,
                         config_error_line(&c->cfg), config_error_text(&c->cfg));

  config_setting_t *root = config_root_setting(&c->cfg);
  int r = check_group(c, root, top_keys, ARRAY_SIZE(top_keys), false, "", err);
  struct {
    const char *name;
    const struct conf_key *keys;
    size_t n;
    bool drivers;
  } groups[] = {
      {"api", api_keys, ARRAY_SIZE(api_keys), false},
      {"storage", storage_keys, ARRAY_SIZE(storage_keys), true},
      {"network", network_keys, ARRAY_SIZE(network_keys), true},
      {"log", log_keys, ARRAY_SIZE(log_keys), true},
      {"registry", registry_keys, ARRAY_SIZE(registry_keys), true},
      {"volume", volume_keys, ARRAY_SIZE(volume_keys), true},
  };
  for (size_t i = 0; r == 0 && i < ARRAY_SIZE(groups); i++) {
    config_setting_t *g = config_setting_lookup(root, groups[i].name);
    if (g)
      r = check_group(c, g, groups[i].keys, groups[i].n, groups[i].drivers, groups[i].name, err);
  }
  if (r < 0) return r;

  set_str(&c->data_root, root, "data-root");
  set_str(&c->exec_root, root, "exec-root");
  set_str(&c->plugin_dir, root, "plugin-dir");
  set_str(&c->seccomp_profile, root, "seccomp-profile");
  set_str(&c->userns_remap, root, "userns-remap");
  int dbg;
  if (config_setting_lookup_bool(root, "debug", &dbg)) c->debug = dbg;
  if (config_setting_lookup_bool(root, "no-new-privileges", &dbg)) c->no_new_privileges = dbg;
  if (config_setting_lookup_bool(root, "start-ahead", &dbg)) c->no_start_ahead = !dbg;
  config_setting_t *api = config_setting_lookup(root, "api");
  set_str(&c->socket_path, api, "socket");
  set_str(&c->socket_group, api, "group");
  if (c->socket_group && !*c->socket_group) {
    free(c->socket_group);
    c->socket_group = NULL;
  }
  config_setting_t *st = config_setting_lookup(root, "storage");
  if (st && config_setting_lookup(st, "driver")) {
    set_str(&c->storage_driver, st, "driver");
    c->storage_driver_explicit = true;
  }
  set_str(&c->log_driver, config_setting_lookup(root, "log"), "driver");
  set_str(&c->registry_driver, config_setting_lookup(root, "registry"), "driver");
  config_setting_t *rg = config_setting_lookup(root, "registry");
  int mcd;
  if (rg && config_setting_lookup_int(rg, "max-concurrent-downloads", &mcd)) {
    if (mcd < 1 || mcd > 64) {
      config_setting_t *st2 = config_setting_lookup(rg, "max-concurrent-downloads");
      return berth_err_set(
          err, BERTH_EINVAL, 0, "%s:%d: registry.max-concurrent-downloads must be 1..64",
          c->file_name ? c->file_name : "daemon.conf", config_setting_source_line(st2));
    }
    c->max_concurrent_downloads = mcd;
  }
  config_setting_t *net = config_setting_lookup(root, "network");
  set_str(&c->default_network, net, "default");
  set_str(&c->bridge_subnet, net, "bridge-subnet");
  set_list(&c->network_drivers, &c->n_network_drivers, net, "drivers");
  set_list(&c->log_drivers, &c->n_log_drivers, config_setting_lookup(root, "log"), "drivers");
  set_list(&c->volume_drivers, &c->n_volume_drivers, config_setting_lookup(root, "volume"),
           "drivers");
  r = check_abs(c, root, "data-root", c->data_root, err);
  if (!r) r = check_abs(c, root, "exec-root", c->exec_root, err);
  if (!r) r = check_abs(c, root, "plugin-dir", c->plugin_dir, err);
  if (!r) r = check_abs(c, root, "api.socket", c->socket_path, err);
  struct cidr sn;
  struct berth_err e2 = {0};
  if (!r && *c->bridge_subnet && cidr_parse(c->bridge_subnet, "subnet", &sn, &e2) < 0) {
    config_setting_t *s = config_setting_lookup(root, "network.bridge-subnet");
    r = berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: network.bridge-subnet: %s", c->file_name,
                      s ? config_setting_source_line(s) : 0, e2.msg);
  }
  return r;
}

void config_free(struct berth_config *c) {
  free(c->file);
  free(c->file_name);
  free(c->data_root);
  free(c->exec_root);
  free(c->socket_path);
  free(c->socket_group);
  free(c->plugin_dir);
  free(c->storage_driver);
  for (size_t i = 0; i < c->n_network_drivers; i++)
    free(c->network_drivers[i]);
  free(c->network_drivers);
  for (size_t i = 0; i < c->n_log_drivers; i++)
    free(c->log_drivers[i]);
  free(c->log_drivers);
  for (size_t i = 0; i < c->n_volume_drivers; i++)
    free(c->volume_drivers[i]);
  free(c->volume_drivers);
  free(c->default_network);
  free(c->bridge_subnet);
  free(c->log_driver);
  free(c->registry_driver);
  free(c->seccomp_profile);
  free(c->userns_remap);
  if (c->cfg_loaded) config_destroy(&c->cfg);
  memset(c, 0, sizeof *c);
}

config_setting_t *config_driver_group(struct berth_config *c, const char *kind, const char *name) {
  config_setting_t *k = config_setting_lookup(config_root_setting(&c->cfg), kind);
  if (!k) return NULL;
  config_setting_t *g = config_setting_get_member(k, name);
  return g && config_setting_type(g) == CONFIG_TYPE_GROUP ? g : NULL;
}
