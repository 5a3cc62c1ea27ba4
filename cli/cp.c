/* berth cp, as docker's: CONTAINER:SRC to a host path or "-" (the tar on
 * stdout), a host path or "-" (a tar on stdin) to CONTAINER:DEST.  The
 * destination decides the shape, as docker's CopyTo does: into an existing
 * directory under the source's name; else to the destination's name in its
 * parent.  "dir/." copies what the directory holds.  Tars stream through a
 * pipe between a thread and the HTTP transfer: nothing is held in memory. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "cli.h"

#define USAGE                                                                                      \
  "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"                                            \
  "\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"

struct cp_opts {
  bool archive, follow, quiet;
};

/* "ctr:path"; a path that starts with / or . is the host's */
static char *container_of(const char *arg, const char **path) {
  const char *colon = strchr(arg, ':');
  if (arg[0] == '/' || arg[0] == '.' || !colon || colon == arg) return NULL;
  *path = colon + 1;
  return xasprintf("%.*s", (int)(colon - arg), arg);
}

static char *base_name(const char *p) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  size_t b = n;
  while (b > 0 && p[b - 1] != '/')
    b--;
  return xasprintf("%.*s", (int)(n - b), p + b);
}

static char *dir_name(const char *p) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  while (n > 0 && p[n - 1] != '/')
    n--;
  while (n > 1 && p[n - 1] == '/')
    n--;
  return n ? xasprintf("%.*s", (int)n, p) : xstrdup(".");
}

static bool ends_dir(const char *p) {
  size_t n = strlen(p);
  return n && p[n - 1] == '/';
}

static bool ends_dot(const char *p) {
  size_t n = strlen(p);
  return !strcmp(p, ".") || (n >= 2 && !strcmp(p + n - 2, "/."));
}

/* ---------------- the container side's stat ---------------- */

struct cstat {
  bool exists, dir, link;
  char target[4096];
};

static char *archive_path(const char *ctr, const char *path, const char *extra) {
  cleanup_free char *c = url_escape(ctr);
  cleanup_free char *p = url_escape(path);
  return xasprintf("/containers/%s/archive?path=%s%s", c, p, extra ? extra : "");
}

/* HEAD: 0 with st (st->exists false for a 404), -1 after saying why */
static int stat_container(const char *ctr, const char *path, struct cstat *st) {
  cleanup_free char *p = archive_path(ctr, path, NULL);
  struct http_req rq = {.method = "HEAD", .path = p, .upload_fd = -1};
  struct http_resp rs;
  memset(st, 0, sizeof *st);
  if (http_do(&rq, &rs) < 0) return -1;
  int r = 0;
  if (rs.status == 200 && rs.path_stat) {
    size_t n;
    cleanup_free char *raw = base64_decode(rs.path_stat, &n);
    json_t *j = raw ? json_loadb(raw, n, 0, NULL) : NULL;
    uint32_t mode = (uint32_t)json_integer_value(json_object_get(j, "mode"));
    st->exists = true;
    st->dir = mode & 1u << 31;
    st->link = mode & 1u << 27;
    snprintf(st->target, sizeof st->target, "%s",
             json_string_value(json_object_get(j, "linkTarget")) ?: "");
    json_decref(j);
  } else if (rs.status != 404) {
    fprintf(stderr, "Error response from daemon: %s\n",
            rs.status == 409 ? "container is not running" : "cannot stat the path");
    r = -1;
  }
  http_resp_free(&rs);
  return r;
}

/* ---------------- container -> host ---------------- */

static int print_error(struct http_resp *rs) {
  cleanup_free char *m = resp_error_message(rs);
  fprintf(stderr, "Error response from daemon: %s\n", m);
  return 1;
}

static int to_fd(const char *data, size_t len, void *ctx) {
  int *fd = ctx;
  return *fd < 0 || write_all_fd(*fd, data, len) < 0 ? (*fd = -1, -1) : 0;
}

struct extract {
  int in;
  char *dir;    /* where the tar goes */
  char *rename; /* the name its top entry takes, or NULL */
  bool own;     /* -a: the tar's owners */
  char err[512];
  uint64_t bytes;
};

/* the entry's name, its top component renamed; NULL if it climbs out.
 * The container's root comes as "/" and "/bin"…: the leading "/" is its
 * top component (renamed, or the destination itself, as docker's CLI) */
static char *local_name(const char *name, const char *rename) {
  bool root = name[0] == '/';
  char *out = xstrdup(root && rename ? rename : "");
  cleanup_free char *copy = xstrdup(name);
  bool first = !root;
  for (char *save = NULL, *part = strtok_r(copy, "/", &save); part;
       part = strtok_r(NULL, "/", &save), first = false) {
    const char *use = first && rename ? rename : part;
    if (!strcmp(use, "..")) return free(out), NULL;
    if (!strcmp(use, ".")) continue;
    char *t = xasprintf("%s%s%s", out, *out ? "/" : "", use);
    free(out);
    out = t;
  }
  return out;
}

/* the parent of rel (made when missing), never through a symlink */
static int open_parent(int dirfd, const char *rel, const char **base) {
  cleanup_free char *copy = xstrdup(rel);
  char *slash = strrchr(copy, '/');
  *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
  int cur = dup(dirfd);
  if (!slash) return cur;
  *slash = 0;
  for (char *save = NULL, *part = strtok_r(copy, "/", &save); part && cur >= 0;
       part = strtok_r(NULL, "/", &save)) {
    int next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && mkdirat(cur, part, 0755) == 0)
      next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(cur);
    cur = next;
  }
  return cur;
}

static int make_local(struct extract *x, int dirfd, int pfd, const char *base,
                      const struct tar_entry *e) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !(S_ISDIR(st.st_mode) && e->type == '5'))
    if (unlinkat(pfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) return -1;
  switch (e->type) {
  case '5': return mkdirat(pfd, base, 0700) < 0 && errno != EEXIST ? -1 : 0;
  case '2': return symlinkat(e->link, pfd, base);
  case '1': {
    cleanup_free char *rel = local_name(e->link, x->rename);
    const char *tbase;
    int tp = rel ? open_parent(dirfd, rel, &tbase) : -1;
    int r = tp < 0 ? -1 : linkat(tp, tbase, pfd, base, 0);
    if (tp >= 0) close(tp);
    return r;
  }
  case '3':
  case '4':
  case '6':
    return mknodat(pfd, base,
                   (e->type == '3'   ? S_IFCHR
                    : e->type == '4' ? S_IFBLK
                                     : S_IFIFO) |
                       0600,
                   e->rdev);
  default: {
    int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = tar_copy_data(x->in, e, fd);
    if (fd >= 0) close(fd);
    return fd < 0 ? -1 : r;
  }
  }
}

static void set_local_meta(struct extract *x, int pfd, const char *base,
                           const struct tar_entry *e) {
  if (x->own && fchownat(pfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0) {
  }
  if (e->type != '2' && e->type != '1' && fchmodat(pfd, base, e->mode, 0) < 0) {
  }
  struct timespec ts[2] = {{e->mtime, 0}, {e->mtime, 0}};
  if (e->type != '1' && utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0) {
  }
}

static int extract_entry(struct extract *x, int dirfd, const struct tar_entry *e, json_t *dirs) {
  cleanup_free char *rel = local_name(e->name, x->rename);
  if (!rel) {
    snprintf(x->err, sizeof x->err, "\"%s\" is outside of \"%s\"", e->name, x->dir);
    return -1;
  }
  if (!*rel) return tar_copy_data(x->in, e, -1); /* "." : the destination itself */
  const char *base;
  int pfd = open_parent(dirfd, rel, &base);
  int r = pfd < 0 ? -1 : make_local(x, dirfd, pfd, base, e);
  if (r == 0) set_local_meta(x, pfd, base, e);
  if (r == 0 && e->type == '5') json_array_append_new(dirs, json_pack("[s,I]", rel, e->mtime));
  if (r < 0) snprintf(x->err, sizeof x->err, "%s/%s: %s", x->dir, rel, strerror(errno));
  if (pfd >= 0) close(pfd);
  if (e->type == '0' || e->type == '7' || r < 0) return r;
  return tar_copy_data(x->in, e, -1);
}

static void *extract_thread(void *p) {
  struct extract *x = p;
  int dirfd = open(x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) snprintf(x->err, sizeof x->err, "%s: %s", x->dir, strerror(errno));
  json_t *dirs = json_array();
  struct tar_entry e = {0};
  int r = dirfd < 0 ? -1 : 0;
  while (r == 0 && (r = tar_next(x->in, &e)) == 1)
    r = extract_entry(x, dirfd, &e, dirs);
  if (r < 0 && !x->err[0]) snprintf(x->err, sizeof x->err, "the archive is damaged");
  tar_entry_free(&e);
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d) { /* directory times, now that their entries are in */
    time_t t = (time_t)json_integer_value(json_array_get(d, 1));
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    if (utimensat(dirfd, json_string_value(json_array_get(d, 0)), ts, AT_SYMLINK_NOFOLLOW) < 0) {
    }
  }
  json_decref(dirs);
  if (dirfd >= 0) close(dirfd);
  char buf[65536]; /* drain: the transfer never blocks on a reader gone */
  while (read(x->in, buf, sizeof buf) > 0) {
  }
  return NULL;
}

static int counted(const char *data, size_t len, void *ctx) {
  struct extract *x = ctx;
  x->bytes += len;
  return write_all_fd(x->in, data, len) < 0 ? -1 : 0;
}

/* GET the tar into x (its reading end made here) */
static int fetch_into(const char *ctr, const char *src, struct extract *x) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return -1;
  struct extract sink = {.in = fds[1]};
  x->in = fds[0];
  pthread_t t;
  pthread_create(&t, NULL, extract_thread, x);
  cleanup_free char *p = archive_path(ctr, src, NULL);
  struct http_req rq = {
      .method = "GET", .path = p, .upload_fd = -1, .sink = counted, .sink_ctx = &sink};
  struct http_resp rs;
  int r = http_do(&rq, &rs);
  close(fds[1]);
  pthread_join(t, NULL);
  close(fds[0]);
  x->bytes = sink.bytes;
  if (r == 0 && rs.status >= 400)
    r = print_error(&rs);
  else if (r == 0 && x->err[0]) {
    fprintf(stderr, "Error: %s\n", x->err);
    r = 1;
  }
  http_resp_free(&rs);
  return r < 0 ? 1 : r;
}

/* where the tar goes and what its top entry is called */
static int plan_local(const char *dst, bool src_dir, struct extract *x) {
  struct stat st;
  int e = stat(dst, &st) == 0 ? 0 : errno;
  if (e == 0 && S_ISDIR(st.st_mode)) {
    x->dir = xstrdup(dst);
    return 0;
  }
  if (e == 0 && src_dir) return fprintf(stderr, "Error: cannot copy directory\n"), 1;
  if (e && e != ENOENT) return fprintf(stderr, "Error: stat %s: %s\n", dst, strerror(e)), 1;
  if (e && ends_dir(dst) && !src_dir)
    return fprintf(stderr, "Error: destination directory \"%s\" does not exist\n", dst), 1;
  x->dir = dir_name(dst);
  free(x->rename);
  x->rename = base_name(dst);
  if (stat(x->dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return fprintf(stderr, "Error: %s: %s\n", x->dir, strerror(errno ? errno : ENOTDIR)), 1;
  return 0;
}

/* GET the tar as it is into out (-1: only the daemon's error matters) */
static int get_raw(const char *ctr, const char *src, int out) {
  cleanup_free char *p = archive_path(ctr, src, NULL);
  struct http_req rq = {
      .method = "GET", .path = p, .upload_fd = -1, .sink = to_fd, .sink_ctx = &out};
  struct http_resp rs;
  int r = http_do(&rq, &rs) < 0 ? 1 : rs.status >= 400 ? print_error(&rs) : 0;
  http_resp_free(&rs);
  return r;
}

static int copy_from(const char *ctr, const char *src, const char *dst, const struct cp_opts *o) {
  struct cstat st;
  if (stat_container(ctr, src, &st) < 0) return 1;
  if (!st.exists) return get_raw(ctr, src, -1) ?: 1; /* the daemon's 404 says why */
  cleanup_free char *followed = NULL;
  struct extract x = {.own = o->archive};
  if (o->follow && st.link) { /* -L: what the link points to, under the link's name */
    cleanup_free char *parent = dir_name(src);
    followed = st.target[0] == '/' ? xstrdup(st.target) : xasprintf("%s/%s", parent, st.target);
    x.rename = base_name(src);
    src = followed;
    if (stat_container(ctr, src, &st) < 0) return free(x.rename), 1;
  }
  int r = !strcmp(dst, "-")             ? get_raw(ctr, src, 1)
          : plan_local(dst, st.dir, &x) ? 1
                                        : fetch_into(ctr, src, &x);
  if (r == 0 && !o->quiet && strcmp(dst, "-")) {
    char h[32];
    human_size((double)x.bytes, h, sizeof h);
    fprintf(stderr, "Successfully copied %s to %s\n", h, dst);
  }
  free(x.dir);
  free(x.rename);
  return r;
}

/* ---------------- host -> container ---------------- */

struct pack {
  struct tar_writer w;
  const char *src, *name;
  bool follow;
  int err;
};

static void *pack_thread(void *p) {
  struct pack *k = p;
  if (tar_write_tree(&k->w, k->src, k->name, k->follow) < 0 || tar_write_end(&k->w) < 0)
    k->err = errno ? errno : EIO;
  close(k->w.fd);
  return NULL;
}

/* PUT a tar into dir: stdin's, or one made from src named name */
static int upload(const char *ctr, const char *dir, const char *src, const char *name,
                  const struct cp_opts *o, uint64_t *bytes) {
  struct pack k = {.src = src, .name = name, .follow = o->follow};
  int fds[2] = {0, -1};
  pthread_t t;
  if (src) {
    if (pipe2(fds, O_CLOEXEC) < 0) return 1;
    k.w.fd = fds[1];
    pthread_create(&t, NULL, pack_thread, &k);
  }
  cleanup_free char *p = archive_path(ctr, dir,
                                      o->archive ? "&noOverwriteDirNonDir=true&copyUIDGID=true"
                                                 : "&noOverwriteDirNonDir=true");
  struct http_req rq = {
      .method = "PUT", .path = p, .upload_fd = fds[0], .content_type = "application/x-tar"};
  struct http_resp rs;
  int r = http_do(&rq, &rs) < 0 ? 1 : rs.status >= 400 ? print_error(&rs) : 0;
  http_resp_free(&rs);
  if (src) {
    close(fds[0]); /* a writer the daemon stopped reading gets EPIPE, not stuck */
    pthread_join(t, NULL);
    if (r == 0 && k.err) {
      fprintf(stderr, "Error: %s: %s\n", src, strerror(k.err));
      r = 1;
    }
  }
  *bytes = k.w.bytes;
  return r;
}

static int copy_to(const char *src, const char *ctr, const char *dst, const struct cp_opts *o) {
  struct cstat st;
  if (stat_container(ctr, dst, &st) < 0) return 1;
  cleanup_free char *followed = NULL;
  if (st.exists && st.link) { /* a link at the destination: where it points */
    cleanup_free char *parent = dir_name(dst);
    followed = st.target[0] == '/' ? xstrdup(st.target) : xasprintf("%s/%s", parent, st.target);
    dst = followed;
    if (stat_container(ctr, dst, &st) < 0) return 1;
  }
  uint64_t bytes = 0;
  if (!strcmp(src, "-")) {
    if (!st.dir) {
      fprintf(stderr, "Error: destination \"%s:%s\" must be a directory\n", ctr, dst);
      return 1;
    }
    return upload(ctr, dst, NULL, NULL, o, &bytes);
  }
  struct stat ls;
  if ((o->follow ? stat(src, &ls) : lstat(src, &ls)) < 0) {
    fprintf(stderr, "Error: %s %s: %s\n", o->follow ? "stat" : "lstat", src, strerror(errno));
    return 1;
  }
  bool src_dir = S_ISDIR(ls.st_mode);
  cleanup_free char *dir = NULL, *name = NULL;
  if (st.exists && st.dir) {
    dir = xstrdup(dst);
    name = ends_dot(src) ? xstrdup(".") : base_name(src);
  } else if (st.exists && src_dir) {
    fprintf(stderr, "Error: cannot copy directory\n");
    return 1;
  } else if (!st.exists && ends_dir(dst) && !src_dir) {
    fprintf(stderr, "Error: destination directory \"%s:%s\" does not exist\n", ctr, dst);
    return 1;
  } else {
    dir = dir_name(dst);
    name = base_name(dst);
  }
  int r = upload(ctr, dir, src, name, o, &bytes);
  if (r == 0 && !o->quiet) {
    char h[32];
    human_size((double)bytes, h, sizeof h);
    fprintf(stderr, "Successfully copied %s to %s:%s\n", h, ctr, dst);
  }
  return r;
}

int cmd_cp(int argc, char **argv) {
  struct cp_opts o = {0};
  const struct flag flags[] = {
      {"archive", 'a', F_BOOL, &o.archive, "Archive mode (copy all uid/gid information)"},
      {"follow-link", 'L', F_BOOL, &o.follow, "Always follow symbol link in SRC_PATH"},
      {"quiet", 'q', F_BOOL, &o.quiet, "Suppress progress output during copy"},
      {0}};
  PARSE(USAGE, flags);
  if (npos != 2) {
    free(pos);
    die_usage(USAGE, "\"cp\" requires exactly 2 arguments.");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  const char *spath = NULL, *dpath = NULL;
  cleanup_free char *sc = container_of(pos[0], &spath);
  cleanup_free char *dc = container_of(pos[1], &dpath);
  int r;
  if (sc && dc) {
    fprintf(stderr, "copying between containers is not supported\n");
    r = 1;
  } else if (!sc && !dc) {
    fprintf(stderr, "must specify at least one container source\n");
    r = 1;
  } else if (sc) {
    r = copy_from(sc, *spath ? spath : "/", pos[1], &o);
  } else {
    r = copy_to(pos[0], dc, *dpath ? dpath : "/", &o);
  }
  free(pos);
  return r;
}
