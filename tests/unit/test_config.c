#include "../../core/config.h"
#include "../../core/plugin.h"
#include "tap.h"

static char dir[] = "/tmp/berth-test-config-XXXXXX";

static char *conf(const char *text) {
  char *p = xasprintf("%s/daemon.conf", dir);
  write_file_atomic(p, text, strlen(text), 0600);
  return p;
}

static void expect_error(const char *text, const char *msg, const char *name) {
  struct berth_config c;
  struct berth_err e = {0};
  char *p = conf(text);
  ok(config_load(&c, p, &e) < 0, "%s is refused", name);
  contains(e.msg, msg, "%s: message", name);
  printf("#   %s\n", e.msg);
  config_free(&c);
  free(p);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  struct berth_config c;
  struct berth_err e = {0};
  ok(config_load(&c, NULL, &e) == 0, "built-in defaults");
  is_str(c.data_root, "/var/lib/berth", "default data-root");
  is_str(c.storage_driver, "overlay", "default storage driver");
  ok(!c.storage_driver_explicit, "default storage driver may fall back");
  config_free(&c);

  char *p = conf(
      "data-root = \"/srv/b\";\napi: { socket = \"/tmp/x.sock\"; group = \"docker\"; };\n"
      "storage: { driver = \"vfs\"; };\nnetwork: { drivers = [\"none\"]; default = \"none\"; };\n");
  ok(config_load(&c, p, &e) == 0, "valid file loads (%s)", e.msg);
  is_str(c.data_root, "/srv/b", "data-root read");
  is_str(c.socket_path, "/tmp/x.sock", "api.socket read");
  is_str(c.socket_group, "docker", "api.group read");
  ok(c.storage_driver_explicit && !strcmp(c.storage_driver, "vfs"), "explicit storage driver");
  ok(c.n_network_drivers == 1, "network drivers list");
  config_free(&c);
  free(p);

  expect_error("data-root = \"/a\";\nbogus = 1;\n", "daemon.conf:2: unknown key 'bogus'",
               "unknown top-level key");
  expect_error("api: {\n  socket = \"/x\";\n  port = 2375;\n};\n",
               "daemon.conf:3: unknown key 'api.port'", "unknown key in a group");
  expect_error("debug = \"yes\";\n", "daemon.conf:1: 'debug' must be a boolean", "wrong type");
  expect_error("data-root = \"relative/dir\";\n",
               "daemon.conf:1: 'data-root' must be an absolute path", "relative path");
  expect_error("storage: {\n driver = ;\n};\n", "daemon.conf:2:", "syntax error");
  expect_error("network: { drivers = [1, 2]; };\n", "must be an array of strings", "bad array");

  /* a driver's own group is bound through the host table */
  p = conf("plugin-dir = \"/nowhere\";\nlog: {\n  json-file: {\n    max-size = \"1m\";\n    colour "
           "= true;\n  };\n};\n");
  ok(config_load(&c, p, &e) == 0, "driver groups are left to the drivers");
  free(c.data_root);
  c.data_root = xasprintf("%s/data", dir);
  free(c.exec_root);
  c.exec_root = xasprintf("%s/run", dir);
  struct plugin_set set = {0};
  struct loaded_plugin *lp = NULL;
  ok(plugin_load(&set, c.plugin_dir, BERTH_KIND_LOGGER, "json-file", &lp, &e) == 0,
     "load json-file");
  int r = plugin_init(lp, &c, &e);
  ok(r < 0, "json-file refuses an unknown key of its own");
  contains(e.msg, "daemon.conf:5: unknown key 'log.json-file.colour'",
           "driver key error names file and line");
  printf("#   %s\n", e.msg);
  plugin_set_free(&set);
  config_free(&c);
  free(p);

  /* not a size, and sizes that would overflow 64 bits or are not numbers */
  static const char *const bad[] = {"lots", "99999999999g", "17179869184g", "1e300",
                                    "nan",  "inf",          "-1k"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[128];
    snprintf(text, sizeof text, "log: { json-file: { max-size = \"%s\"; }; };\n", bad[i]);
    p = conf(text);
    config_load(&c, p, &e);
    free(c.data_root);
    c.data_root = xasprintf("%s/data", dir);
    free(c.exec_root);
    c.exec_root = xasprintf("%s/run", dir);
    memset(&set, 0, sizeof set);
    plugin_load(&set, c.plugin_dir, BERTH_KIND_LOGGER, "json-file", &lp, &e);
    ok(plugin_init(lp, &c, &e) < 0, "bad size value refused: %s", bad[i]);
    contains(e.msg, "daemon.conf:1: 'max-size' must be a size", "bad size message");
    plugin_set_free(&set);
    config_free(&c);
    free(p);
  }
  rm_rf(dir);
  return done();
}
