/* RUN (build.h): a container of its own made by the container code, its
 * output streamed into the build's, its changes a layer. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>

#include "../container/container.h"
#include "../container/stream.h"
#include "../image/store.h"
#include "build.h"

/* ---------------- RUN ---------------- */

static char *joined(json_t *a) {
  char *s = xstrdup("");
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    char *t = xasprintf("%s%s%s", s, i ? " " : "", json_string_value(v) ?: "");
    free(s);
    s = t;
  }
  return s;
}

/* the RUN's environment (ENV, then the ARGs ENV does not set) and its
 * history line, docker's: "|N k=v … /bin/sh -c cmd" when ARGs are seen */
static char *run_line(struct bstage *s, json_t *cmd, json_t **env) {
  json_t *have = json_object_get(bconfig(s), "Env");
  *env = json_is_array(have) ? json_deep_copy(have) : json_array();
  json_t *vars = bvars(s);
  char *prefix = xstrdup("");
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(s->args, k, v) {
    if (strcmp(json_string_value(json_object_get(vars, k)) ?: "", json_string_value(v) ?: ""))
      continue; /* ENV set it: the image's value wins */
    char *t = xasprintf("%s %s=%s", prefix, k, json_string_value(v) ?: "");
    free(prefix);
    prefix = t;
    json_array_append_new(*env, json_sprintf("%s=%s", k, json_string_value(v) ?: ""));
    n++;
  }
  json_decref(vars);
  cleanup_free char *c = joined(cmd);
  char *line = n ? xasprintf("|%zu%s %s", n, prefix, c) : xstrdup(c);
  free(prefix);
  return line;
}

struct logs_job {
  int fd;
  struct ctr_logs *l;
};

static void *logs_thread(void *p) {
  struct logs_job *j = p;
  ctr_logs_stream(j->fd, j->l);
  close(j->fd);
  return NULL;
}

/* a cancelled build's RUN ends, killed once (*killed) */
static void cancel_kill(struct build *b, struct container *c, bool *killed) {
  struct berth_err e = {0};
  if (*killed || bcancelled(b, &e) == 0) return;
  ctr_kill(b->d, c, "KILL", &e);
  *killed = true;
}

/* the container's output, as it comes, into the build's stream */
static void follow_output(struct build *b, struct container *c, bool *killed) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return;
  struct ctr_logs *l = xcalloc(1, sizeof *l);
  /* a build waits on each RUN's exit: seen within 10 ms */
  *l = (struct ctr_logs){.d = b->d,
                         .c = c,
                         .follow = true,
                         .out = true,
                         .err = true,
                         .tty = true,
                         .tail = -1,
                         .poll_ms = 10};
  ctr_lock();
  c->refs++; /* the reader's own, put by ctr_logs_stream */
  ctr_unlock();
  struct logs_job j = {fds[1], l};
  pthread_t t;
  if (pthread_create(&t, NULL, logs_thread, &j) != 0) {
    close(fds[0]);
    close(fds[1]);
    ctr_put(c);
    free(l);
    return;
  }
  char buf[8192];
  for (;;) {
    struct pollfd pf = {fds[0], POLLIN, 0};
    if (poll(&pf, 1, 1000) == 0) { /* quiet for a second: still wanted? */
      cancel_kill(b, c, killed);
      continue;
    }
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    if (!b->o->quiet) b->out->text(b->out->ctx, buf, (size_t)n);
  }
  close(fds[0]);
  pthread_join(t, NULL);
}

/* its exit code; a cancelled build kills it */
static int exit_code(struct build *b, struct container *c, bool *killed) {
  ctr_lock();
  while (ctr_is_running(c) || c->status == CTR_RESTARTING || c->start_in_progress) {
    if (!*killed) {
      ctr_unlock();
      cancel_kill(b, c, killed);
      ctr_lock();
      if (*killed) continue;
    }
    ctr_wait(1000);
  }
  int code = c->exit_code;
  ctr_unlock();
  return code;
}

/* the container made for the step: run, followed, its layer taken */
static int run_in(struct build *b, struct container *c, json_t *cmd, char diff_id[DIGEST_LEN + 1],
                  struct berth_err *err) {
  bsay(b, " ---> Running in %.12s\n", c->id);
  int r = ctr_start(b->d, c, err);
  if (r < 0) return r;
  bool killed = false; /* by a cancel, while followed or waited for */
  follow_output(b, c, &killed);
  int code = exit_code(b, c, &killed);
  if ((r = bcancelled(b, err)) < 0) return r;
  if (code != 0) {
    cleanup_free char *shown = joined(cmd);
    return berth_err_set(err, BERTH_EINVAL, 0, "The command '%s' returned a non-zero code: %d",
                         shown, code);
  }
  char chain[DIGEST_LEN + 1];
  r = ctr_commit_layer(b->d, c, false, chain, err);
  pthread_mutex_lock(&b->d->images.lock);
  struct layer *l = r == 0 ? store_layer_locked(&b->d->images, chain) : NULL;
  if (l) memcpy(diff_id, l->diff_id, DIGEST_LEN + 1);
  pthread_mutex_unlock(&b->d->images.lock);
  return r == 0 && !l ? berth_err_set(err, BERTH_EINTERNAL, 0, "the new layer is gone") : r;
}

int step_run(struct build *b, struct bstage *s, const struct df_instr *in, struct berth_err *err) {
  if (!*s->id)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "RUN in a stage FROM scratch before any file: no shell to run");
  json_t *cmd = bcommand(s, in), *env;
  cleanup_free char *line = run_line(s, cmd, &env);
  if (bcache(b, s, line)) {
    json_decref(cmd);
    json_decref(env);
    return 0;
  }
  json_t *cfg = bconfig(s);
  json_t *body = json_pack(
      "{s:s,s:O,s:[],s:o,s:s,s:s,s:{s:s,s:{s:s,s:{}}}}", "Image", s->id, "Entrypoint", cmd, "Cmd",
      "Env", env, "WorkingDir", json_string_value(json_object_get(cfg, "WorkingDir")) ?: "", "User",
      json_string_value(json_object_get(cfg, "User")) ?: "", "HostConfig", "NetworkMode",
      b->o->network ? b->o->network : "", "LogConfig", "Type", "json-file", "Config");
  char id[65];
  int r = ctr_create(b->d, NULL, body, id, NULL, err);
  json_decref(body);
  struct container *c = r == 0 ? ctr_get(id) : NULL;
  char diff_id[DIGEST_LEN + 1] = "";
  if (c) r = run_in(b, c, cmd, diff_id, err);
  if (c) { /* the intermediate container goes, whatever happened */
    struct berth_err e = {0};
    bsay(b, "Removing intermediate container %.12s\n", c->id);
    ctr_remove(b->d, c, true, true, &e);
    ctr_put(c);
  }
  json_decref(cmd);
  return r == 0 ? bcommit(b, s, line, diff_id, err) : r;
}
