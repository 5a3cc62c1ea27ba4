/* The host services table as berth-shim offers it to a log driver: the
 * same struct, fewer services (the shim has no daemon.conf; berthd passes
 * the driver's settings as per-container options). */
#include <stdarg.h>

#include "../plugin.h"

static void shim_log(const struct berth_host *h, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  berth_vlog(level, "shim log-driver", fmt, ap);
  va_end(ap);
}

static int shim_conf_bind(const struct berth_host *h, const struct berth_conf_key *keys, size_t n,
                          void *target, struct berth_err *err) {
  for (size_t i = 0; i < n; i++) {
    if (!keys[i].def) continue;
    char *dst = (char *)target + keys[i].offset;
    switch (keys[i].type) {
    case BERTH_CONF_STRING: {
      const char *v = keys[i].def;
      memcpy(dst, &v, sizeof v);
      break;
    }
    case BERTH_CONF_BOOL: {
      int v = parse_bool_value(keys[i].def);
      memcpy(dst, &v, sizeof v);
      break;
    }
    case BERTH_CONF_INT: {
      int64_t v = strtoll(keys[i].def, NULL, 10);
      memcpy(dst, &v, sizeof v);
      break;
    }
    case BERTH_CONF_SIZE: {
      uint64_t v = strtoull(keys[i].def, NULL, 10);
      memcpy(dst, &v, sizeof v);
      break;
    }
    }
  }
  return 0;
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
  h->buf_append = host_buf_append;
  h->state_put = (void *)shim_unsupported;
  h->state_get = (void *)shim_unsupported;
  h->state_del = (void *)shim_unsupported;
  h->untar = (void *)shim_unsupported;
  h->run_in_netns = (void *)shim_unsupported;
  return 0;
}

void host_free(struct loaded_plugin *p) {}
