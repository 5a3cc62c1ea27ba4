/* The host table berth-plugin-check gives a driver: every service of
 * struct berth_host, each of which can be made to fail at its Nth call
 * (the fault sweep), counting the calls so the sweep knows what to fail. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fakehost.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../plugins/common/logopt.h"

const char *const fake_services[N_SERVICES] = {
    "conf_bind", "buf_append", "state_put", "state_get", "state_del", "untar", "run_in_netns"};
/* a failure of these must reach the op's caller (state_del may be retried) */
static const bool must_propagate[N_SERVICES] = {true, true, true, true, false, true, true};

struct fake_shared *fake_shared;
static const char *const *overrides; /* "key=value" */
static size_t n_overrides;
static bool verbose;

/* true when this call is the one to fail; counts every call */
static bool inject(enum fake_service s) {
  int n = __atomic_add_fetch(&fake_shared->calls[s], 1, __ATOMIC_SEQ_CST);
  if ((int)s != fake_shared->fail_service || n != fake_shared->fail_at) return false;
  chk_service_failed(fake_services[s], must_propagate[s]);
  return true;
}

static int injected(enum fake_service s, struct berth_err *err) {
  return berth_err_set(err, BERTH_EINTERNAL, EIO, "host->%s failed (injected by the checker)",
                       fake_services[s]);
}

static void h_log(const struct berth_host *h, int level, const char *fmt, ...) {
  (void)h;
  if (!verbose && level > BERTH_LOG_WARN) return;
  static const char *const names[] = {"error", "warn", "info", "debug"};
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "# driver %s: %s\n", names[level & 3], msg);
}

static const char *override_of(const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i < n_overrides; i++)
    if (!strncmp(overrides[i], key, kl) && overrides[i][kl] == '=') return overrides[i] + kl + 1;
  return NULL;
}

static int bind_one(const struct berth_conf_key *k, void *target, struct berth_err *err) {
  const char *text = override_of(k->name);
  if (!text) text = k->def;
  if (!text) return 0;
  char *dst = (char *)target + k->offset;
  int64_t i64;
  uint64_t u64;
  int b;
  char *end;
  switch (k->type) {
  case BERTH_CONF_STRING: memcpy(dst, &text, sizeof text); return 0;
  case BERTH_CONF_INT:
    errno = 0;
    i64 = strtoll(text, &end, 10);
    if (errno || !*text || *end) break;
    memcpy(dst, &i64, sizeof i64);
    return 0;
  case BERTH_CONF_BOOL:
    if (logopt_bool(text, &b) < 0) break;
    memcpy(dst, &b, sizeof b);
    return 0;
  case BERTH_CONF_SIZE:
    if (logopt_size(text, &u64) < 0) break;
    memcpy(dst, &u64, sizeof u64);
    return 0;
  default:
    return berth_err_set(err, BERTH_EINVAL, 0, "key '%s' has an unknown type %d", k->name, k->type);
  }
  return berth_err_set(err, BERTH_EINVAL, 0, "bad value for '%s': '%s'", k->name, text);
}

static int h_conf_bind(const struct berth_host *h, const struct berth_conf_key *keys, size_t n_keys,
                       void *target, struct berth_err *err) {
  (void)h;
  if (inject(SVC_CONF_BIND)) return injected(SVC_CONF_BIND, err);
  if (n_keys && keys[0].struct_size < offsetof(struct berth_conf_key, def) + sizeof(char *))
    return berth_err_set(err, BERTH_EINVAL, 0, "key table element size %u is too small",
                         keys[0].struct_size);
  for (size_t i = 0; i < n_overrides; i++) { /* every -o names a key of the table */
    bool known = false;
    for (size_t k = 0; k < n_keys; k++) {
      const char *name = BERTH_ELEM(keys, k)->name;
      size_t nl = strlen(name);
      known |= !strncmp(overrides[i], name, nl) && overrides[i][nl] == '=';
    }
    if (!known) return berth_err_set(err, BERTH_EINVAL, 0, "unknown key in -o %s", overrides[i]);
  }
  for (size_t k = 0; k < n_keys; k++) {
    int r = bind_one(BERTH_ELEM(keys, k), target, err);
    if (r < 0) return r;
  }
  return 0;
}

static int h_buf_append(const struct berth_host *h, struct berth_buf *buf, const void *data,
                        size_t len) {
  (void)h;
  if (inject(SVC_BUF_APPEND)) return -BERTH_EINTERNAL;
  if (buf->len + len + 1 > buf->cap) {
    size_t cap = (buf->len + len + 1) * 2;
    char *nd = realloc(buf->data, cap);
    if (!nd) return -BERTH_EINTERNAL;
    buf->data = nd, buf->cap = cap;
  }
  memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  buf->data[buf->len] = 0;
  return 0;
}

static bool safe_name(const char *s) {
  return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int state_path(const struct berth_host *h, const char *object, const char *key, char *out,
                      size_t len, struct berth_err *err) {
  if (!safe_name(object) || (key && !safe_name(key)))
    return berth_err_set(err, BERTH_EINVAL, 0, "state: bad object or key name");
  snprintf(out, len, "%s/.state/%s%s%s", h->root_dir, object, key ? "/" : "", key ? key : "");
  return 0;
}

static int mkdirs(const char *path, mode_t mode) {
  char p[4096];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      if (mkdir(p, mode) < 0 && errno != EEXIST) return -1;
      *s = '/';
    }
  return mkdir(p, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int h_state_put(const struct berth_host *h, const char *object, const char *key,
                       const void *value, size_t len, struct berth_err *err) {
  char path[4096], tmp[4200];
  int r = state_path(h, object, key, path, sizeof path, err);
  if (r < 0) return r;
  if (inject(SVC_STATE_PUT)) return injected(SVC_STATE_PUT, err);
  *strrchr(path, '/') = 0;
  mkdirs(path, 0700);
  path[strlen(path)] = '/';
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, value, len) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0 ||
      rename(tmp, path) < 0)
    return berth_err_set(err, BERTH_EINTERNAL, errno, "state: write %s: %s", path, strerror(errno));
  return 0;
}

static int h_state_get(const struct berth_host *h, const char *object, const char *key,
                       struct berth_buf *out, struct berth_err *err) {
  char path[4096], buf[65536];
  int r = state_path(h, object, key, path, sizeof path, err);
  if (r < 0) return r;
  if (inject(SVC_STATE_GET)) return injected(SVC_STATE_GET, err);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_err_set(err, errno == ENOENT ? BERTH_ENOTFOUND : BERTH_EINTERNAL, errno,
                         "state %s/%s: %s", object, key, strerror(errno));
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    if (h_buf_append(h, out, buf, (size_t)n) < 0) {
      close(fd);
      return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "state: out of memory");
    }
  close(fd);
  return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)ftw;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static int rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
  return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int h_state_del(const struct berth_host *h, const char *object, const char *key,
                       struct berth_err *err) {
  char path[4096];
  int r = state_path(h, object, key, path, sizeof path, err);
  if (r < 0) return r;
  if (inject(SVC_STATE_DEL)) return injected(SVC_STATE_DEL, err);
  if (rm_rf(path) < 0) return berth_err_set(err, BERTH_EINTERNAL, errno, "state: remove %s", path);
  return 0;
}

/* ---- untar: libarchive's secure extraction, and docker's whiteouts ---- */

static la_ssize_t reader_cb(struct archive *a, void *ctx, const void **buf) {
  (void)a;
  static __thread char block[65536];
  struct berth_reader *in = ctx;
  *buf = block;
  return in->read(in->ctx, block, sizeof block);
}

/* ".wh.X" in dir: X goes (delete mode) or becomes a 0/0 character device
 * (overlay mode); ".wh..wh..opq": the lower content of dir goes, or dir
 * gets trusted.overlay.opaque.  Entries of this layer come after the
 * marker in docker's tars, so deleting the lower content is safe. */
static int whiteout(const char *dir, const char *rel, uint32_t flags) {
  const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
  char parent[4096], target[4096 + 512];
  snprintf(parent, sizeof parent, "%s/%.*s", dir, (int)(base - rel), rel);
  if ((flags & BERTH_UNTAR_WHITEOUT_OVERLAY) && mkdirs(parent, 0755) < 0) return -1;
  if (!strcmp(base, ".wh..wh..opq")) {
    if (flags & BERTH_UNTAR_WHITEOUT_OVERLAY)
      return lsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0);
    DIR *d = opendir(parent);
    struct dirent *de;
    int r = 0;
    while (d && (de = readdir(d)))
      if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
        snprintf(target, sizeof target, "%s%s", parent, de->d_name);
        r |= rm_rf(target);
      }
    if (d) closedir(d);
    return r;
  }
  snprintf(target, sizeof target, "%s%s", parent, base + 4);
  if (flags & BERTH_UNTAR_WHITEOUT_OVERLAY) return mknod(target, S_IFCHR | 0, makedev(0, 0));
  return rm_rf(target);
}

static bool safe_rel(const char *p) {
  if (p[0] == '/') return false;
  for (const char *s = p; (s = strstr(s, "..")); s += 2)
    if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/')) return false;
  return true;
}

static int copy_data(struct archive *in, struct archive *out) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
    if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK) return -1;
  return r == ARCHIVE_EOF ? 0 : -1;
}

static int extract_all(struct archive *in, struct archive *out, const char *dir, uint32_t flags,
                       struct berth_err *err) {
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
    const char *rel = archive_entry_pathname(e);
    while (rel[0] == '.' && rel[1] == '/')
      rel += 2;
    if (!*rel || !strcmp(rel, ".")) continue;
    const char *hl = archive_entry_hardlink(e);
    if (!safe_rel(rel) || (hl && !safe_rel(hl)))
      return berth_err_set(err, BERTH_EINVAL, 0, "untar: unsafe path %s", rel);
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    if (!strncmp(base, ".wh.", 4)) {
      if (whiteout(dir, rel, flags) < 0)
        return berth_err_set(err, BERTH_EINTERNAL, errno, "untar: whiteout %s", rel);
      continue;
    }
    char full[4096], link[4096];
    snprintf(full, sizeof full, "%s/%s", dir, rel);
    archive_entry_set_pathname(e, full);
    if (hl) {
      snprintf(link, sizeof link, "%s/%s", dir, hl);
      archive_entry_set_hardlink(e, link);
    }
    if (archive_write_header(out, e) != ARCHIVE_OK || copy_data(in, out) < 0 ||
        archive_write_finish_entry(out) != ARCHIVE_OK)
      return berth_err_set(err, BERTH_EINTERNAL, 0, "untar %s: %s", rel, archive_error_string(out));
  }
  if (r != ARCHIVE_EOF)
    return berth_err_set(err, BERTH_EINVAL, 0, "untar: %s", archive_error_string(in));
  return 0;
}

static int h_untar(const struct berth_host *h, struct berth_reader *reader, const char *dir,
                   uint32_t flags, struct berth_err *err) {
  (void)h;
  if (inject(SVC_UNTAR)) return injected(SVC_UNTAR, err);
  struct archive *in = archive_read_new(), *out = archive_write_disk_new();
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
  archive_write_disk_set_options(
      out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
               ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
               ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SPARSE | ARCHIVE_EXTRACT_UNLINK);
  int r;
  if (archive_read_open(in, reader, NULL, reader_cb, NULL) != ARCHIVE_OK)
    r = berth_err_set(err, BERTH_EINVAL, 0, "untar: %s", archive_error_string(in));
  else
    r = extract_all(in, out, dir, flags, err);
  archive_read_free(in);
  archive_write_free(out);
  return r;
}

struct netns_call {
  const char *path;
  int (*fn)(void *, struct berth_err *);
  void *arg;
  struct berth_err *err;
  int ret;
};

static void *netns_thread(void *p) {
  struct netns_call *c = p;
  int fd = open(c->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || unshare(CLONE_FS) < 0 || setns(fd, CLONE_NEWNET) < 0)
    c->ret = berth_err_set(c->err, fd < 0 ? BERTH_ENOTFOUND : BERTH_EINTERNAL, errno,
                           "netns %s: %s", c->path, strerror(errno));
  else
    c->ret = c->fn(c->arg, c->err);
  if (fd >= 0) close(fd);
  return NULL;
}

static int h_run_in_netns(const struct berth_host *h, const char *netns_path,
                          int (*fn)(void *arg, struct berth_err *err), void *arg,
                          struct berth_err *err) {
  (void)h;
  if (inject(SVC_RUN_IN_NETNS)) return injected(SVC_RUN_IN_NETNS, err);
  struct netns_call c = {netns_path, fn, arg, err, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, netns_thread, &c))
    return berth_err_set(err, BERTH_EINTERNAL, 0, "run_in_netns: no thread");
  pthread_join(t, NULL);
  return c.ret;
}

int fake_host_setup(struct berth_host *h, const char *scratch, const char *const *opts, size_t n,
                    bool verbose_log) {
  static char root[4096], run[4096];
  snprintf(root, sizeof root, "%s/root", scratch);
  snprintf(run, sizeof run, "%s/run", scratch);
  if (mkdirs(root, 0700) < 0 || mkdirs(run, 0700) < 0) return -1;
  overrides = opts, n_overrides = n, verbose = verbose_log;
  *h = (struct berth_host){.struct_size = sizeof *h,
                           .abi_minor = BERTH_ABI_MINOR,
                           .root_dir = root,
                           .run_dir = run,
                           .log = h_log,
                           .conf_bind = h_conf_bind,
                           .buf_append = h_buf_append,
                           .state_put = h_state_put,
                           .state_get = h_state_get,
                           .state_del = h_state_del,
                           .untar = h_untar,
                           .run_in_netns = h_run_in_netns};
  return 0;
}

int fake_rm_rf(const char *path) {
  return rm_rf(path);
}
