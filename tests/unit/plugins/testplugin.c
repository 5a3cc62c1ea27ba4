/* One source, several broken plugins (selected with -DVARIANT_*), for the
 * loader's refusal tests. */
#include <berth/storage.h>

static int t_init(const struct berth_host *h, void **drv, struct berth_err *err) {
  *drv = (void *)h;
  return 0;
}
static int t_create(void *d, const struct berth_storage_create_req *r, struct berth_err *e) {
  return 0;
}
static int t_remove(void *d, const char *id, struct berth_err *e) {
  return 0;
}
static int t_exists(void *d, const char *id, struct berth_err *e) {
  return 0;
}
__attribute__((unused)) static int t_mount(void *d, const char *id, const char *l, char *p,
                                           size_t n, struct berth_err *e) {
  return 0;
}
static int t_unmount(void *d, const char *id, struct berth_err *e) {
  return 0;
}
static int t_status(void *d, struct berth_buf *b, struct berth_err *e) {
  return 0;
}

static const struct berth_storage_ops t_ops = {
    .struct_size = sizeof(struct berth_storage_ops),
    .create = t_create,
    .remove = t_remove,
    .exists = t_exists,
#ifndef VARIANT_MISSINGOP
    .mount = t_mount,
#endif
    .unmount = t_unmount,
    .status = t_status,
};

#if defined(VARIANT_GOOD) || defined(VARIANT_MISSINGOP)
BERTH_PLUGIN_DEFINE(IDENT, BERTH_KIND_STORAGE, NAME, "0.0.1", "test plugin", 0, t_init, NULL,
                    &t_ops)
#else
#if defined(VARIANT_BADMAGIC)
#define MAGIC 0xdeadbeefu
#define MAJOR BERTH_ABI_MAJOR
#define MINOR BERTH_ABI_MINOR
#elif defined(VARIANT_BADMAJOR)
#define MAGIC BERTH_PLUGIN_MAGIC
#define MAJOR (BERTH_ABI_MAJOR + 1)
#define MINOR 0
#elif defined(VARIANT_NEWMINOR)
#define MAGIC BERTH_PLUGIN_MAGIC
#define MAJOR BERTH_ABI_MAJOR
#define MINOR (BERTH_ABI_MINOR + 1)
#endif
static const struct berth_plugin desc = {MAGIC,
                                         MAJOR,
                                         MINOR,
                                         sizeof(struct berth_plugin),
                                         BERTH_KIND_STORAGE,
                                         0,
                                         NAME,
                                         "0.0.1",
                                         "broken",
                                         0,
                                         t_init,
                                         NULL,
                                         &t_ops};
BERTH_EXPORT const struct berth_plugin *BERTH_CAT(IDENT, _LTX_berth_plugin_entry)(void);
BERTH_EXPORT const struct berth_plugin *BERTH_CAT(IDENT, _LTX_berth_plugin_entry)(void) {
  return &desc;
}
#endif
