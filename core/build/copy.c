/* COPY/ADD and WORKDIR's directory (build.h): layers written from their
 * sources straight into the store, no container.  Sources are read inside
 * their root (the context, less what .dockerignore excludes; another
 * stage's image; an image), every path resolved there; the entries' parent
 * directories go into the layer with the image's own metadata, so a COPY
 * into /tmp keeps /tmp's mode.  The step's history line carries a checksum
 * of what it copies (names, types, modes, owners, sizes, link targets and
 * contents; not times), which is what its cache matches. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../container/tar.h"
#include "../image/layer.h"
#include "../image/store.h"
#include "../runtime/runtime.h"
#include "../util/lazylib.h"
#include "build.h"

struct entry {
  char *name; /* in the layer, without a leading '/' */
  char *src;  /* in the source root; NULL: a directory made here */
  struct stat st;
  bool archive; /* ADD: unpack src at name */
};

struct job {
  struct entry *v;
  size_t n;
  int srcfd, imgfd; /* roots; imgfd -1: the stage has no files yet */
  uid_t uid;
  gid_t gid;
  mode_t chmod_; /* 0: the source's */
  struct ignore *ig;
  bool context; /* srcfd is the build context (not another stage's files) */
};

struct root {
  int fd;
  char sid[65]; /* the storage layer mounted for it, "" none */
};

static void root_close(struct build *b, struct root *r) {
  if (r->fd >= 0) close(r->fd);
  struct berth_err e = {0};
  if (*r->sid) store_unmount_layer(&b->d->images, r->sid, &e);
  r->fd = -1;
  r->sid[0] = 0;
}

/* the files of image id (its top layer mounted), or fd -1 for none */
static int root_of(struct build *b, const char *id, struct root *r, struct berth_err *err) {
  r->fd = -1;
  r->sid[0] = 0;
  if (!*id) return 0;
  struct image_store *st = &b->d->images;
  pthread_mutex_lock(&st->lock);
  struct image *im = store_lookup_locked(st, id);
  struct layer *l = im && *im->top_chain ? store_layer_locked(st, im->top_chain) : NULL;
  if (l) memcpy(r->sid, l->storage_id, sizeof r->sid);
  pthread_mutex_unlock(&st->lock);
  if (!im) return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", id);
  if (!l) return 0;
  char path[BERTH_STORAGE_PATH_MAX];
  if (store_mount_layer(st, r->sid, path, err) < 0) {
    r->sid[0] = 0;
    return -err->code;
  }
  r->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return r->fd < 0 ? err_sys(err, BERTH_EINTERNAL, "open %s", path) : 0;
}

/* --from: an earlier stage (by name or number) or an image */
static int from_root(struct build *b, const char *from, struct root *r, struct berth_err *err) {
  const char *id = NULL;
  char *end;
  long idx = strtol(from, &end, 10);
  if (*from && !*end && idx >= 0 && (size_t)idx + 1 < b->n_st) id = b->st[idx].id;
  for (size_t i = 0; !id && i + 1 < b->n_st; i++)
    if (*b->st[i].name && !strcasecmp(b->st[i].name, from)) id = b->st[i].id;
  char img[DIGEST_LEN + 1] = "";
  if (!id) {
    pthread_mutex_lock(&b->d->images.lock);
    struct image *im = store_lookup_locked(&b->d->images, from);
    if (im) memcpy(img, im->id, sizeof img);
    pthread_mutex_unlock(&b->d->images.lock);
    if (!*img)
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid from flag value %s: No such image", from);
    id = img;
  }
  return root_of(b, id, r, err);
}

/* a source cleaned lexically: "/a/b", never above the root */
static char *clean_src(const char *src, struct berth_err *err) {
  char *out = xstrdup("");
  cleanup_free char *copy = xstrdup(src);
  for (char *save = NULL, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (!strcmp(c, ".")) continue;
    if (!strcmp(c, "..")) {
      char *slash = strrchr(out, '/');
      if (!slash) {
        free(out);
        berth_err_set(err, BERTH_EINVAL, 0, "forbidden path outside the build context: %s ()", src);
        return NULL;
      }
      *slash = 0;
      continue;
    }
    char *t = xasprintf("%s/%s", out, c);
    free(out);
    out = t;
  }
  if (!*out) {
    free(out);
    out = xstrdup("/");
  }
  return out;
}

static bool ignored(const struct job *j, const char *path) {
  return j->ig && path[0] == '/' && path[1] && ignore_match(j->ig, path + 1);
}

/* the names in dir (inside root), sorted; NULL when it is not a directory */
static char **list_dir(int rootfd, const char *dir, size_t *n) {
  int fd = rt_openat_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  char **v = NULL;
  *n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    v = xrealloc(v, (*n + 2) * sizeof *v);
    v[(*n)++] = xstrdup(de->d_name);
  }
  closedir(d);
  if (*n) qsort(v, *n, sizeof *v, strp_cmp);
  return v ? v : xcalloc(1, sizeof *v);
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* the paths matching pattern components comps[i..] below dir */
static void match(const struct job *j, const char *dir, char **comps, size_t i, size_t nc,
                  json_t *out) {
  if (i == nc) {
    if (!ignored(j, dir)) json_array_append_new(out, json_string(dir));
    return;
  }
  bool root = !strcmp(dir, "/");
  if (!strpbrk(comps[i], "*?[")) {
    cleanup_free char *p = xasprintf("%s/%s", root ? "" : dir, comps[i]);
    int fd = rt_openat_in_root(j->srcfd, p, O_PATH, 0);
    if (fd >= 0) close(fd), match(j, p, comps, i + 1, nc, out);
    return;
  }
  size_t n;
  char **names = list_dir(j->srcfd, dir, &n);
  for (size_t k = 0; names && k < n; k++) {
    if (fnmatch(comps[i], names[k], 0)) continue;
    cleanup_free char *p = xasprintf("%s/%s", root ? "" : dir, names[k]);
    match(j, p, comps, i + 1, nc, out);
  }
  free_names(names, names ? n : 0);
}

static json_t *sources(const struct job *j, char **words, size_t n, struct berth_err *err) {
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *c = clean_src(words[i], err);
    if (!c) return json_decref(out), NULL;
    size_t before = json_array_size(out), nc = 0;
    char **comps = xcalloc(strlen(c) + 1, sizeof *comps);
    cleanup_free char *copy = xstrdup(c);
    for (char *save = NULL, *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save))
      comps[nc++] = p;
    match(j, "/", comps, 0, nc, out);
    free(comps);
    if (json_array_size(out) == before && !strpbrk(c, "*?[")) {
      json_decref(out);
      berth_err_set(err, BERTH_EINVAL, 0,
                    "COPY failed: file not found in build context or excluded by "
                    ".dockerignore: stat %s: file does not exist",
                    c + 1);
      return NULL;
    }
  }
  if (!json_array_size(out)) {
    json_decref(out);
    berth_err_set(err, BERTH_EINVAL, 0, "COPY failed: no source files were specified");
    return NULL;
  }
  return out;
}

/* ---------------- the entries ---------------- */

static void add(struct job *j, const char *name, const char *src, const struct stat *st,
                bool archive) {
  j->v = xrealloc(j->v, (j->n + 1) * sizeof *j->v);
  j->v[j->n++] = (struct entry){xstrdup(name), src ? xstrdup(src) : NULL, *st, archive};
}

/* an archive ADD unpacks: gzip, bzip2, xz or a tar */
static bool is_archive(int fd) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int in = open(proc, O_RDONLY | O_CLOEXEC);
  unsigned char h[512];
  ssize_t n = in >= 0 ? pread(in, h, sizeof h, 0) : -1;
  if (in >= 0) close(in);
  if (n >= 3 && ((h[0] == 0x1f && h[1] == 0x8b) || !memcmp(h, "BZh", 3))) return true;
  if (n >= 6 && !memcmp(h,
                        "\xfd"
                        "7zXZ",
                        5))
    return true;
  return n == 512 && !memcmp(h + 257, "ustar", 5);
}

/* src (a path in the source root) as name; a directory: what it holds */
static int add_tree(struct job *j, const char *src, const char *name, bool top, bool archives,
                    struct berth_err *err) {
  int fd = rt_openat_in_root(j->srcfd, src, O_PATH | (top ? 0 : O_NOFOLLOW), 0);
  struct stat st;
  if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH) < 0) {
    if (fd >= 0) close(fd);
    return err_sys(err, BERTH_EINVAL, "COPY failed: %s", src);
  }
  bool arch = archives && S_ISREG(st.st_mode) && is_archive(fd);
  close(fd);
  if (!S_ISDIR(st.st_mode) || !top) add(j, name, src, &st, arch);
  if (!S_ISDIR(st.st_mode)) return 0; /* a directory's own entry: its parents' rule, below */
  size_t n;
  char **names = list_dir(j->srcfd, src, &n);
  int r = 0;
  for (size_t i = 0; names && r == 0 && i < n; i++) {
    cleanup_free char *cs = xasprintf("%s/%s", strcmp(src, "/") ? src : "", names[i]);
    cleanup_free char *cn = xasprintf("%s%s%s", name, *name ? "/" : "", names[i]);
    if (!ignored(j, cs)) r = add_tree(j, cs, cn, false, false, err);
  }
  free_names(names, names ? n : 0);
  return r;
}

/* --chown user[:group]: numbers, or names the image's /etc files know */
static int owner(struct job *j, const char *spec, struct berth_err *err) {
  if (!spec || !*spec) return 0;
  char *end;
  unsigned long u = strtoul(spec, &end, 10);
  if (end != spec && (!*end || *end == ':')) {
    unsigned long g = *end ? strtoul(end + 1, &end, 10) : u;
    if (!*end) {
      j->uid = (uid_t)u;
      j->gid = (gid_t)g;
      return 0;
    }
  }
  if (j->imgfd < 0)
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "unable to convert uid/gid chown string to host mapping: no /etc/passwd for %s", spec);
  struct rt_user ru = {0};
  if (rt_resolve_user_at(j->imgfd, spec, &ru, err) < 0) return -err->code;
  j->uid = ru.uid;
  j->gid = ru.gid;
  rt_user_free(&ru);
  return 0;
}

/* the header an entry goes in with: the job's owner and --chmod */
static void header_stat(const struct job *j, const struct entry *e, struct stat *st) {
  *st = e->st;
  st->st_uid = j->uid;
  st->st_gid = j->gid;
  if (j->chmod_ && !S_ISLNK(st->st_mode)) st->st_mode = (st->st_mode & S_IFMT) | j->chmod_;
}

/* Entries' hashes, remembered by inode with the stat fields any change of
 * content moves (size, mtime and ctime to the nanosecond: ctime cannot be
 * set back) and the header hashed before the content, as git's index does:
 * a context read in place (berthcontext) is not hashed again while it has
 * not changed. */
static struct {
  pthread_mutex_t lock;
  json_t *known; /* "dev:ino head" -> "size mtime ctime hex" */
} H = {PTHREAD_MUTEX_INITIALIZER, NULL};

/* sha256 of head, then of what fd reads (fd -1: head alone) */
static int file_hash(int fd, const char *head, char hex[65]) {
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) < 0) return -1;
  if (fd < 0) memset(&st, 0, sizeof st);
  cleanup_free char *key =
      xasprintf("%lu:%lu %s", (unsigned long)st.st_dev, (unsigned long)st.st_ino, head);
  char stamp[128];
  int n = snprintf(stamp, sizeof stamp, "%lld %lld.%ld %lld.%ld ", (long long)st.st_size,
                   (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
                   st.st_ctim.tv_nsec);
  pthread_mutex_lock(&H.lock);
  const char *have = fd >= 0 ? json_string_value(json_object_get(H.known, key)) : NULL;
  bool hit = have && !strncmp(have, stamp, (size_t)n) && strlen(have) == (size_t)n + 64;
  if (hit) memcpy(hex, have + n, 65);
  pthread_mutex_unlock(&H.lock);
  if (hit) return 0;
  struct sha256_ctx *h = sha256_new();
  sha256_update(h, head, strlen(head));
  char buf[65536];
  ssize_t k = 0;
  while (fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0)
    sha256_update(h, buf, (size_t)k);
  sha256_final_hex(h, hex);
  if (k < 0 || fd < 0) return k < 0 ? -1 : 0;
  pthread_mutex_lock(&H.lock);
  if (!H.known || json_object_size(H.known) > 200000) { /* bounded: forget all, start again */
    json_decref(H.known);
    H.known = json_object();
  }
  json_object_set_new(H.known, key, json_sprintf("%s%s", stamp, hex));
  pthread_mutex_unlock(&H.lock);
  return 0;
}

static bool is_dir_in(int rootfd, const char *path);

/* where fd is in the source root, no leading '/' (a source named through
 * a link is hashed under its target's path, as dockerd resolves it) */
static char *path_in_root(const struct job *j, int fd, const char *given) {
  char rp[PATH_MAX], fp[PATH_MAX], link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", j->srcfd);
  ssize_t rl = readlink(link, rp, sizeof rp - 1);
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t fl = readlink(link, fp, sizeof fp - 1);
  if (rl <= 0 || fl <= 0) return xstrdup(given);
  rp[rl] = fp[fl] = 0;
  size_t n = strcmp(rp, "/") ? (size_t)rl : 0;
  if (strncmp(fp, rp, n) || (fp[n] && fp[n] != '/')) return xstrdup(given);
  return xstrdup(fp + n + (fp[n] == '/'));
}

/* dockerd's hash of one source entry (remotecontext's NewFileHash): its
 * tarsum v1 header, the fields' names and values run together (no mtime,
 * no user or group names), then a regular file's content.  given: its path
 * in the source root, no leading '/'.  The context's files count as
 * root's, as the docker CLI sends them; another stage's as they are. */
static int entry_hash(const struct job *j, const char *src, const char *given, char hex[65]) {
  /* links followed (in the root), the target hashed under its own path:
   * dockerd's lazySource resolves each path before its Lstat */
  cleanup_close int fd = rt_openat_in_root(j->srcfd, src, O_PATH, 0);
  struct stat st;
  if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH) < 0) return -1;
  /* a directory's name ends in '/' (moby's canonicalTarName) */
  cleanup_free char *path = path_in_root(j, fd, given);
  cleanup_free char *rel = xasprintf("%s%s", path, S_ISDIR(st.st_mode) && *path ? "/" : "");
  char link[4096] = "";
  ssize_t l = S_ISLNK(st.st_mode) ? readlinkat(fd, "", link, sizeof link - 1) : 0;
  if (l > 0) link[l] = 0;
  char tf = S_ISREG(st.st_mode)   ? '0'
            : S_ISLNK(st.st_mode) ? '2'
            : S_ISCHR(st.st_mode) ? '3'
            : S_ISBLK(st.st_mode) ? '4'
            : S_ISDIR(st.st_mode) ? '5'
                                  : '6';
  bool dev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode);
  cleanup_free char *head = xasprintf(
      "name%smode%uuid%ugid%usize%lldtypeflag%clinkname%sunamegnamedevmajor%udevminor%u", rel,
      (unsigned)(st.st_mode & 07777), j->context ? 0 : (unsigned)st.st_uid,
      j->context ? 0 : (unsigned)st.st_gid, S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL, tf,
      link, dev ? major(st.st_rdev) : 0, dev ? minor(st.st_rdev) : 0);
  cleanup_close int rd =
      S_ISREG(st.st_mode) && st.st_size > 0 ? rt_openat_in_root(j->srcfd, src, O_RDONLY, 0) : -1;
  if (S_ISREG(st.st_mode) && st.st_size > 0 && rd < 0) return -1;
  return file_hash(rd, head, hex);
}

static int by_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path, its "." and ".." taken away (never above the root) */
static char *clean_rel(const char *path) {
  cleanup_free char *p = xstrdup(path);
  char *out = xcalloc(strlen(path) + 2, 1);
  for (char *w = p, *save = NULL; (w = strtok_r(w, "/", &save)); w = NULL) {
    if (!strcmp(w, ".")) continue;
    char *slash = strrchr(out, '/');
    if (!strcmp(w, ".."))
      *(slash ? slash : out) = 0;
    else
      sprintf(out + strlen(out), "%s%s", *out ? "/" : "", w);
  }
  return out;
}

/* every entry's hash of the tree at src (itself first), as dockerd walks a
 * directory source; the ignored ones left out as the CLI leaves them out */
static int tree_hashes(const struct job *j, const char *src, const char *rel, bool top,
                       json_t *out) {
  char hex[65];
  if (entry_hash(j, src, rel, hex) == 0 && (*rel || !top)) {
    json_array_append_new(out, json_string(hex)); /* not the context's root (dockerd skips ".") */
  } else if (top && *rel) {
    return -1; /* a source that cannot be hashed fails the step */
  } else if (!top) {
    /* a link whose target is missing: its path instead of a hash (dockerd's
     * lazySource.Hash, "backwards compatibility") */
    json_array_append_new(out, json_string(rel));
  }
  /* the walk goes into directories, not through links to them */
  int fd = rt_openat_in_root(j->srcfd, src, O_PATH | (top ? 0 : O_NOFOLLOW), 0);
  struct stat st;
  bool dir = fd >= 0 && fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode);
  if (fd >= 0) close(fd);
  size_t n = 0;
  char **names = dir ? list_dir(j->srcfd, src, &n) : NULL;
  int r = 0;
  for (size_t i = 0; names && r == 0 && i < n; i++) {
    cleanup_free char *cs = xasprintf("%s/%s", strcmp(src, "/") ? src : "", names[i]);
    cleanup_free char *cr = xasprintf("%s%s%s", rel, *rel ? "/" : "", names[i]);
    if (!ignored(j, cs)) r = tree_hashes(j, cs, cr, false, out);
  }
  free_names(names, names ? n : 0);
  return r;
}

/* one source's "file:<hex>" or "dir:<hex>" (the sorted hashes of its
 * tree, joined by commas, hashed) */
static char *source_hash(const struct job *j, const char *src, struct berth_err *err) {
  cleanup_free char *rel = clean_rel(src);
  json_t *all = json_array();
  int r = tree_hashes(j, src, rel, true, all);
  char hex[65];
  struct sha256_ctx *h = sha256_new();
  size_t n = json_array_size(all);
  const char **v = xcalloc(n ? n : 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_string_value(json_array_get(all, i));
  qsort(v, n, sizeof *v, by_str);
  for (size_t i = 0; i < n; i++) {
    if (i) sha256_update(h, ",", 1);
    sha256_update(h, v[i], strlen(v[i]));
  }
  sha256_final_hex(h, hex);
  char *out = r < 0                                 ? NULL
              : n == 1 && !is_dir_in(j->srcfd, src) ? xasprintf("file:%s", v[0])
                                                    : xasprintf("dir:%s", hex);
  free(v);
  json_decref(all);
  if (!out) err_sys(err, BERTH_EINVAL, "COPY failed: %s", src);
  return out;
}

/* dockerd's hash of a step's sources (history's "COPY file:…"/"dir:…",
 * and "multi:" of several: their hashes joined by commas, hashed): the
 * step's cache key with the destination and --chown beside it */
static char *sources_hash(const struct job *j, json_t *srcs, struct berth_err *err) {
  size_t n = json_array_size(srcs);
  char **each = xcalloc(n + 1, sizeof *each);
  char *out = NULL;
  size_t i = 0;
  for (; i < n; i++)
    if (!(each[i] = source_hash(j, json_string_value(json_array_get(srcs, i)), err))) break;
  if (i == n && n == 1) {
    out = move_ptr(each[0]);
  } else if (i == n) {
    struct sha256_ctx *h = sha256_new();
    for (size_t k = 0; k < n; k++) {
      if (k) sha256_update(h, ",", 1);
      sha256_update(h, each[k], strlen(each[k]));
    }
    char hex[65];
    sha256_final_hex(h, hex);
    out = xasprintf("multi:%s", hex);
  }
  for (size_t k = 0; k < n; k++)
    free(each[k]);
  free(each);
  return out;
}

/* ---------------- the layer ---------------- */

static bool has_entry(const struct job *j, const char *name) {
  for (size_t i = 0; i < j->n; i++)
    if (!strcmp(j->v[i].name, name)) return true;
  return false;
}

/* every directory above an entry that is not an entry itself: the image's
 * own when it has it (its mode, owner, time), else a new one, 0755, owned
 * as the copy is (docker's mkdir -p with chown) */
static void add_parents(struct job *j) {
  size_t n = j->n;
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *p = xstrdup(j->v[i].name);
    for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
      *slash = 0;
      if (has_entry(j, p)) continue;
      struct stat st = {
          .st_mode = S_IFDIR | 0755, .st_uid = j->uid, .st_gid = j->gid, .st_mtime = time(NULL)};
      cleanup_free char *abs = xasprintf("/%s", p);
      int fd = j->imgfd >= 0 ? rt_openat_in_root(j->imgfd, abs, O_PATH, 0) : -1;
      struct stat ist;
      bool have = fd >= 0 && fstatat(fd, "", &ist, AT_EMPTY_PATH) == 0 && S_ISDIR(ist.st_mode);
      if (fd >= 0) close(fd);
      j->v = xrealloc(j->v, (j->n + 1) * sizeof *j->v);
      j->v[j->n++] = (struct entry){xstrdup(p), NULL, have ? ist : st, false};
    }
  }
}

static int by_entry(const void *a, const void *b) {
  return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* an archive's entries under name (ADD) */
static int unpack(struct archive *out, int fd, const char *name, struct berth_err *err) {
  struct archive *in = archive_read_new();
  if (!in) return lazylib_fail(&lazy_libarchive, err);
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
  int r = archive_read_open_fd(in, fd, 65536) == ARCHIVE_OK ? 0 : -1;
  struct archive_entry *e;
  while (r == 0 && archive_read_next_header(in, &e) == ARCHIVE_OK) {
    cleanup_free char *rel = clean_src(archive_entry_pathname(e) ?: "", err);
    const char *hl = archive_entry_hardlink(e);
    cleanup_free char *hrel = hl ? clean_src(hl, err) : NULL;
    if (!rel || (hl && !hrel)) return archive_read_free(in), -err->code;
    cleanup_free char *to = xasprintf("%s%s", name, strcmp(rel, "/") ? rel : "");
    archive_entry_set_pathname(e, to);
    if (hl) {
      cleanup_free char *hto = xasprintf("%s%s", name, hrel);
      archive_entry_set_hardlink(e, hto);
    }
    r = archive_write_header(out, e) == ARCHIVE_OK ? 0 : -1;
    const void *buf;
    size_t len;
    la_int64_t off;
    while (r == 0 && archive_read_data_block(in, &buf, &len, &off) == ARCHIVE_OK)
      if (archive_write_data(out, buf, len) != (la_ssize_t)len) r = -1;
  }
  archive_read_free(in);
  return r < 0 ? berth_err_set(err, BERTH_EINVAL, 0, "ADD: cannot unpack %s", name) : 0;
}

static int write_entry(struct archive *a, const struct job *j, const struct entry *e,
                       struct berth_err *err) {
  int fd = e->src ? rt_openat_in_root(j->srcfd, e->src, O_RDONLY | O_NOFOLLOW, 0) : -1;
  if (e->src && fd < 0 && errno == ELOOP)
    fd = rt_openat_in_root(j->srcfd, e->src, O_PATH | O_NOFOLLOW, 0);
  if (e->src && fd < 0) return err_sys(err, BERTH_EINVAL, "COPY failed: %s", e->src);
  if (e->archive) {
    int r = unpack(a, fd, e->name, err);
    close(fd);
    return r;
  }
  struct stat st;
  if (e->src)
    header_stat(j, e, &st);
  else
    st = e->st;
  struct archive_entry *ae = archive_entry_new();
  archive_entry_set_pathname(ae, e->name);
  archive_entry_copy_stat(ae, &st);
  if (!S_ISREG(st.st_mode)) archive_entry_set_size(ae, 0);
  char link[4096];
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlinkat(fd, "", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    archive_entry_set_symlink(ae, link);
  }
  int r = archive_write_header(a, ae) == ARCHIVE_OK ? 0 : -1;
  char buf[65536];
  for (ssize_t n; r == 0 && S_ISREG(st.st_mode) && (n = read(fd, buf, sizeof buf)) > 0;)
    if (archive_write_data(a, buf, (size_t)n) != n) r = -1;
  archive_entry_free(ae);
  if (fd >= 0) close(fd);
  return r < 0 ? berth_err_set(err, BERTH_EINTERNAL, 0, "the layer tar: %s",
                               archive_error_string(a) ?: "write failed")
               : 0;
}

struct writer {
  struct job *j;
  int fd;
  struct berth_err err;
  int ret;
};

static void *writer_thread(void *p) {
  struct writer *w = p;
  struct archive *a = ctar_writer(&w->fd, &w->err);
  if (!a) w->ret = -1;
  for (size_t i = 0; a && w->ret == 0 && i < w->j->n; i++)
    w->ret = write_entry(a, w->j, &w->j->v[i], &w->err);
  if (a && w->ret == 0) archive_write_close(a);
  if (a) archive_write_free(a);
  close(w->fd);
  return NULL;
}

/* the job's entries as a layer on top of the stage's image: its diff id */
static int make_layer(struct build *b, struct bstage *s, struct job *j,
                      char diff_id[DIGEST_LEN + 1], struct berth_err *err) {
  add_parents(j);
  qsort(j->v, j->n, sizeof *j->v, by_entry);
  char parent[DIGEST_LEN + 1] = "";
  pthread_mutex_lock(&b->d->images.lock);
  struct image *im = *s->id ? store_lookup_locked(&b->d->images, s->id) : NULL;
  if (im) memcpy(parent, im->top_chain, sizeof parent);
  pthread_mutex_unlock(&b->d->images.lock);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return err_sys(err, BERTH_EINTERNAL, "pipe");
  struct writer w = {j, fds[1], {0}, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, writer_thread, &w) != 0) {
    close(fds[0]);
    close(fds[1]);
    return berth_err_set(err, BERTH_EINTERNAL, 0, "cannot start a thread");
  }
  struct berth_reader in = BERTH_READER(&fds[0], fd_reader_read);
  char chain[DIGEST_LEN + 1];
  int r = store_add_layer(&b->d->images, parent, &in, NULL, chain, err);
  close(fds[0]);
  pthread_join(t, NULL);
  if (w.ret < 0) {
    *err = w.err;
    return w.ret;
  }
  pthread_mutex_lock(&b->d->images.lock);
  struct layer *l = r == 0 ? store_layer_locked(&b->d->images, chain) : NULL;
  if (l) memcpy(diff_id, l->diff_id, DIGEST_LEN + 1);
  pthread_mutex_unlock(&b->d->images.lock);
  return r;
}

static void job_free(struct job *j) {
  for (size_t i = 0; i < j->n; i++)
    free(j->v[i].name), free(j->v[i].src);
  free(j->v);
}

/* ---------------- the steps ---------------- */

/* where the sources go: into dest (a directory) or as dest */
static int plan_entries(struct job *j, json_t *srcs, const char *dest, bool into, bool add_,
                        struct berth_err *err) {
  const char *d = dest + 1; /* without the leading '/' */
  size_t dl = strlen(d);
  while (dl && d[dl - 1] == '/')
    dl--;
  size_t i;
  json_t *v;
  int r = 0;
  json_array_foreach(srcs, i, v) {
    const char *p = json_string_value(v);
    int fd = rt_openat_in_root(j->srcfd, p, O_PATH, 0);
    struct stat st;
    bool ok = fd >= 0 && fstatat(fd, "", &st, AT_EMPTY_PATH) == 0;
    bool dir = ok && S_ISDIR(st.st_mode),
         arch = add_ && ok && S_ISREG(st.st_mode) && is_archive(fd);
    if (fd >= 0) close(fd);
    const char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
    /* a directory's contents and an archive's entries go into dest */
    cleanup_free char *name = dir || arch || !into
                                  ? xasprintf("%.*s", (int)dl, d)
                                  : xasprintf("%.*s%s%s", (int)dl, d, dl ? "/" : "", base);
    if ((r = add_tree(j, p, name, true, add_, err)) < 0) break;
  }
  return r;
}

/* the destination, absolute (relative to WORKDIR) */
static char *destination(struct bstage *s, const char *w) {
  if (w[0] == '/') return xstrdup(w);
  const char *wd = json_string_value(json_object_get(bconfig(s), "WorkingDir")) ?: "";
  return xasprintf("%s/%s", strcmp(wd, "/") ? wd : "", w);
}

static bool is_dir_in(int rootfd, const char *path) {
  if (rootfd < 0) return !strcmp(path, "/");
  int fd = rt_openat_in_root(rootfd, path, O_PATH, 0);
  struct stat st;
  bool dir = fd >= 0 && fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode);
  if (fd >= 0) close(fd);
  return dir;
}

static int copy_into(struct build *b, struct bstage *s, const struct df_instr *in, bool add_,
                     char **w, size_t n, struct job *j, struct berth_err *err) {
  const char *what = add_ ? "ADD" : "COPY";
  for (size_t i = 0; add_ && i + 1 < n; i++)
    if (!strncmp(w[i], "http://", 7) || !strncmp(w[i], "https://", 8))
      return berth_err_set(err, BERTH_ENOTSUP, 0,
                           "ADD of a URL (%s) is not supported by berth's builder yet: fetch it "
                           "in a RUN step, or COPY it from the context",
                           w[i]);
  const char *cm = df_flag(in, "chmod");
  if (cm) j->chmod_ = (mode_t)strtoul(cm, NULL, 8) & 07777;
  int r = owner(j, df_flag(in, "chown"), err);
  json_t *srcs = r == 0 ? sources(j, w, n - 1, err) : NULL;
  if (!srcs) return -err->code;
  cleanup_free char *dest = destination(s, w[n - 1]);
  bool slash = dest[strlen(dest) - 1] == '/', many = json_array_size(srcs) > 1 || n > 2;
  if (many && !slash)
    r = berth_err_set(err, BERTH_EINVAL, 0,
                      "When using %s with more than one source file, the destination must be a "
                      "directory and end with a /",
                      what);
  bool into = slash || many || is_dir_in(j->imgfd, dest);
  if (r == 0) r = plan_entries(j, srcs, dest, into, add_, err);
  cleanup_free char *hash = r == 0 ? sources_hash(j, srcs, err) : NULL;
  json_decref(srcs);
  if (r < 0 || !hash) return r < 0 ? r : -err->code;
  /* docker's words: the --chown as given, run into the source's hash (its
   * missing space kept), the destination as written; --chmod (BuildKit's,
   * refused by docker's legacy builder) as --chown */
  const char *chown = df_flag(in, "chown");
  cleanup_free char *nop = bnop(s);
  cleanup_free char *line =
      xasprintf("%s%s %s%s%s%s%s%s in %s ", nop, what, chown ? "--chown=" : "", chown ? chown : "",
                cm ? "--chmod=" : "", cm ? cm : "", cm ? " " : "", hash, w[n - 1]);
  if (bcache(b, s, line)) return 0;
  char diff_id[DIGEST_LEN + 1];
  r = make_layer(b, s, j, diff_id, err);
  return r == 0 ? bcommit(b, s, line, diff_id, err) : r;
}

int step_copy(struct build *b, struct bstage *s, const struct df_instr *in, bool add_,
              struct berth_err *err) {
  size_t n;
  char **w = NULL;
  if (in->json) {
    w = xcalloc(in->n_args + 1, sizeof *w);
    for (size_t i = 0; i < in->n_args; i++)
      w[i] = xstrdup(in->args[i]);
    n = in->n_args;
  } else {
    json_t *vars = bvars(s);
    w = df_words(in->rest, b->df.escape, vars, &n, err);
    json_decref(vars);
    if (!w) return -err->code;
  }
  struct root img = {-1, ""}, src = {-1, ""};
  struct job j = {NULL, 0, b->ctxfd, -1, 0, 0, 0, b->ig, true};
  int r = n < 2 ? berth_err_set(err, BERTH_EINVAL, 0, "%s requires at least two arguments",
                                add_ ? "ADD" : "COPY")
                : root_of(b, s->id, &img, err);
  j.imgfd = img.fd;
  const char *from = df_flag(in, "from");
  if (r == 0 && from) {
    r = from_root(b, from, &src, err);
    j.srcfd = src.fd;
    j.ig = NULL;
    j.context = false;
    if (r == 0 && src.fd < 0)
      r = berth_err_set(err, BERTH_EINVAL, 0, "COPY failed: --from=%s has no files", from);
  }
  if (r == 0) r = copy_into(b, s, in, add_ && !from, w, n, &j, err);
  job_free(&j);
  root_close(b, &src);
  root_close(b, &img);
  df_words_free(w, n);
  return r;
}

int step_mkdir(struct build *b, struct bstage *s, const char *dir, const char *line,
               struct berth_err *err) {
  struct root img = {-1, ""};
  int r = root_of(b, s->id, &img, err);
  if (r < 0) return r;
  if (is_dir_in(img.fd, dir)) {
    root_close(b, &img);
    return bcommit(b, s, line, NULL, err);
  }
  struct job j = {NULL, 0, -1, img.fd, 0, 0, 0, NULL, false};
  struct stat st = {.st_mode = S_IFDIR | 0755, .st_mtime = time(NULL)};
  add(&j, dir + 1, NULL, &st, false);
  char diff_id[DIGEST_LEN + 1];
  r = make_layer(b, s, &j, diff_id, err);
  job_free(&j);
  root_close(b, &img);
  return r == 0 ? bcommit(b, s, line, diff_id, err) : r;
}
