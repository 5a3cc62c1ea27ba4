/* An out-of-tree berth driver built only from the installed headers:
 *
 *   cc $(pkg-config --cflags berth-plugin) -shared -fPIC -o example-log.so example.c
 *
 * and named in daemon.conf by absolute path:  log: { driver = "/path/example-log.so"; };
 * It is a log sink that appends "stream: line" to <root_dir>/<container>.log. */
#include <berth/logger.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
  FILE *f;
};

static int ex_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  (void)err;
  host->log(host, BERTH_LOG_INFO, "example log driver ready in %s", host->root_dir);
  *drv = (void *)host;
  return 0;
}

static int ex_open(void *drv, const struct berth_log_info *info, void **out,
                   struct berth_err *err) {
  const struct berth_host *host = drv;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.log", host->root_dir, info->container_id);
  struct sink *s = calloc(1, sizeof *s);
  if (!s || !(s->f = fopen(path, "a"))) {
    free(s);
    return berth_err_set(err, BERTH_EINTERNAL, errno, "open %s: %s", path, strerror(errno));
  }
  *out = s;
  return 0;
}

static int ex_log(void *sink, const struct berth_log_msg *m, struct berth_err *err) {
  struct sink *s = sink;
  (void)err;
  fprintf(s->f, "%s: %.*s\n", m->stream == 2 ? "stderr" : "stdout", (int)m->len, m->line);
  return 0;
}

static int ex_close(void *sink, struct berth_err *err) {
  struct sink *s = sink;
  (void)err;
  fclose(s->f);
  free(s);
  return 0;
}

static const struct berth_logger_ops ex_ops = {
    .struct_size = sizeof(struct berth_logger_ops),
    .open = ex_open,
    .log = ex_log,
    .close = ex_close,
};

BERTH_PLUGIN_DEFINE(example_log, BERTH_KIND_LOGGER, "example-log", "0.1.0",
                    "example out-of-tree log sink", 0, ex_init, NULL, &ex_ops)
