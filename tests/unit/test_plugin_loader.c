#include "../../core/confbind.h"
#include "../../core/plugin.h"
#include "tap.h"

#define PLUGDIR TEST_BUILDDIR "/tests/unit/plugins/.libs"

static void refused(const char *name, int kind, const char *want, const char *what) {
  struct plugin_set set = {0};
  struct berth_err e = {0};
  struct loaded_plugin *p = NULL;
  int r = plugin_load(&set, PLUGDIR, kind, name, &p, &e);
  ok(r < 0 && set.n == 0, "%s is refused", what);
  contains(e.msg, want, "%s: precise message", what);
  printf("#   %s\n", e.msg);
  plugin_set_free(&set);
}

static int h_init(const struct berth_host *h, void **drv, struct berth_err *e) {
  (void)h;
  (void)drv;
  (void)e;
  return 0;
}
static int h_open(void *d, const struct berth_log_info *i, void **s, struct berth_err *e) {
  (void)d, (void)i, (void)s, (void)e;
  return 0;
}
static int h_log(void *s, const struct berth_log_msg *m, struct berth_err *e) {
  (void)s, (void)m, (void)e;
  return 0;
}
static int h_close(void *s, struct berth_err *e) {
  (void)s, (void)e;
  return 0;
}
static int h_read_open(void *d, const struct berth_log_info *i, const struct berth_log_read_cfg *c,
                       void **r, struct berth_err *e) {
  (void)d, (void)i, (void)c, (void)r, (void)e;
  return 0;
}

int main(void) {
  struct plugin_set set = {0};
  struct berth_err e = {0};
  struct loaded_plugin *p = NULL;
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, "goodstore", &p, &e) == 0,
     "good plugin loads (%s)", e.msg);
  ok(p && !strcmp(p->name, "goodstore") && p->ops.storage.mount != NULL, "ops copied");
  ok(p && p->ops.storage.apply_diff == NULL, "optional op missing reads as NULL");
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, PLUGDIR "/goodstore.so", NULL, &e) < 0,
     "loading the same driver twice is refused");
  contains(e.msg, "a storage driver named 'goodstore' is already loaded",
           "duplicate by path: message");
  printf("#   %s\n", e.msg);
  plugin_set_free(&set);

  refused("badmagic", BERTH_KIND_STORAGE,
          "bad magic 0xdeadbeef (expected 0x48545242): not a berth plugin", "wrong magic");
  char want[200];
  snprintf(want, sizeof want,
           "built for plugin ABI 2.0, but this berthd speaks ABI 1.%u: rebuild the plugin",
           BERTH_ABI_MINOR);
  refused("badmajor", BERTH_KIND_STORAGE, want, "other major");
  snprintf(want, sizeof want,
           "needs plugin ABI 1.%u, newer than this berthd's 1.%u: upgrade berthd",
           BERTH_ABI_MINOR + 1, BERTH_ABI_MINOR);
  refused("newminor", BERTH_KIND_STORAGE, want, "newer minor");
  refused("missingop", BERTH_KIND_STORAGE, "required storage op 'mount' is missing",
          "missing required op");
  refused("goodstore", BERTH_KIND_NETWORK, "is a storage driver, configured as a network driver",
          "wrong kind");
  refused("nosuch", BERTH_KIND_STORAGE, "storage driver 'nosuch' not found", "missing file");
  refused("../x", BERTH_KIND_STORAGE, "give a bare name or an absolute path", "relative path");

  /* a .so calling itself vfs: refused as a shadow of the built-in, whether
   * the built-in is loaded or not */
  memset(&set, 0, sizeof set);
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, PLUGDIR "/vfs.so", NULL, &e) < 0,
     "a file shadowing a built-in name is refused");
  contains(e.msg, "calls itself 'vfs', the name of a built-in storage driver",
           "shadowing: message");
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, "vfs", NULL, &e) == 0,
     "built-in vfs loads through the same checks");
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, PLUGDIR "/goodstore.so", NULL, &e) == 0 &&
         plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, PLUGDIR "/goodstore.so", NULL, &e) < 0,
     "the same driver twice: refused");
  contains(e.msg, "a storage driver named 'goodstore' is already loaded from",
           "duplicate: message");
  printf("#   %s\n", e.msg);
  ok(set.n == 2, "only the first stays loaded");
  plugin_set_free(&set);

  /* a name that would be a path under the data root */
  memset(&set, 0, sizeof set);
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, PLUGDIR "/badname.so", NULL, &e) < 0,
     "a driver named ../../../escape is refused");
  contains(e.msg, "driver name '../../../escape' is not valid", "bad name: message");
  plugin_set_free(&set);

  /* a logger that advertises reading without read_next */
  static const struct berth_logger_ops half = {
      sizeof half, BERTH_LOG_F_READ, h_open, h_log, h_close, NULL, h_read_open, NULL, NULL};
  struct berth_plugin hp = {BERTH_PLUGIN_MAGIC,
                            BERTH_ABI_MAJOR,
                            BERTH_ABI_MINOR,
                            sizeof hp,
                            BERTH_KIND_LOGGER,
                            0,
                            "halflog",
                            "1.0",
                            NULL,
                            0,
                            h_init,
                            NULL,
                            &half};
  memset(&set, 0, sizeof set);
  ok(plugin_validate(&set, &hp, 0, "halflog.so", &p, &e) < 0,
     "an inconsistent op group is refused");
  contains(e.msg, "advertises reading (BERTH_LOG_F_READ) but has no read_next",
           "op group: message");

  /* key tables are walked with the plugin's element size: a table from a
   * later minor (one field more per key) reads right; a table built
   * without BERTH_CONF_KEY (no element size) is refused */
  struct key11 {
    struct berth_conf_key k;
    int added_in_1_1;
  } t11[2] = {{{sizeof(struct key11), "a", BERTH_CONF_INT, 0, "5"}, 7},
              {{sizeof(struct key11), "b", BERTH_CONF_BOOL, 8, "true"}, 9}};
  struct berth_conf_key k;
  ok(conf_key_at(&t11[0].k, 1, &k, &e) == 0 && !strcmp(k.name, "b") && k.offset == 8 &&
         k.type == BERTH_CONF_BOOL,
     "a key table of a later minor is walked with its own element size");
  struct berth_conf_key old[1] = {{0, "a", BERTH_CONF_INT, 0, NULL}};
  ok(conf_key_at(old, 0, &k, &e) < 0, "a key table without element sizes is refused");
  contains(e.msg, "build the table with BERTH_CONF_KEY", "and says how to fix it");

  /* a descriptor that is too short is caught before any field is read */
  struct berth_plugin tiny = {
      BERTH_PLUGIN_MAGIC, 1, 0, 16, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL};
  memset(&set, 0, sizeof set);
  ok(plugin_validate(&set, &tiny, 0, "tiny", &p, &e) < 0, "truncated descriptor refused");
  contains(e.msg, "descriptor is 16 bytes", "truncated descriptor message");
  return done();
}
