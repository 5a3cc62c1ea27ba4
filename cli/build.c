/* berth build, as docker's legacy builder client: the context directory
 * sent as a tar (what .dockerignore excludes left out, with the same
 * matcher berthd uses), a Dockerfile from elsewhere or from stdin added to
 * it under a name of its own, "-" a tar (or a lone Dockerfile) on stdin;
 * the daemon's stream printed as it comes. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "../core/build/ignore.h"
#include "cli.h"

#define USAGE "berth build [OPTIONS] PATH | -"

struct bctx {
  const char *dir; /* NULL: stdin's tar goes as it is */
  struct ignore *ig;
  char *df_name; /* the Dockerfile added to the tar, or NULL */
  char *df_rel;  /* the Dockerfile's name in the context */
  char *df_text;
  size_t df_len;
  struct tar_writer w;
  int err;
};

/* a context entry goes unless .dockerignore excludes it (the Dockerfile
 * and .dockerignore always go: the daemon reads them) */
static bool keep_entry(const char *name, void *ctx) {
  struct bctx *c = ctx;
  return !ignore_match(c->ig, name) || !strcmp(name, ".dockerignore") ||
         (c->df_rel && !strcmp(name, c->df_rel));
}

static void *pack_thread(void *p) {
  struct bctx *c = p;
  int r = 0;
  if (c->dir) r = tar_walk(&c->w, c->dir, "", false, keep_entry, c);
  if (r == 0 && c->df_name) r = tar_write_data(&c->w, c->df_name, c->df_text, c->df_len);
  if (r == 0) r = tar_write_end(&c->w);
  if (r < 0) c->err = errno ? errno : EIO;
  close(c->w.fd);
  return NULL;
}

static char *read_all(int fd, size_t *len) {
  size_t cap = 1 << 16;
  char *buf = xmalloc(cap + 1);
  ssize_t n;
  *len = 0;
  while ((n = read(fd, buf + *len, cap - *len)) > 0) {
    *len += (size_t)n;
    if (*len == cap) buf = xrealloc(buf, (cap *= 2) + 1);
  }
  buf[*len] = 0;
  return buf;
}

/* stdin: a tar context (plain or compressed) goes as it is; anything
 * else is a lone Dockerfile */
static int from_stdin(struct bctx *c, int *upload_fd) {
  size_t len;
  char *buf = read_all(0, &len);
  bool tar = (len > 262 && !memcmp(buf + 257, "ustar", 5)) ||
             (len > 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b);
  if (!tar) {
    c->df_name = xstrdup("Dockerfile");
    c->df_text = buf;
    c->df_len = len;
    return 0;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return free(buf), -1;
  pid_t pid = fork(); /* a writer of its own: the pipe may not hold it all */
  if (pid == 0) {
    write_all_fd(fds[1], buf, len);
    _exit(0);
  }
  close(fds[1]);
  free(buf);
  *upload_fd = fds[0];
  return pid < 0 ? -1 : 0;
}

/* -f: inside the context, its path there; elsewhere (or "-"), added to
 * the tar under a name of its own */
static int dockerfile_arg(struct bctx *c, const char *file, char **query_name) {
  if (!file) {
    *query_name = xstrdup(c->df_name ? c->df_name : "Dockerfile");
    c->df_rel = c->df_name ? NULL : xstrdup("Dockerfile");
    return 0;
  }
  char real_dir[PATH_MAX], real_file[PATH_MAX];
  if (strcmp(file, "-") && c->dir && realpath(c->dir, real_dir) && realpath(file, real_file) &&
      !strncmp(real_file, real_dir, strlen(real_dir)) && real_file[strlen(real_dir)] == '/') {
    *query_name = xstrdup(real_file + strlen(real_dir) + 1);
    c->df_rel = xstrdup(*query_name);
    return 0;
  }
  size_t len;
  char *text = !strcmp(file, "-") ? read_all(0, &len) : read_file(file, &len);
  if (!text) {
    fprintf(stderr,
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
            "lstat %s: %s\n",
            file, strerror(errno));
    return -1;
  }
  char rnd[17];
  random_hex(rnd, 8);
  c->df_name = xasprintf(".dockerfile.%s", rnd);
  c->df_text = text;
  c->df_len = len;
  *query_name = xstrdup(c->df_name);
  return 0;
}

struct build_flags {
  struct strlist tags, args, labels;
  const char *file, *target, *network;
  bool nocache, pull, quiet, rm, forcerm;
};

static char *build_query(const struct build_flags *f, const char *df) {
  json_t *args = kv_map(&f->args), *labels = kv_map(&f->labels);
  cleanup_free char *a = json_dumps(args, JSON_COMPACT), *l = json_dumps(labels, JSON_COMPACT);
  json_decref(args);
  json_decref(labels);
  cleanup_free char *ea = url_escape(a), *el = url_escape(l), *edf = url_escape(df);
  char *q = xasprintf("/build?dockerfile=%s&buildargs=%s&labels=%s&rm=1%s%s%s%s", edf, ea, el,
                      f->nocache ? "&nocache=1" : "", f->pull ? "&pull=1" : "",
                      f->quiet ? "&q=1" : "", f->forcerm ? "&forcerm=1" : "");
  const char *more[][2] = {{"target", f->target}, {"networkmode", f->network}};
  for (size_t i = 0; i < 2; i++)
    if (more[i][1]) {
      cleanup_free char *e = url_escape(more[i][1]);
      char *t = xasprintf("%s&%s=%s", q, more[i][0], e);
      free(q);
      q = t;
    }
  for (size_t i = 0; i < f->tags.n; i++) {
    cleanup_free char *e = url_escape(f->tags.v[i]);
    char *t = xasprintf("%s&t=%s", q, e);
    free(q);
    q = t;
  }
  return q;
}

static int send_build(struct bctx *c, int upload, const char *query, bool by_ref) {
  pthread_t t;
  bool packing = upload < 0 && !by_ref;
  if (packing) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return 1;
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer wake-ups; a smaller one still works */
    c->w.fd = fds[1];
    upload = fds[0];
    pthread_create(&t, NULL, pack_thread, c);
  }
  struct jsonstream js = {.tty = isatty(1), .quiet = false, .ids = json_object()};
  struct http_req rq = {.method = "POST",
                        .path = query,
                        .upload_fd = upload,
                        .content_type = "application/x-tar",
                        .sink = js_sink,
                        .sink_ctx = &js};
  struct http_resp rs;
  int rc = http_do(&rq, &rs) < 0 ? 1 : js.error;
  if (upload >= 0) close(upload);
  if (packing) pthread_join(t, NULL);
  if (rc == 0 && rs.status >= 400) {
    cleanup_free char *m = resp_error_message(&rs);
    fprintf(stderr, "Error response from daemon: %s\n", m);
    rc = 1;
  }
  if (rc == 0 && c->err) {
    fprintf(stderr, "error reading the build context: %s\n", strerror(c->err));
    rc = 1;
  }
  http_resp_free(&rs);
  free(js.buf);
  json_decref(js.ids);
  return rc;
}

int cmd_build(int argc, char **argv) {
  struct build_flags f = {0};
  const struct flag flags[] = {
      {"tag", 't', F_LIST, &f.tags, "Name and optionally a tag in the 'name:tag' format"},
      {"file", 'f', F_STRING, &f.file, "Name of the Dockerfile (Default is 'PATH/Dockerfile')"},
      {"build-arg", 0, F_LIST, &f.args, "Set build-time variables"},
      {"label", 0, F_LIST, &f.labels, "Set metadata for an image"},
      {"target", 0, F_STRING, &f.target, "Set the target build stage to build"},
      {"network", 0, F_STRING, &f.network, "Set the networking mode for the RUN instructions"},
      {"no-cache", 0, F_BOOL, &f.nocache, "Do not use cache when building the image"},
      {"pull", 0, F_BOOL, &f.pull, "Always attempt to pull a newer version of the image"},
      {"quiet", 'q', F_BOOL, &f.quiet, "Suppress the build output and print image ID on success"},
      {"rm", 0, F_BOOL, &f.rm, "Remove intermediate containers after a successful build"},
      {"force-rm", 0, F_BOOL, &f.forcerm, "Always remove intermediate containers"},
      {0}};
  PARSE(USAGE, flags);
  if (npos != 1) {
    free(pos);
    die_usage(USAGE, "\"build\" requires exactly 1 argument.");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  struct bctx c = {0};
  int upload = -1;
  struct stat st;
  int r = 0;
  if (!strcmp(pos[0], "-")) {
    r = from_stdin(&c, &upload);
  } else if (stat(pos[0], &st) < 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "unable to prepare context: path \"%s\" not found\n", pos[0]);
    r = -1;
  } else {
    c.dir = pos[0];
    cleanup_free char *ip = xasprintf("%s/.dockerignore", c.dir);
    cleanup_free char *itext = read_file(ip, NULL);
    c.ig = ignore_parse(itext);
  }
  char *df = NULL;
  if (r == 0) r = dockerfile_arg(&c, f.file, &df);
  int rc = 1;
  /* root on this host: name the directory, berthd reads it in place
   * (BERTH_BUILD_UPLOAD=1 sends the tar as any other client does) */
  char real[PATH_MAX];
  bool by_ref = r == 0 && c.dir && !c.df_name && geteuid() == 0 && !getenv("BERTH_BUILD_UPLOAD") &&
                realpath(c.dir, real);
  if (r == 0) {
    cleanup_free char *q = build_query(&f, df);
    if (by_ref) {
      cleanup_free char *e = url_escape(real);
      char *t = xasprintf("%s&berthcontext=%s", q, e);
      free(q);
      q = t;
    }
    rc = send_build(&c, upload, q, by_ref);
  }
  free(df);
  free(c.df_name);
  free(c.df_rel);
  free(c.df_text);
  ignore_free(c.ig);
  free(pos);
  return rc;
}
