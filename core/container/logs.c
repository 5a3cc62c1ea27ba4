/* logs: read back through the log driver, followed while the container
 * runs. */
#include <poll.h>

#include "../daemon.h"
#include "../driver.h"
#include "../shim/protocol.h"
#include "config.h"
#include "container.h"
#include "stream.h"

struct loaded_plugin *ctr_log_driver(struct daemon *d, const struct ctr_opts *o) {
  const char *t = o->log_type;
  if (!*t) return d->logger;
  if (!strcmp(t, "none")) return NULL;
  return plugin_find_active(&d->plugins, BERTH_KIND_LOGGER, t);
}

int ctr_logs_check(struct daemon *d, struct container *c, const struct ctr_logs *l,
                   struct berth_err *err) {
  struct ctr_opts *o = ctr_opts_get(c);
  struct loaded_plugin *lg = ctr_log_driver(d, o);
  ctr_opts_put(o);
  if (!lg || !drv_log_readable(lg))
    return berth_err_set(err, BERTH_ENOTSUP, 0,
                         "configured logging driver does not support reading");
  if (!l->out && !l->err)
    return berth_err_set(err, BERTH_EINVAL, 0, "You must choose at least one stream");
  return 0;
}

/* An error after the stream began: docker's "system error" frame
 * (stream 3), which its clients print as "error from daemon in stream: ..." */
static void stream_error(int fd, bool tty, const char *msg) {
  size_t len = strlen(msg);
  unsigned char hdr[8];
  shim_frame_header(hdr, 3, (uint32_t)len);
  if (tty || write_all_fd(fd, hdr, sizeof hdr) == 0) write_all_fd(fd, msg, len);
}

static bool fd_hung_up(int fd) {
  struct pollfd pf = {fd, 0, 0};
  return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLERR | POLLHUP));
}

void ctr_logs_stream(int fd, void *p) {
  struct ctr_logs *l = p;
  struct ctr_opts *o = ctr_opts_get(l->c);
  struct loaded_plugin *lg = ctr_log_driver(l->d, o);
  ctr_opts_put(o);
  if (!lg) { /* checked before the stream began; gone since: nothing to read */
    ctr_put(l->c);
    free(l);
    return;
  }
  cleanup_free char *path = ctr_log_path(l->d, l->c->id);
  struct berth_log_info info = {
      sizeof info, l->c->id, l->c->name + 1, l->c->image_id, "", l->c->created_ns, path, NULL, 0};
  struct berth_log_read_cfg cfg = {sizeof cfg, l->since, l->until, l->tail, l->follow};
  void *rd = NULL;
  struct berth_err err = {0};
  int r = drv_log_read_open(lg, &info, &cfg, &rd, &err);
  bool stopped_seen = false;
  while (r >= 0) {
    struct berth_log_msg m = {0};
    /* a short wait while it runs (its exit is seen within poll_ms), none
     * for the last pass once it has stopped */
    r = drv_log_read_next(lg, rd, &m, stopped_seen ? 0 : l->poll_ms > 0 ? l->poll_ms : 100, &err);
    if (r < 0 || r == BERTH_LOG_EOF) break;
    if (r == BERTH_LOG_AGAIN) {
      ctr_lock();
      bool running = l->c->status == CTR_RUNNING || l->c->status == CTR_PAUSED ||
                     l->c->status == CTR_RESTARTING || l->c->start_in_progress;
      ctr_unlock();
      if (ctr_stopping) break; /* berthd stops: the stream ends, as dockerd's */
      if (!running) {
        if (stopped_seen) break;
        stopped_seen = true; /* one more pass to drain */
      }
      if (l->gone ? l->gone(fd) : fd_hung_up(fd)) break;
      continue;
    }
    if ((m.stream == 1 && !l->out) || (m.stream == 2 && !l->err)) continue;
    char ts[64] = "";
    if (l->timestamps) {
      format_rfc3339(m.time_ns, ts, sizeof ts - 1);
      strcat(ts, " ");
    }
    size_t tl = strlen(ts);
    size_t len = tl + m.len + (m.partial ? 0 : 1);
    char *payload = xmalloc(len + 8);
    memcpy(payload + 8, ts, tl);
    memcpy(payload + 8 + tl, m.line, m.len);
    if (!m.partial) payload[8 + tl + m.len] = '\n';
    int w;
    if (l->tty) {
      w = write_all_fd(fd, payload + 8, len);
    } else {
      shim_frame_header((unsigned char *)payload, (int)m.stream, (uint32_t)len);
      w = write_all_fd(fd, payload, len + 8);
    }
    free(payload);
    if (w < 0) break;
  }
  if (r < 0) stream_error(fd, l->tty, err.msg);
  drv_log_read_close(lg, rd);
  ctr_put(l->c);
  free(l);
}
