/* A network driver that lies, one lie per build (tests/plugin/liars.sh):
 *   -DLIE_MAGIC -DLIE_MAJOR -DLIE_MINOR -DLIE_SIZE   a bad descriptor
 *   -DLIE_NO_OP            a required op missing
 *   -DNAME='"x"'           the name it calls itself (default "liar")
 *   -DLIE_INIT             init fails with a message
 *   -DLIE_SEGV_INIT        init dereferences NULL
 *   -DLIE_LOG_GROUP        a log driver that says it reads, without read_next
 * IDENT is the file's base name with non-alphanumerics as '_'. */
#include <berth/logger.h>
#include <berth/network.h>
#include <stddef.h>

#ifndef NAME
#define NAME "liar"
#endif
#ifndef IDENT
#define IDENT liar
#endif

static int l_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  (void)host, (void)drv;
#if defined(LIE_INIT)
  return berth_err_set(err, BERTH_EINTERNAL, 0, "no bridge module on this host");
#elif defined(LIE_SEGV_INIT)
  (void)err;
  *(volatile int *)(size_t)host->abi_minor = 1; /* NULL: the host's minor is 0 */
  return 0;
#else
  (void)err;
  return 0;
#endif
}

#ifdef LIE_LOG_GROUP
static int l_open(void *d, const struct berth_log_info *i, void **s, struct berth_err *e) {
  (void)d, (void)i, (void)e;
  *s = NULL;
  return 0;
}
static int l_log(void *s, const struct berth_log_msg *m, struct berth_err *e) {
  (void)s, (void)m, (void)e;
  return 0;
}
static int l_close(void *s, struct berth_err *e) {
  (void)s, (void)e;
  return 0;
}
static int l_read_open(void *d, const struct berth_log_info *i, const struct berth_log_read_cfg *c,
                       void **r, struct berth_err *e) {
  (void)d, (void)i, (void)c, (void)e;
  *r = NULL;
  return 0;
}
static const struct berth_logger_ops ops = {
    .struct_size = sizeof ops,
    .features = BERTH_LOG_F_READ,
    .open = l_open,
    .log = l_log,
    .close = l_close,
    .read_open = l_read_open, /* and no read_next: the lie */
};
#define KIND BERTH_KIND_LOGGER
#else
__attribute__((unused)) static int l_create(void *drv, const struct berth_net_create_req *req,
                                            struct berth_err *err) {
  (void)drv, (void)req, (void)err;
  return 0;
}
static int l_delete(void *drv, const char *id, struct berth_err *err) {
  (void)drv, (void)id, (void)err;
  return 0;
}
static const struct berth_network_ops ops = {
    .struct_size = sizeof ops,
#ifndef LIE_NO_OP
    .create_network = l_create,
#endif
    .delete_network = l_delete,
};
#define KIND BERTH_KIND_NETWORK
#endif

BERTH_PLUGIN(IDENT, .kind = KIND, .name = NAME, .version = "6.6.6", .init = l_init, .ops = &ops,
#if defined(LIE_MAGIC)
             .magic = 0x4b414b41u,
#elif defined(LIE_MAJOR)
             .abi_major = 2,
#elif defined(LIE_MINOR)
             .abi_minor = 99,
#elif defined(LIE_SIZE)
             .struct_size = 20,
#endif
             .description = "a driver that lies");
