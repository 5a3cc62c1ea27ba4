/* The conformance suites of berth-plugin-check (tools/plugin-check), run
 * through berthd's own loader and host table, so the built-in drivers,
 * which are not files, are held to the same contract:
 *   conformance KIND NAME|/path/driver.so [PLUGIN_DIR]
 * KIND is storage, network, log, registry or volume; REGISTRY=host:port gives the
 * registry suite its server. */
#include "../../core/plugin.h"
#include "../../tools/plugin-check/check.h"

static int kind_of(const char *s) {
  static const char *const n[] = {"", "storage", "network", "log", "registry", "volume"};
  for (int i = 1; i <= 5; i++)
    if (!strcmp(s, n[i])) return i;
  return 0;
}

int main(int argc, char **argv) {
  int kind = argc >= 3 ? kind_of(argv[1]) : 0;
  if (!kind) {
    fprintf(stderr, "usage: %s storage|network|log|registry|volume DRIVER [PLUGIN_DIR]\n", argv[0]);
    return 2;
  }
  char dir[] = "/tmp/berth-conformance-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  struct berth_config cfg;
  struct berth_err e = {0};
  config_load(&cfg, NULL, &e);
  free(cfg.data_root);
  cfg.data_root = xasprintf("%s/data", dir);
  free(cfg.exec_root);
  cfg.exec_root = xasprintf("%s/run", dir);
  struct plugin_set set = {0};
  struct loaded_plugin *p = NULL;
  int rc = plugin_load(&set, argc > 3 ? argv[3] : "/nowhere", kind, argv[2], &p, &e);
  chk_ok(rc == 0, "load %s (%s)", argv[2], rc ? e.msg : "ok");
  if (rc == 0) rc = plugin_init(p, &cfg, &e);
  if (p) chk_ok(rc == 0, "init %s (%s)", p->name, rc ? e.msg : "ok");
  if (rc == 0) {
    chk_note("driver %s %s from %s", p->name, p->desc.version, p->origin);
    cleanup_free char *scratch = xasprintf("%s/scratch", dir);
    struct target t = {&p->desc, &p->ops, p->drv, &p->host, scratch, getenv("REGISTRY")};
    int (*suite[])(struct target *) = {NULL,      suite_storage,  suite_network,
                                       suite_log, suite_registry, suite_volume};
    if (suite[kind](&t) < 0) chk_ok(false, "the suite ran");
  }
  plugin_set_free(&set);
  config_free(&cfg);
  rm_rf(dir);
  return chk_done() ? 1 : 0;
}
