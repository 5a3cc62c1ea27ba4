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
  refused("badmajor", BERTH_KIND_STORAGE,
          "built for plugin ABI 2.0, but this berthd speaks ABI 1.0: rebuild the plugin",
          "other major");
  refused("newminor", BERTH_KIND_STORAGE,
          "needs plugin ABI 1.1, newer than this berthd's 1.0: upgrade berthd", "newer minor");
  refused("missingop", BERTH_KIND_STORAGE, "required storage op 'mount' is missing",
          "missing required op");
  refused("goodstore", BERTH_KIND_NETWORK, "is a storage driver, configured as a network driver",
          "wrong kind");
  refused("nosuch", BERTH_KIND_STORAGE, "storage driver 'nosuch' not found", "missing file");
  refused("../x", BERTH_KIND_STORAGE, "give a bare name or an absolute path", "relative path");

  /* duplicate name: the built-in vfs, then a .so calling itself vfs */
  memset(&set, 0, sizeof set);
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, "vfs", NULL, &e) == 0,
     "built-in vfs loads through the same checks");
  ok(plugin_load(&set, PLUGDIR, BERTH_KIND_STORAGE, PLUGDIR "/vfs.so", NULL, &e) < 0,
     "duplicate name refused");
  contains(e.msg, "a storage driver named 'vfs' is already loaded from built-in",
           "duplicate name: message");
  printf("#   %s\n", e.msg);
  ok(set.n == 1, "only the first stays loaded");
  plugin_set_free(&set);

  /* a descriptor that is too short is caught before any field is read */
  struct berth_plugin tiny = {
      BERTH_PLUGIN_MAGIC, 1, 0, 16, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL};
  memset(&set, 0, sizeof set);
  ok(plugin_validate(&set, &tiny, 0, "tiny", &p, &e) < 0, "truncated descriptor refused");
  contains(e.msg, "descriptor is 16 bytes", "truncated descriptor message");
  return done();
}
