/* logs: read back through the log driver, followed while the container
 * runs. */
#include <poll.h>
#include <regex.h>

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

/* url.QueryEscape's form of s (docker escapes each key and value) */
static void query_escape(struct strbuf *b, const char *s) {
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    char hex[4];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        (ch && strchr("-_.~", ch)))
      strbuf_add(b, s, 1);
    else if (ch == ' ')
      strbuf_str(b, "+");
    else
      strbuf_add(b, hex, (size_t)snprintf(hex, sizeof hex, "%%%02X", ch));
  }
}

/* the names of a comma-separated --log-opt, and those a regex one matches,
 * that obj has: into attrs */
static void pick_attrs(json_t *attrs, json_t *obj, const char *names, const char *regex) {
  const char *k;
  json_t *v;
  cleanup_free char *list = xstrdup(names ? names : "");
  for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if ((v = json_object_get(obj, t))) json_object_set(attrs, t, v);
  regex_t re;
  if (!regex || !*regex || regcomp(&re, regex, REG_EXTENDED | REG_NOSUB) != 0) return;
  json_object_foreach(obj, k, v) {
    if (regexec(&re, k, 0, NULL, 0) == 0) json_object_set(attrs, k, v);
  }
  regfree(&re);
}

/* logs --details: the attributes docker's drivers attach to each line (the
 * container's labels and environment its --log-opt labels, labels-regex,
 * env and env-regex name), "k=v,k=v " sorted by key; " " when none */
static char *log_details(const struct ctr_opts *o) {
  json_t *env = json_object(), *attrs = json_object();
  for (size_t i = 0; i < o->n_env; i++) {
    const char *eq = strchr(o->env[i], '=');
    if (!eq) continue;
    cleanup_free char *k = xstrndup(o->env[i], (size_t)(eq - o->env[i]));
    json_object_set_new(env, k, json_string(eq + 1));
  }
#define OPT(name) json_string_value(json_object_get(o->log_config, name))
  pick_attrs(attrs, o->labels, OPT("labels"), OPT("labels-regex"));
  pick_attrs(attrs, env, OPT("env"), OPT("env-regex"));
#undef OPT
  size_t n = json_object_size(attrs), i = 0;
  const char **keys = xcalloc(n + 1, sizeof *keys);
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) keys[i++] = k;
  qsort(keys, n, sizeof *keys, strp_cmp);
  struct strbuf b = {0};
  strbuf_add(&b, "", 0);
  for (i = 0; i < n; i++) {
    if (i) strbuf_str(&b, ",");
    query_escape(&b, keys[i]);
    strbuf_str(&b, "=");
    query_escape(&b, json_string_value(json_object_get(attrs, keys[i])) ?: "");
  }
  strbuf_str(&b, " ");
  free(keys);
  json_decref(attrs);
  json_decref(env);
  return b.s;
}

void ctr_logs_stream(int fd, void *p) {
  struct ctr_logs *l = p;
  struct ctr_opts *o = ctr_opts_get(l->c);
  struct loaded_plugin *lg = ctr_log_driver(l->d, o);
  cleanup_free char *details = l->details ? log_details(o) : NULL;
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
      bool running =
          ctr_is_running(l->c) || l->c->status == CTR_RESTARTING || l->c->start_in_progress;
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
    size_t tl = strlen(ts), dl = details ? strlen(details) : 0;
    size_t len = tl + dl + m.len + (m.partial ? 0 : 1);
    char *payload = xmalloc(len + 8);
    memcpy(payload + 8, ts, tl);
    if (dl) memcpy(payload + 8 + tl, details, dl);
    memcpy(payload + 8 + tl + dl, m.line, m.len);
    if (!m.partial) payload[8 + tl + dl + m.len] = '\n';
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
