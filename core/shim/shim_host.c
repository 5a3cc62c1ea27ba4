/* The host services table as berth-shim offers it to a log driver: the
 * same struct, fewer services.  The shim has no daemon.conf: conf_bind
 * gives the driver the values berthd's conf_bind resolved (spec.json). */
#include <stdarg.h>

#include "../confbind.h"
#include "../plugin.h"
#include "shim.h"

static void shim_log(const struct berth_host *h, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  berth_vlog(level, "shim log-driver", fmt, ap);
  va_end(ap);
}

static json_t *resolved; /* {key: text}, as berthd's conf_bind gave it */

void shim_host_config(json_t *config) {
  resolved = config;
}

/* The values berthd resolved (daemon.conf and defaults, canonical text),
 * bound by the same code berthd uses; defaults for keys it did not send. */
static int shim_conf_bind(const struct berth_host *h, const struct berth_conf_key *keys, size_t n,
                          void *target, struct berth_err *err) {
  (void)h;
  for (size_t i = 0; i < n; i++) {
    struct berth_conf_key k;
    if (conf_key_at(keys, i, &k, err) < 0) return -err->code;
    const char *text = json_string_value(json_object_get(resolved, k.name));
    if (!text) text = k.def;
    if (!text) continue;
    int r = conf_bind_text(&k, target, text, err);
    if (r < 0) return err_wrap(err, "log driver configuration from berthd");
  }
  return 0;
}

static int shim_buf_append(const struct berth_host *h, struct berth_buf *buf, const void *data,
                           size_t len) {
  (void)h;
  return host_buf_append(buf, data, len);
}

static int shim_unsupported(void) {
  return -BERTH_ENOTSUP;
}

int host_setup(struct loaded_plugin *p, struct berth_config *cfg, struct berth_err *err) {
  struct berth_host *h = &p->host;
  h->struct_size = sizeof *h;
  h->abi_minor = BERTH_ABI_MINOR;
  h->root_dir = cfg->data_root ? cfg->data_root : "/nonexistent";
  h->run_dir = cfg->exec_root ? cfg->exec_root : "/nonexistent";
  h->log = shim_log;
  h->conf_bind = shim_conf_bind;
  h->buf_append = shim_buf_append;
  h->state_put = (void *)shim_unsupported;
  h->state_get = (void *)shim_unsupported;
  h->state_del = (void *)shim_unsupported;
  h->untar = (void *)shim_unsupported;
  h->run_in_netns = (void *)shim_unsupported;
  return 0;
}

void host_free(struct loaded_plugin *p) {}
