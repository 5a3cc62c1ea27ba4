/* An out-of-tree storage driver built only from the installed headers:
 *
 *   cc $(pkg-config --cflags berth-plugin) -shared -fPIC -o dirs.so dirs.c
 *
 * and named in daemon.conf by absolute path:
 *
 *   storage: { driver = "/path/dirs.so"; dirs: { copier = "/bin/cp"; }; };
 *
 * Every layer is a plain directory <root_dir>/<id> holding the whole
 * filesystem: a child starts as a copy of its parent, made by `cp -a`
 * (which keeps owners, modes, links, device nodes, xattrs and holes), and
 * is filled by the host's untar.  No mounts at all, so it works anywhere;
 * it is slow and big, like berth's built-in vfs.  Calls are serialised by
 * berthd (no BERTH_PLUGIN_F_THREADSAFE), so there is no locking here. */
#include <berth/storage.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

struct conf {
  const char *copier; /* the cp that copies a parent layer */
};

struct drv {
  const struct berth_host *host;
  struct conf conf;
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("copier", BERTH_CONF_STRING, struct conf, copier, "/bin/cp"),
};

static int dirs_init(const struct berth_host *host, void **out, struct berth_err *err) {
  struct drv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r < 0) {
    free(d);
    return r;
  }
  struct stat st;
  if (stat(d->conf.copier, &st) < 0) {
    r = berth_err_set(err, BERTH_ESKIP, errno, "no copier at %s", d->conf.copier);
    free(d);
    return r;
  }
  *out = d;
  return 0;
}

static void dirs_fini(void *drv) {
  free(drv);
}

/* ids are chosen by the core ([0-9a-f]{64}), but a driver checks anyway:
 * an id is a path component here */
static int layer_path(struct drv *d, const char *id, char *out, size_t len, struct berth_err *err) {
  if (!id || !*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
    return berth_err_set(err, BERTH_EINVAL, 0, "bad layer id '%s'", id ? id : "");
  if ((size_t)snprintf(out, len, "%s/%s", d->host->root_dir, id) >= len)
    return berth_err_set(err, BERTH_EINVAL, 0, "layer path too long");
  return 0;
}

/* run argv, wait for it: 0, or an error naming what failed */
static int run(const char *const *argv, struct berth_err *err) {
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ);
  if (rc) return berth_err_set(err, BERTH_EINTERNAL, rc, "%s: %s", argv[0], strerror(rc));
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return berth_err_set(err, BERTH_EINTERNAL, errno, "waitpid");
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  return berth_err_set(err, BERTH_EINTERNAL, 0, "%s %s %s failed (status %d)", argv[0], argv[1],
                       argv[2], st);
}

static int dirs_exists(void *drv, const char *id, struct berth_err *err) {
  char path[BERTH_STORAGE_PATH_MAX];
  int r = layer_path(drv, id, path, sizeof path, err);
  if (r < 0) return r;
  struct stat st;
  if (lstat(path, &st) == 0) return 1;
  if (errno == ENOENT) return 0;
  return berth_err_set(err, BERTH_EINTERNAL, errno, "stat %s: %s", path, strerror(errno));
}

static int dirs_remove(void *drv, const char *id, struct berth_err *err) {
  char path[BERTH_STORAGE_PATH_MAX];
  int r = layer_path(drv, id, path, sizeof path, err);
  if (r < 0) return r;
  const char *argv[] = {"/bin/rm", "-rf", "--one-file-system", path, NULL};
  return run(argv, err);
}

static int dirs_create(void *drv, const struct berth_storage_create_req *req,
                       struct berth_err *err) {
  struct drv *d = drv;
  char path[BERTH_STORAGE_PATH_MAX], ppath[BERTH_STORAGE_PATH_MAX];
  int r = layer_path(d, req->id, path, sizeof path, err);
  if (r < 0) return r;
  if ((r = dirs_exists(d, req->id, err)) != 0)
    return r < 0 ? r : berth_err_set(err, BERTH_ECONFLICT, EEXIST, "layer %s exists", req->id);
  if (!req->parent) {
    if (mkdir(path, 0755) < 0)
      return berth_err_set(err, BERTH_EINTERNAL, errno, "mkdir %s: %s", path, strerror(errno));
    return 0;
  }
  if ((r = layer_path(d, req->parent, ppath, sizeof ppath, err)) < 0) return r;
  if ((r = dirs_exists(d, req->parent, err)) <= 0)
    return r < 0 ? r : berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "no parent %s", req->parent);
  const char *argv[] = {d->conf.copier, "-a", "--reflink=auto", ppath, path, NULL};
  if ((r = run(argv, err)) < 0) dirs_remove(d, req->id, NULL);
  return r;
}

static int dirs_mount(void *drv, const char *id, const char *label, char *path, size_t path_len,
                      struct berth_err *err) {
  (void)label;
  int r = dirs_exists(drv, id, err);
  if (r <= 0) return r < 0 ? r : berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "no layer %s", id);
  return layer_path(drv, id, path, path_len, err);
}

static int dirs_unmount(void *drv, const char *id, struct berth_err *err) {
  (void)drv, (void)id, (void)err;
  return 0; /* nothing was mounted; safe to repeat */
}

static int put_row(struct drv *d, struct berth_buf *out, const char *k, const char *v) {
  char row[BERTH_STORAGE_PATH_MAX + 64];
  int n = snprintf(row, sizeof row, "%s\t%s\n", k, v);
  return d->host->buf_append(d->host, out, row, (size_t)n) < 0 ? -BERTH_EINTERNAL : 0;
}

static int dirs_status(void *drv, struct berth_buf *out, struct berth_err *err) {
  struct drv *d = drv;
  int r = put_row(d, out, "Root Dir", d->host->root_dir);
  if (r == 0) r = put_row(d, out, "Copier", d->conf.copier);
  return r < 0 ? berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory") : 0;
}

static int dirs_metadata(void *drv, const char *id, struct berth_buf *out, struct berth_err *err) {
  char path[BERTH_STORAGE_PATH_MAX];
  int r = layer_path(drv, id, path, sizeof path, err);
  if (r < 0) return r;
  if (put_row(drv, out, "Dir", path) < 0)
    return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  return 0;
}

static int dirs_apply_diff(void *drv, const char *id, const char *parent, struct berth_reader *tar,
                           uint64_t *size, struct berth_err *err) {
  struct drv *d = drv;
  (void)parent, (void)size;
  char path[BERTH_STORAGE_PATH_MAX];
  int r = layer_path(d, id, path, sizeof path, err);
  if (r < 0) return r;
  return d->host->untar(d->host, tar, path, BERTH_UNTAR_WHITEOUT_DELETE, err);
}

static const struct berth_storage_ops dirs_ops = {
    .struct_size = sizeof(struct berth_storage_ops),
    .create = dirs_create,
    .remove = dirs_remove,
    .exists = dirs_exists,
    .mount = dirs_mount,
    .unmount = dirs_unmount,
    .status = dirs_status,
    .metadata = dirs_metadata,
    .apply_diff = dirs_apply_diff,
};

BERTH_PLUGIN(dirs, .kind = BERTH_KIND_STORAGE, .name = "dirs", .version = "0.1.0",
             .description = "plain directories, copied with cp -a", .init = dirs_init,
             .fini = dirs_fini, .ops = &dirs_ops);
