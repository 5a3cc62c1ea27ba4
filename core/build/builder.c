/* The classic builder's driver (builder.h): stages, steps, the cache, the
 * config-only instructions; RUN and COPY/ADD are steps.c's. */
#include "build.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>

#include "../container/container.h"
#include "../image/reference.h"
#include "../image/registry.h"
#include "../image/store.h"
#include "../runtime/runtime.h"

void bsay(struct build *b, const char *fmt, ...) {
  if (b->o->quiet) return;
  char *s;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  b->out->text(b->out->ctx, s, (size_t)n);
  free(s);
}

int bcancelled(struct build *b, struct berth_err *err) {
  bool stopping = ctr_stopping;
  if (!stopping && !(b->out->gone && b->out->gone(b->out->ctx))) return 0;
  /* the client may not be there to read why: berthd's log says it, once */
  if (!b->cancel_logged)
    log_info("build cancelled at step %d/%d: %s", b->step, b->n_steps,
             stopping ? "berthd is stopping" : "its client went away");
  b->cancel_logged = true;
  return berth_err_set(err, BERTH_EINTERNAL, 0,
                       stopping ? "berthd is stopping" : "context canceled");
}

json_t *bconfig(struct bstage *s) {
  json_t *c = json_object_get(s->img, "config");
  if (!json_is_object(c)) json_object_set_new(s->img, "config", c = json_object());
  return c;
}

json_t *bvars(struct bstage *s) {
  json_t *v = json_deep_copy(s->args);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(bconfig(s), "Env"), i, e) {
    const char *kv = json_string_value(e) ?: "";
    const char *eq = strchr(kv, '=');
    if (!eq) continue;
    cleanup_free char *k = xasprintf("%.*s", (int)(eq - kv), kv);
    json_object_set_new(v, k, json_string(eq + 1));
  }
  return v;
}

json_t *bscratch(void) {
  return json_pack("{s:s,s:s,s:{},s:{s:s,s:[]},s:[]}", "architecture", "amd64", "os", "linux",
                   "config", "rootfs", "type", "layers", "diff_ids", "history");
}

int bstage_set(struct build *b, struct bstage *s, const char *id, struct berth_err *err) {
  struct image_store *st = &b->d->images;
  pthread_mutex_lock(&st->lock);
  struct image *im = store_lookup_locked(st, id);
  json_t *j = im ? json_loadb(im->config_raw, im->config_len, 0, NULL) : NULL;
  if (im) snprintf(s->id, sizeof s->id, "%s", im->id);
  pthread_mutex_unlock(&st->lock);
  if (!j) return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", id);
  json_decref(s->img);
  s->img = j;
  return 0;
}

static const char *last_created_by(json_t *img) {
  json_t *h = json_object_get(img, "history");
  return json_string_value(
      json_object_get(json_array_get(h, json_array_size(h) - 1), "created_by"));
}

bool bcache(struct build *b, struct bstage *s, const char *created_by) {
  if (b->o->nocache) return false;
  struct image_store *st = &b->d->images;
  char found[DIGEST_LEN + 1] = "";
  pthread_mutex_lock(&st->lock);
  for (size_t i = 0; i < st->n_images && !*found; i++) {
    struct image *im = st->images[i];
    if (strcmp(im->parent, s->id)) continue;
    const char *cb = last_created_by(im->config);
    if (cb && !strcmp(cb, created_by)) memcpy(found, im->id, sizeof found);
  }
  pthread_mutex_unlock(&st->lock);
  struct berth_err e = {0};
  if (!*found || bstage_set(b, s, found, &e) < 0) return false;
  bsay(b, " ---> Using cache\n ---> %.12s\n", s->id + 7);
  return true;
}

int bcommit(struct build *b, struct bstage *s, const char *created_by, const char *diff_id,
            struct berth_err *err) {
  json_t *img = json_deep_copy(s->img);
  char now[64];
  format_rfc3339(now_ns(), now, sizeof now);
  json_object_set_new(img, "created", json_string(now));
  json_t *cfg = json_object_get(img, "config");
  if (json_is_object(cfg))
    json_object_set_new(cfg, "Image", json_string(s->id)); /* docker's: the parent */
  json_t *h = json_pack("{s:s,s:s}", "created", now, "created_by", created_by);
  if (!diff_id) json_object_set_new(h, "empty_layer", json_true());
  json_t *hist = json_object_get(img, "history");
  if (!json_is_array(hist)) json_object_set_new(img, "history", hist = json_array());
  json_array_append_new(hist, h);
  if (diff_id) {
    json_t *rootfs = json_object_get(img, "rootfs");
    if (!json_is_object(rootfs))
      json_object_set_new(img, "rootfs",
                          rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids"));
    json_array_append_new(json_object_get(rootfs, "diff_ids"), json_string(diff_id));
  }
  char *raw = json_dumps(img, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(img);
  char id[DIGEST_LEN + 1];
  int r = store_add_image(&b->d->images, raw, strlen(raw), s->id, id, err);
  free(raw);
  if (r == 0) r = bstage_set(b, s, id, err);
  if (r == 0) bsay(b, " ---> %.12s\n", s->id + 7);
  return r;
}

/* ---------------- config-only instructions ---------------- */

static void env_set(json_t *config, const char *k, const char *v) {
  json_t *env = json_object_get(config, "Env");
  if (!json_is_array(env)) json_object_set_new(config, "Env", env = json_array());
  size_t kl = strlen(k), i;
  json_t *e;
  cleanup_free char *entry = xasprintf("%s=%s", k, v);
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e) ?: "";
    if (!strncmp(s, k, kl) && s[kl] == '=') {
      json_array_set_new(env, i, json_string(entry));
      return;
    }
  }
  json_array_append_new(env, json_string(entry));
}

static json_t *obj_member(json_t *config, const char *key) {
  json_t *o = json_object_get(config, key);
  if (!json_is_object(o)) json_object_set_new(config, key, o = json_object());
  return o;
}

/* CMD/ENTRYPOINT/the shell form of RUN: the JSON array, or SHELL + text */
json_t *bcommand(struct bstage *s, const struct df_instr *in) {
  if (in->json) {
    json_t *a = json_array();
    for (size_t i = 0; i < in->n_args; i++)
      json_array_append_new(a, json_string(in->args[i]));
    return a;
  }
  json_t *sh = json_object_get(bconfig(s), "Shell");
  json_t *a = json_array_size(sh) ? json_deep_copy(sh) : json_pack("[s,s]", "/bin/sh", "-c");
  if (*in->rest) json_array_append_new(a, json_string(in->rest)); /* dockerd's: none when empty */
  return a;
}

/* words of the instruction: its JSON array, or its text split and expanded */
static char **words_of(struct bstage *s, const struct df_instr *in, char escape, size_t *n,
                       struct berth_err *err) {
  if (in->json) {
    char **w = xcalloc(in->n_args + 1, sizeof *w);
    for (size_t i = 0; i < in->n_args; i++)
      w[i] = xstrdup(in->args[i]);
    *n = in->n_args;
    return w;
  }
  json_t *vars = bvars(s);
  char **w = df_words(in->rest, escape, vars, n, err);
  json_decref(vars);
  return w;
}

static int meta_pairs(struct build *b, struct bstage *s, const struct df_instr *in, bool env,
                      struct berth_err *err) {
  json_t *vars = bvars(s), *pairs = json_object();
  int r = df_pairs(env ? "ENV" : "LABEL", in->rest, b->df.escape, vars, true, pairs, err);
  const char *k;
  json_t *v;
  json_object_foreach(pairs, k, v) {
    if (env)
      env_set(bconfig(s), k, json_string_value(v));
    else
      json_object_set(obj_member(bconfig(s), "Labels"), k, v);
  }
  json_decref(pairs);
  json_decref(vars);
  return r;
}

static int meta_healthcheck(struct bstage *s, const struct df_instr *in, struct berth_err *err) {
  json_t *hc = df_healthcheck(in, err);
  if (!hc) return -err->code;
  json_object_set_new(bconfig(s), "Healthcheck", hc);
  return 0;
}

/* the instructions that change only the config; 1: not one of them */
static int meta(struct build *b, struct bstage *s, const struct df_instr *in,
                struct berth_err *err) {
  json_t *cfg = bconfig(s);
  const char *c = in->cmd;
  if (!strcmp(c, "arg")) return 0; /* its value is in s->args already (stages.c) */
  if (!strcmp(c, "env") || !strcmp(c, "label")) return meta_pairs(b, s, in, c[0] == 'e', err);
  if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint")) {
    bool ep = c[0] == 'e';
    /* an empty ENTRYPOINT clears it (dockerd's); an empty CMD is the shell alone */
    bool clear = ep && !in->json && !*in->rest;
    json_object_set_new(cfg, ep ? "Entrypoint" : "Cmd", clear ? json_null() : bcommand(s, in));
    if (ep && !s->cmd_set) json_object_set_new(cfg, "Cmd", json_null());
    if (!ep) s->cmd_set = true;
    return 0;
  }
  if (!strcmp(c, "shell")) {
    if (!in->json)
      return berth_err_set(err, BERTH_EINVAL, 0, "SHELL requires the arguments to be in JSON form");
    json_object_set_new(cfg, "Shell", bcommand(s, in));
    return 0;
  }
  if (!strcmp(c, "healthcheck")) return meta_healthcheck(s, in, err);
  if (!strcmp(c, "onbuild")) {
    json_t *ob = json_object_get(cfg, "OnBuild");
    if (!json_is_array(ob)) json_object_set_new(cfg, "OnBuild", ob = json_array());
    json_array_append_new(ob, json_string(in->rest));
    return 0;
  }
  if (!strcmp(c, "maintainer")) {
    json_object_set_new(s->img, "author", json_string(in->rest));
    return 0;
  }
  size_t n;
  char **w = NULL;
  if (!strcmp(c, "expose") || !strcmp(c, "volume")) {
    if (!(w = words_of(s, in, b->df.escape, &n, err))) return -err->code;
    json_t *o = obj_member(cfg, c[0] == 'e' ? "ExposedPorts" : "Volumes");
    for (size_t i = 0; i < n; i++) {
      cleanup_free char *k =
          c[0] == 'e' && !strchr(w[i], '/') ? xasprintf("%s/tcp", w[i]) : xstrdup(w[i]);
      json_object_set_new(o, k, json_object());
    }
    df_words_free(w, n);
    return 0;
  }
  if (strcmp(c, "user") && strcmp(c, "stopsignal") && strcmp(c, "workdir")) return 1;
  json_t *vars = bvars(s);
  cleanup_free char *v = df_expand(in->rest, b->df.escape, vars, err);
  json_decref(vars);
  if (!v) return -err->code;
  const char *key = c[0] == 'u' ? "User" : c[0] == 's' ? "StopSignal" : "WorkingDir";
  if (c[0] == 'w' && v[0] != '/') { /* relative to the one before */
    const char *cur = json_string_value(json_object_get(cfg, "WorkingDir")) ?: "";
    char *abs = xasprintf("%s/%s", *cur ? cur : "", v);
    json_object_set_new(cfg, key, json_string(abs));
    free(abs);
  } else {
    json_object_set_new(cfg, key, json_string(v));
  }
  return 0;
}

char *bnop(struct bstage *s) {
  json_t *sh = json_object_get(bconfig(s), "Shell");
  struct strbuf b = {0};
  if (!json_array_size(sh)) strbuf_str(&b, "/bin/sh -c");
  size_t i;
  json_t *w;
  json_array_foreach(sh, i, w) {
    if (i) strbuf_str(&b, " ");
    strbuf_str(&b, json_string_value(w) ?: "");
  }
  strbuf_str(&b, " #(nop) ");
  return b.s;
}

/* Go's %q of one string (strconv.Quote), for ASCII's escapes */
static void go_quote(struct strbuf *b, const char *v, char q) {
  static const char esc[] = "\a\b\f\n\r\t\v", let[] = "abfnrtv";
  char c[8];
  strbuf_add(b, &q, 1);
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    const char *e = *p ? strchr(esc, *p) : NULL;
    if (e)
      snprintf(c, sizeof c, "\\%c", let[e - esc]);
    else if (*p == (unsigned char)q || *p == '\\')
      snprintf(c, sizeof c, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      snprintf(c, sizeof c, "\\x%02x", *p);
    else
      snprintf(c, sizeof c, "%c", *p);
    strbuf_str(b, c);
  }
  strbuf_add(b, &q, 1);
}

/* a string array as Go prints it: %q ["a" "b"], or %v [a b] */
static void go_list(struct strbuf *b, json_t *a, bool quoted) {
  strbuf_str(b, "[");
  size_t i;
  json_t *w;
  json_array_foreach(a, i, w) {
    if (i) strbuf_str(b, " ");
    if (quoted)
      go_quote(b, json_string_value(w) ?: "", '"');
    else
      strbuf_str(b, json_string_value(w) ?: "");
  }
  strbuf_str(b, "]");
}

/* Go's time.Duration.String of ns nanoseconds: 0s, 500ms, 1m30s, 1h0m0s */
static void go_duration(struct strbuf *b, json_int_t ns) {
  char t[64];
  if (ns == 0) {
    strbuf_str(b, "0s");
    return;
  }
  if (ns < 1000000000) {
    static const struct {
      json_int_t unit;
      const char *name;
    } u[] = {{1000000, "ms"}, {1000, "µs"}, {1, "ns"}};
    size_t k = 0;
    while (ns < u[k].unit)
      k++;
    snprintf(t, sizeof t, "%.9g%s", (double)ns / (double)u[k].unit, u[k].name);
    strbuf_str(b, t);
    return;
  }
  json_int_t h = ns / 3600000000000LL, m = ns / 60000000000LL % 60;
  double sec = (double)(ns % 60000000000LL) / 1e9;
  if (h)
    snprintf(t, sizeof t, "%lldh%lldm%.9gs", (long long)h, (long long)m, sec);
  else if (m)
    snprintf(t, sizeof t, "%lldm%.9gs", (long long)m, sec);
  else
    snprintf(t, sizeof t, "%.9gs", sec);
  strbuf_str(b, t);
}

/* HEALTHCHECK's history as docker 20.10 writes it: Go's %q of its
 * HealthConfig, &{["CMD-SHELL" "true"] "5s" "2s" "0s" '\x02'} (the retries
 * an int printed as a character) */
static void go_healthcheck(struct strbuf *b, json_t *hc) {
  strbuf_str(b, "&{");
  go_list(b, json_object_get(hc, "Test"), true);
  static const char *const durs[] = {"Interval", "Timeout", "StartPeriod"};
  for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
    strbuf_str(b, " \"");
    go_duration(b, json_integer_value(json_object_get(hc, durs[i])));
    strbuf_str(b, "\"");
  }
  char r[2] = {(char)(json_integer_value(json_object_get(hc, "Retries")) & 0x7f), 0};
  strbuf_str(b, " ");
  if (r[0])
    go_quote(b, r, '\'');
  else
    strbuf_str(b, "'\\x00'");
  strbuf_str(b, "}");
}

/* EXPOSE's history: this instruction's ports, proto added, sorted */
/* the history line of a config-only step, docker's words for it (Go's
 * printing of what the step set), after the SHELL in force */
static char *meta_line(struct build *b, struct bstage *s, const struct df_instr *in) {
  json_t *cfg = bconfig(s);
  const char *c = in->cmd;
  cleanup_free char *up = xstrdup(c);
  for (char *p = up; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  struct strbuf l = {0};
  char *nop = bnop(s);
  strbuf_str(&l, nop);
  free(nop);
  if (!strcmp(c, "workdir")) {
    strbuf_str(&l, "WORKDIR ");
    strbuf_str(&l, json_string_value(json_object_get(cfg, "WorkingDir")) ?: "");
    return l.s;
  }
  strbuf_str(&l, " ");
  strbuf_str(&l, up);
  if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint") || !strcmp(c, "shell")) {
    strbuf_str(&l, " ");
    go_list(&l,
            json_object_get(cfg, c[0] == 'c'   ? "Cmd"
                                 : c[0] == 'e' ? "Entrypoint"
                                               : "Shell"),
            c[0] != 's');
    return l.s;
  }
  if (!strcmp(c, "healthcheck")) {
    strbuf_str(&l, " ");
    go_healthcheck(&l, json_object_get(cfg, "Healthcheck"));
    return l.s;
  }
  size_t n;
  struct berth_err e = {0};
  char **w = NULL;
  if ((!strcmp(c, "expose") || !strcmp(c, "volume")) &&
      (w = words_of(s, in, b->df.escape, &n, &e))) {
    for (size_t i = 0; c[0] == 'e' && i < n; i++)
      if (!strchr(w[i], '/')) {
        char *t = xasprintf("%s/tcp", w[i]);
        free(w[i]);
        w[i] = t;
      }
    if (c[0] == 'e') qsort(w, n, sizeof *w, strp_cmp);
    strbuf_str(&l, c[0] == 'e' ? " " : " [");
    for (size_t i = 0; i < n; i++) {
      if (i) strbuf_str(&l, " ");
      strbuf_str(&l, w[i]);
    }
    if (c[0] == 'v') strbuf_str(&l, "]");
    df_words_free(w, n);
    return l.s;
  }
  if (!strcmp(c, "env") || !strcmp(c, "label")) { /* the resolved values: the cache's key */
    json_t *vars = bvars(s), *pairs = json_object();
    df_pairs(c[0] == 'e' ? "ENV" : "LABEL", in->rest, '\\', vars, true, pairs, &e);
    const char *k;
    json_t *v;
    json_object_foreach(pairs, k, v) {
      strbuf_str(&l, " ");
      strbuf_str(&l, k);
      strbuf_str(&l, "=");
      strbuf_str(&l, json_string_value(v) ?: "");
    }
    json_decref(pairs);
    json_decref(vars);
    return l.s;
  }
  json_t *vars = bvars(s);
  cleanup_free char *v = df_expand(in->rest, '\\', vars, &e);
  json_decref(vars);
  strbuf_str(&l, " ");
  strbuf_str(&l, v ? v : in->rest);
  return l.s;
}

/* one config-only step: cached, or a new config-only image */
int bmeta_step(struct build *b, struct bstage *s, const struct df_instr *in,
               struct berth_err *err) {
  json_t *before = json_deep_copy(s->img);
  int r = meta(b, s, in, err);
  if (r > 0) r = berth_err_set(err, BERTH_EINVAL, 0, "unknown instruction: %s", in->cmd);
  if (r != 0) {
    json_decref(s->img);
    s->img = before;
    return r;
  }
  cleanup_free char *line = meta_line(b, s, in);
  json_t *after = s->img;
  s->img = before;
  if (bcache(b, s, line)) {
    json_decref(after);
    return 0;
  }
  json_decref(s->img);
  s->img = after;
  if (!strcmp(in->cmd, "workdir")) {
    const char *dir = json_string_value(json_object_get(bconfig(s), "WorkingDir"));
    return step_mkdir(b, s, dir, line, err);
  }
  return bcommit(b, s, line, NULL, err);
}
