/* A build from start to end (builder.h): the context's Dockerfile and
 * .dockerignore, the stages (FROM, its ONBUILD triggers, ARG scoping), each
 * instruction dispatched, --target, labels, tags and docker's closing lines. */
#include <ctype.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include "../image/layer.h"
#include "../image/reference.h"
#include "../image/registry.h"
#include "../image/store.h"
#include "../runtime/runtime.h"
#include "build.h"

static void quiet_status(void *ctx, const char *id, const char *text) {
  struct build *b = ctx;
  if (!id) bsay(b, "%s\n", text);
}
static void quiet_bytes(void *ctx, const char *a, const char *id, uint64_t c, uint64_t t) {
  (void)ctx, (void)a, (void)id, (void)c, (void)t;
}
static void pull_stream(void *ctx, const char *text) {
  bsay(ctx, "%s", text);
}
static void pull_aux(void *ctx, json_t *aux) {
  (void)ctx;
  json_decref(aux);
}

/* FROM's image: local, or pulled (always with --pull) */
static int from_image(struct build *b, const char *name, char id[DIGEST_LEN + 1],
                      struct berth_err *err) {
  struct image_ref ref;
  if (ref_parse(name, true, &ref, err) < 0) return -err->code;
  cleanup_free char *canon = ref_canonical(&ref);
  struct image_store *st = &b->d->images;
  pthread_mutex_lock(&st->lock);
  struct image *im = store_lookup_locked(st, canon);
  if (!im) im = store_lookup_locked(st, name);
  if (im) memcpy(id, im->id, DIGEST_LEN + 1);
  pthread_mutex_unlock(&st->lock);
  int r = 0;
  if (!im || b->o->pull) {
    struct xfer_progress pr = {b, quiet_status, quiet_bytes, pull_stream, pull_aux};
    r = image_pull(b->d, &ref, NULL, NULL, &pr, id, err);
  }
  ref_free(&ref);
  return r;
}

static int run_instr(struct build *b, struct bstage *s, const struct df_instr *in,
                     struct berth_err *err);

/* the image's ONBUILD triggers, run now, then forgotten (docker's rule) */
static int triggers(struct build *b, struct bstage *s, struct berth_err *err) {
  json_t *ob = json_deep_copy(json_object_get(bconfig(s), "OnBuild"));
  size_t n = json_array_size(ob);
  if (n) bsay(b, "# Executing %zu build trigger%s\n", n, n > 1 ? "s" : "");
  if (n) json_object_set_new(bconfig(s), "OnBuild", json_null());
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    const char *t = json_string_value(json_array_get(ob, i)) ?: "";
    struct dockerfile df;
    r = df_parse(t, strlen(t), &df, err);
    for (size_t k = 0; r == 0 && k < df.n; k++) {
      if (!strcmp(df.v[k].cmd, "from") || !strcmp(df.v[k].cmd, "onbuild"))
        r = berth_err_set(err, BERTH_EINVAL, 0, "%s isn't allowed as an ONBUILD trigger",
                          df.v[k].cmd);
      else
        r = run_instr(b, s, &df.v[k], err);
    }
    if (r == 0 || df.n) df_free(&df);
  }
  json_decref(ob);
  return r;
}

/* docker's builder gives a stage a PATH when its image has none (an
 * imported root, scratch): its RUNs and the image made find programs */
static void default_path(struct bstage *s) {
  json_t *env = json_object_get(bconfig(s), "Env");
  size_t i;
  json_t *e;
  json_array_foreach(env, i, e) if (!strncmp(json_string_value(e) ?: "", "PATH=", 5)) return;
  if (!json_is_array(env)) json_object_set_new(bconfig(s), "Env", env = json_array());
  json_array_append_new(env, json_string("PATH=" RT_DEFAULT_PATH));
}

static int stage_from(struct build *b, const struct df_instr *in, struct berth_err *err) {
  json_t *vars = json_deep_copy(b->meta_args);
  size_t n;
  char **w = df_words(in->rest, b->df.escape, vars, &n, err);
  json_decref(vars);
  if (!w) return -err->code;
  int r = 0;
  if (!n || !*w[0]) { /* an ARG that expands to nothing: dockerd names the word as written */
    int l = (int)strcspn(in->rest, " \t");
    r = berth_err_set(err, BERTH_EINVAL, 0, "base name (%.*s) should not be blank", l, in->rest);
  } else if (n != 1 && !(n == 3 && !strcasecmp(w[1], "as")))
    r = berth_err_set(err, BERTH_EINVAL, 0, "FROM requires either one or three arguments");
  b->st = xrealloc(b->st, (b->n_st + 1) * sizeof *b->st);
  struct bstage *s = &b->st[b->n_st++];
  memset(s, 0, sizeof *s);
  s->args = json_object();
  if (r == 0 && n == 3) {
    snprintf(s->name, sizeof s->name, "%s", w[2]);
    for (char *p = s->name; *p; p++)
      *p = (char)tolower((unsigned char)*p);
  }
  const struct bstage *prev = NULL;
  for (size_t i = 0; r == 0 && i + 1 < b->n_st; i++)
    if (*b->st[i].name && !strcasecmp(b->st[i].name, w[0])) prev = &b->st[i];
  char id[DIGEST_LEN + 1] = "";
  if (r == 0 && prev) {
    memcpy(s->id, prev->id, sizeof s->id);
    s->img = json_deep_copy(prev->img);
  } else if (r == 0 && !strcasecmp(w[0], "scratch")) {
    s->img = bscratch();
  } else if (r == 0 && (r = from_image(b, w[0], id, err)) == 0) {
    r = bstage_set(b, s, id, err);
  }
  df_words_free(w, n);
  if (r == 0 && !s->img) s->img = bscratch();
  if (r == 0) default_path(s);
  if (r == 0) bsay(b, " ---> %.12s\n", *s->id ? s->id + 7 : "scratch");
  if (r == 0) r = triggers(b, s, err);
  return r;
}

/* ARG NAME[=default]: the build arg, the default, or (redeclared in a
 * stage) the value before FROM */
static int stage_arg(struct build *b, struct bstage *s, const struct df_instr *in,
                     struct berth_err *err) {
  json_t *vars = s ? bvars(s) : json_deep_copy(b->meta_args);
  size_t n;
  char **w = df_words(in->rest, b->df.escape, vars, &n, err);
  json_decref(vars);
  if (!w) return -err->code;
  for (size_t i = 0; i < n; i++) {
    char *eq = strchr(w[i], '=');
    if (eq) *eq = 0;
    json_t *given = json_object_get(b->o->buildargs, w[i]);
    json_t *meta = s ? json_object_get(b->meta_args, w[i]) : NULL;
    json_t *v = json_is_string(given) ? json_incref(given)
                : eq                  ? json_string(eq + 1)
                : meta                ? json_incref(meta)
                                      : NULL;
    if (json_is_string(given)) json_object_set_new(b->used_args, w[i], json_true());
    if (v) json_object_set_new(s ? s->args : b->meta_args, w[i], v);
  }
  df_words_free(w, n);
  return s ? bmeta_step(b, s, in, err) : 0;
}

static int run_instr(struct build *b, struct bstage *s, const struct df_instr *in,
                     struct berth_err *err) {
  /* RUN --mount: known to dockerd's classic builder and refused when the
   * step runs (never ignored: a cache or secret the RUN would lack).
   * COPY/ADD --chmod, which dockerd refuses the same way, berth applies. */
  if (df_flag(in, "mount"))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "the --mount option requires BuildKit. Refer to "
                         "https://docs.docker.com/go/buildkit/ to learn how to build images "
                         "with BuildKit enabled");
  if (!strcmp(in->cmd, "arg")) return stage_arg(b, s, in, err);
  if (!strcmp(in->cmd, "run")) return step_run(b, s, in, err);
  if (!strcmp(in->cmd, "copy") || !strcmp(in->cmd, "add"))
    return step_copy(b, s, in, in->cmd[0] == 'a', err);
  return bmeta_step(b, s, in, err);
}

/* the instructions to run: up to the end of the --target stage */
static int plan(struct build *b, size_t *end, struct berth_err *err) {
  *end = b->df.n;
  bool targeted = b->o->target && *b->o->target;
  bool found = !targeted, in_stage = false;
  for (size_t i = 0; i < b->df.n; i++) {
    const struct df_instr *in = &b->df.v[i];
    if (!strcmp(in->cmd, "from")) {
      if (targeted && found && in_stage) {
        *end = i;
        break;
      }
      in_stage = true;
      const char *as = strcasestr(in->rest, " as ");
      if (!found && as && !strcasecmp(as + 4 + strspn(as + 4, " \t"), b->o->target)) found = true;
    } else if (!in_stage && strcmp(in->cmd, "arg")) {
      return berth_err_set(err, BERTH_EINVAL, 0, "no build stage in current context");
    }
  }
  if (!found)
    return berth_err_set(err, BERTH_EINVAL, 0, "failed to reach build target %s in Dockerfile",
                         b->o->target);
  b->n_steps = (int)*end;
  return 0;
}

static int read_files(struct build *b, struct berth_err *err) {
  const char *name = b->o->dockerfile && *b->o->dockerfile ? b->o->dockerfile : "Dockerfile";
  cleanup_free char *path = xasprintf("/%s", name);
  size_t len;
  cleanup_free char *text = rt_read_in_root(b->ctxfd, path, 64 << 20, &len, err);
  if (!text)
    return berth_err_set(err, BERTH_EINVAL, 0, "Cannot locate specified Dockerfile: %s", name);
  if (!len) return berth_err_set(err, BERTH_EINVAL, 0, "the Dockerfile (%s) cannot be empty", name);
  struct berth_err e = {0};
  size_t ilen;
  cleanup_free char *ign = rt_read_in_root(b->ctxfd, "/.dockerignore", 1 << 20, &ilen, &e);
  b->ig = ignore_parse(ign);
  int r = df_parse(text, len, &b->df, err);
  return r == 0 ? df_check(&b->df, err) : r;
}

int build_check(int ctxfd, const struct build_opts *o, struct berth_err *err) {
  struct build b = {.o = o, .ctxfd = ctxfd};
  size_t end;
  int r = read_files(&b, err);
  if (r == 0) r = plan(&b, &end, err); /* --target's stage, before the stream as dockerd's */
  df_free(&b.df);
  ignore_free(b.ig);
  return r;
}

/* labels, tags, docker's closing lines */
static int finish(struct build *b, struct bstage *s, char id[DIGEST_LEN + 1],
                  struct berth_err *err) {
  int r = 0;
  if (json_object_size(b->o->labels)) {
    const char *k;
    json_t *v;
    cleanup_free char *nop = bnop(s);
    cleanup_free char *line = xasprintf("%s LABEL", nop);
    json_t *labels = json_object_get(bconfig(s), "Labels");
    if (!json_is_object(labels)) json_object_set_new(bconfig(s), "Labels", labels = json_object());
    json_object_foreach(b->o->labels, k, v) {
      json_object_set(labels, k, v);
      char *t = xasprintf("%s %s=%s", line, k, json_string_value(v) ?: "");
      free(line);
      line = t;
    }
    if (!bcache(b, s, line)) r = bcommit(b, s, line, NULL, err);
  }
  if (r == 0 && !*s->id) {
    cleanup_free char *nop = bnop(s);
    r = bcommit(b, s, nop, NULL, err);
  }
  if (r < 0) return r;
  memcpy(id, s->id, DIGEST_LEN + 1);
  const char *k;
  json_t *v;
  json_object_foreach(b->o->buildargs, k, v) if (!json_object_get(b->used_args, k)) {
    static const char *const proxy[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                        "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy"};
    bool predefined = false;
    for (size_t i = 0; i < ARRAY_SIZE(proxy); i++)
      predefined |= !strcmp(k, proxy[i]);
    if (!predefined) bsay(b, "[Warning] One or more build-args [%s] were not consumed\n", k);
  }
  b->out->aux(b->out->ctx, json_pack("{s:s}", "ID", id));
  bsay(b, "Successfully built %.12s\n", id + 7);
  size_t i;
  json_array_foreach(b->o->tags, i, v) {
    struct image_ref ref;
    if ((r = ref_parse(json_string_value(v) ?: "", true, &ref, err)) < 0) break;
    r = store_tag_event(&b->d->images, id, &ref, err);
    cleanup_free char *fam = ref_familiar(&ref);
    ref_free(&ref);
    if (r < 0) break;
    bsay(b, "Successfully tagged %s\n", fam);
  }
  return r;
}

static int run_all(struct build *b, char id[DIGEST_LEN + 1], struct berth_err *err) {
  size_t end;
  int r = plan(b, &end, err);
  for (size_t i = 0; r == 0 && i < end; i++) {
    const struct df_instr *in = &b->df.v[i];
    if ((r = bcancelled(b, err)) < 0) break;
    bsay(b, "Step %d/%d : %s\n", ++b->step, b->n_steps, in->original);
    if (!strcmp(in->cmd, "from"))
      r = stage_from(b, in, err);
    else
      r = run_instr(b, b->n_st ? &b->st[b->n_st - 1] : NULL, in, err);
  }
  if (r == 0 && !b->n_st)
    r = berth_err_set(err, BERTH_EINVAL, 0, "no build stage in current context");
  if (r == 0) r = finish(b, &b->st[b->n_st - 1], id, err);
  return r;
}

int build_image(struct daemon *d, int ctxfd, const struct build_opts *o,
                const struct build_out *out, char id[DIGEST_LEN + 1], struct berth_err *err) {
  struct build b = {.d = d,
                    .o = o,
                    .out = out,
                    .ctxfd = ctxfd,
                    .meta_args = json_object(),
                    .used_args = json_object()};
  int r = read_files(&b, err);
  if (r == 0) r = run_all(&b, id, err);
  for (size_t i = 0; i < b.n_st; i++) {
    json_decref(b.st[i].img);
    json_decref(b.st[i].args);
  }
  free(b.st);
  df_free(&b.df);
  ignore_free(b.ig);
  json_decref(b.meta_args);
  json_decref(b.used_args);
  return r;
}

int build_context_of(pid_t pid, const char *path, struct berth_err *err) {
  if (path[0] != '/')
    return berth_err_set(err, BERTH_EINVAL, 0, "berthcontext: an absolute path, not %s", path);
  char root[64];
  snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
  cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = rootfd >= 0 ? rt_openat_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0) : -1;
  return fd >= 0 ? fd : err_sys(err, BERTH_EINVAL, "berthcontext %s", path);
}

/* The docker CLI's context tar for a Dockerfile outside the context (its
 * ReplaceFileTarWrapper) ends without the last entry's padding and without
 * the two zero blocks; dockerd's reader lets that pass.  This reader ends
 * the last block and adds the end marker at EOF, so libarchive does too. */
struct padded {
  int fd;
  uint64_t total;
  size_t pad; /* zeros still to give */
  bool eof, compressed;
};

static ssize_t padded_read(void *ctx, void *buf, size_t len) {
  struct padded *p = ctx;
  if (!p->eof) {
    ssize_t n = fd_reader_read(&p->fd, buf, len);
    if (n > 0 && !p->total) { /* gzip, bzip2, xz, zstd: left as they are */
      const unsigned char *b = buf;
      p->compressed = (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) ||
                      (n >= 3 && !memcmp(b, "BZh", 3)) || (n >= 2 && b[0] == 0xfd && b[1] == '7') ||
                      (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd);
    }
    if (n != 0) {
      if (n > 0) p->total += (uint64_t)n;
      return n;
    }
    p->eof = true;
    p->pad = p->compressed ? 0 : (p->total % 512 ? 512 - p->total % 512 : 0) + 1024;
  }
  size_t n = p->pad < len ? p->pad : len;
  memset(buf, 0, n);
  p->pad -= n;
  return (ssize_t)n;
}

char *build_receive(struct daemon *d, int fd, struct berth_err *err) {
  struct padded pr = {fd, 0, 0, false, false};
  struct berth_reader in = BERTH_READER(&pr, padded_read);
  cleanup_free char *parent = xasprintf("%s/build", d->cfg.data_root);
  return untar_to_new_dir(&in, parent, "ctx", "the build context", err);
}
