/* Health checks: docker's HEALTHCHECK / --health-*.  berthd runs them: a
 * thread per running container with a check probes it as an exec (the
 * same path as docker exec: berth-shim's helper joins the container),
 * every Interval, killed after Timeout.  State.Health keeps the status,
 * the failing streak and the last five results, is saved with the
 * container's record, and the probing resumes after a berthd restart. */
#include <poll.h>
#include <signal.h>

#include "config.h"
#include "container.h"
#include "exec.h"

#define HEALTH_LOG_KEEP 5
#define HEALTH_OUTPUT_MAX 4096 /* docker's maxOutputLen */

struct probe_result {
  int64_t start, end;
  int code;
  char output[HEALTH_OUTPUT_MAX + 1];
  size_t len;
};

/* read both pipes until EOF or the deadline; false on the deadline */
static bool read_output(struct exec_io *io, int64_t deadline, struct probe_result *pr) {
  struct pollfd p[2] = {{io->out_r, POLLIN, 0}, {io->err_r, POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    int64_t left = (deadline - now_ns()) / 1000000;
    if (left <= 0 || ctr_stopping) return false;
    int n = poll(p, 2, left > 250 ? 250 : (int)left); /* berthd's stop seen within 250 ms */
    if (n < 0 && errno != EINTR) return false;
    for (int i = 0; i < 2 && n > 0; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[1024];
      ssize_t r = read(p[i].fd, buf, sizeof buf);
      if (r <= 0) {
        p[i].fd = -1;
        open--;
        continue;
      }
      size_t take =
          (size_t)r < HEALTH_OUTPUT_MAX - pr->len ? (size_t)r : HEALTH_OUTPUT_MAX - pr->len;
      memcpy(pr->output + pr->len, buf, take);
      pr->len += take;
    }
  }
  return true;
}

static void probe(struct container *c, const struct ctr_opts *o, struct probe_result *pr) {
  memset(pr, 0, sizeof *pr);
  pr->start = now_ns();
  json_t *cmd = json_array();
  for (size_t i = 0; i < o->n_health_cmd; i++)
    json_array_append_new(cmd, json_string(o->health_cmd[i]));
  struct exec_opts eo = {cmd, NULL, "", "", false, false, true, true, false, NULL, NULL};
  char id[65];
  struct berth_err err = {0};
  struct exec_proc *e = NULL;
  struct exec_io io = {-1, -1, -1, -1, -1, -1, 0, 0};
  int r = exec_create(c, &eo, id, &err);
  json_decref(cmd);
  if (r == 0 && !(e = exec_get(id))) r = berth_err_set(&err, BERTH_ENOTFOUND, 0, "exec vanished");
  if (r == 0) r = exec_start(e, true, &io, &err);
  if (r < 0) {
    pr->code = e ? 126 : -1;
    pr->len = (size_t)snprintf(pr->output, sizeof pr->output, "%s", err.msg);
  } else {
    if (io.in_w >= 0) close(io.in_w);
    bool done = read_output(&io, pr->start + o->health_timeout, pr);
    if (!done) kill(-io.pid, SIGKILL); /* the helper's process group: it and the probe */
    exec_finish(e, &io);
    close(io.out_r);
    close(io.err_r);
    pr->code = done ? exec_exit_code(e) : -1;
    if (!done)
      pr->len =
          (size_t)snprintf(pr->output, sizeof pr->output, "Health check exceeded timeout (%llds)",
                           (long long)(o->health_timeout / 1000000000LL));
  }
  if (e) exec_put(e);
  pr->output[pr->len] = 0;
  pr->end = now_ns();
}

/* docker's handleProbeResult: a success makes it healthy; a failure counts
 * unless it is still starting within StartPeriod; Retries failures in a row
 * make it unhealthy.  With ctr_lock held; the new status when it changed. */
static const char *apply_locked(struct container *c, const struct ctr_opts *o,
                                const struct probe_result *pr) {
  char st[64], en[64];
  format_rfc3339(pr->start, st, sizeof st);
  format_rfc3339(pr->end, en, sizeof en);
  json_t *log = json_object_get(c->health, "Log");
  json_array_append_new(log, json_pack("{s:s,s:s,s:i,s:s%}", "Start", st, "End", en, "ExitCode",
                                       pr->code, "Output", pr->output, pr->len));
  while (json_array_size(log) > HEALTH_LOG_KEEP)
    json_array_remove(log, 0);
  const char *old = json_string_value(json_object_get(c->health, "Status"));
  json_int_t streak = json_integer_value(json_object_get(c->health, "FailingStreak"));
  const char *now = old;
  if (pr->code == 0) {
    streak = 0;
    now = "healthy";
  } else if (strcmp(old, "starting") || pr->start - c->started_ns >= o->health_start) {
    if (++streak >= o->health_retries) now = "unhealthy";
  }
  json_object_set_new(c->health, "FailingStreak", json_integer(streak));
  if (!strcmp(now, old)) return NULL;
  json_object_set_new(c->health, "Status", json_string(now));
  return json_string_value(json_object_get(c->health, "Status"));
}

struct monitor {
  struct daemon *d;
  struct container *c;
  uint64_t gen;
};

/* until the next probe is due; false when the monitor is to end */
static bool wait_due(struct container *c, uint64_t gen, int64_t due) {
  ctr_lock();
  bool go = true;
  for (;;) {
    go = !ctr_stopping && c->health_gen == gen && !c->removed && ctr_is_running(c);
    int64_t left = (due - now_ns()) / 1000000;
    if (!go || (left <= 0 && c->status == CTR_RUNNING)) break; /* paused: no probe */
    ctr_wait(left <= 0 ? 200 : left > 1000 ? 1000 : (int)left);
  }
  ctr_unlock();
  return go;
}

static void *monitor_main(void *p) {
  struct monitor *m = p;
  struct container *c = m->c;
  struct ctr_opts *o = ctr_opts_get(c);
  int64_t due = now_ns() + o->health_interval;
  while (wait_due(c, m->gen, due) && work_begin()) {
    struct probe_result *pr = xmalloc(sizeof *pr);
    probe(c, o, pr);
    due = now_ns() + o->health_interval;
    if (ctr_stopping) { /* cut short by berthd's stop: not a result */
      free(pr);
      work_end();
      break;
    }
    ctr_lock();
    const char *changed = c->health_gen == m->gen && c->health ? apply_locked(c, o, pr) : NULL;
    cleanup_free char *status = changed ? xasprintf("health_status: %s", changed) : NULL;
    ctr_unlock();
    free(pr);
    ctr_save(m->d, c);
    if (status) ctr_event(c, status, NULL);
    work_end();
  }
  ctr_opts_put(o);
  ctr_put(c);
  free(m);
  return NULL;
}

void ctr_health_start(struct daemon *d, struct container *c, bool resume) {
  struct ctr_opts *o = ctr_opts_get(c);
  bool has = o->health_cmd != NULL;
  ctr_opts_put(o);
  ctr_lock();
  c->health_gen++;
  if (!has) {
    json_decref(c->health);
    c->health = NULL;
    ctr_unlock();
    return;
  }
  if (!c->health)
    c->health = json_pack("{s:s,s:i,s:[]}", "Status", "starting", "FailingStreak", 0, "Log");
  if (!resume) {
    json_object_set_new(c->health, "Status", json_string("starting"));
    json_object_set_new(c->health, "FailingStreak", json_integer(0));
  }
  struct monitor *m = xmalloc(sizeof *m);
  *m = (struct monitor){d, c, c->health_gen};
  c->refs++;
  ctr_unlock();
  pthread_t t;
  if (pthread_create(&t, NULL, monitor_main, m) == 0) {
    pthread_detach(t);
  } else {
    log_warn("container %.12s: no health check thread: %s", c->id, strerror(errno));
    ctr_put(c);
    free(m);
  }
}

const char *ctr_health_locked(const struct container *c) {
  const char *s = c->health ? json_string_value(json_object_get(c->health, "Status")) : NULL;
  return s ? s : "none";
}
