/* dirvol: an example volume driver, built out of tree against the installed
 * headers only (plugin ABI 1.1):
 *
 *   cc $(pkg-config --cflags berth-plugin) -shared -fPIC -o dirvol.so dirvol.c
 *
 * and named in daemon.conf: volume: { drivers = [ "/path/to/dirvol.so" ]; };
 * then `docker volume create -d dirvol -o mode=0700 v`, `docker run -v v:/x`.
 *
 * Each volume is a directory <root_dir>/<name>; the one option is mode (its
 * permissions, octal).  The driver counts which containers have it mounted
 * (host->state_put, so the count survives a berthd restart) and shows the
 * count and the mode as the volume's Status in `docker volume inspect`. */
#include <berth/volume.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dirvol {
  const struct berth_host *host;
};

static int dir_of(struct dirvol *d, const char *name, char *out, size_t len) {
  return snprintf(out, len, "%s/%s", d->host->root_dir, name) < (int)len ? 0 : -1;
}

static int dv_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  struct dirvol *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  *drv = d;
  return 0;
}

static void dv_fini(void *drv) {
  free(drv);
}

/* the ids that have it mounted, one per line, in out (host-owned) */
static int users(struct dirvol *d, const char *name, struct berth_buf *out, struct berth_err *err) {
  int r = d->host->state_get(d->host, name, "users", out, err);
  if (r == -BERTH_ENOTFOUND) {
    *err = (struct berth_err){0};
    return 0;
  }
  return r;
}

static int dv_create(void *drv, const struct berth_volume_create_req *req, struct berth_err *err) {
  struct dirvol *d = drv;
  unsigned mode = 0755;
  for (size_t i = 0; i < req->n_opts; i++) {
    const struct berth_kv *kv = BERTH_ELEM(req->opts, i);
    char *end;
    if (strcmp(kv->key, "mode"))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid option: \"%s\"", kv->key);
    mode = (unsigned)strtoul(kv->value, &end, 8);
    if (*end || !*kv->value || mode > 07777)
      return berth_err_set(err, BERTH_EINVAL, 0, "mode: not an octal mode: \"%s\"", kv->value);
  }
  char path[BERTH_VOLUME_PATH_MAX];
  if (dir_of(d, req->name, path, sizeof path) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "name too long");
  if (mkdir(path, 0700) < 0)
    return berth_err_set(err, errno == EEXIST ? BERTH_ECONFLICT : BERTH_EINTERNAL, errno,
                         "mkdir %s: %s", path, strerror(errno));
  if (chmod(path, mode) < 0) {
    int e = errno;
    rmdir(path);
    return berth_err_set(err, BERTH_EINTERNAL, e, "chmod %s: %s", path, strerror(e));
  }
  return 0;
}

/* everything below fd's directory */
static int empty_dir(int fd) {
  DIR *dir = fdopendir(fd);
  if (!dir) return close(fd), -1;
  struct dirent *de;
  int r = 0;
  while (r == 0 && (de = readdir(dir))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (unlinkat(dirfd(dir), de->d_name, 0) == 0) continue;
    int sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    r = sub < 0 ? -1 : empty_dir(sub);
    if (r == 0) r = unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR);
  }
  closedir(dir);
  return r;
}

static int dv_remove(void *drv, const char *name, struct berth_err *err) {
  struct dirvol *d = drv;
  char path[BERTH_VOLUME_PATH_MAX];
  if (dir_of(d, name, path, sizeof path) < 0) return 0;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return d->host->state_del(d->host, name, NULL, err);
  if (fd < 0 || empty_dir(fd) < 0 || rmdir(path) < 0)
    return berth_err_set(err, BERTH_EINTERNAL, errno, "remove %s: %s", path, strerror(errno));
  return d->host->state_del(d->host, name, NULL, err);
}

static int dv_path(void *drv, const char *name, char *path, size_t len, struct berth_err *err) {
  struct stat st;
  if (dir_of(drv, name, path, len) < 0 || stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
    path[0] = 0;
    return berth_err_set(err, BERTH_ENOTFOUND, 0, "no such volume: %s", name);
  }
  return 0;
}

/* the users list with id added or taken out */
static int set_user(struct dirvol *d, const char *name, const char *id, int add,
                    struct berth_err *err) {
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  int r = users(d, name, &b, err);
  char out[65 * 256] = "";
  size_t n = 0, idl = strlen(id);
  for (size_t i = 0; r == 0 && i < b.len;) {
    const char *line = b.data + i, *nl = memchr(line, '\n', b.len - i);
    size_t ll = nl ? (size_t)(nl - line) : b.len - i;
    if (!(ll == idl && !memcmp(line, id, ll)) && n + ll + 2 < sizeof out)
      n += (size_t)snprintf(out + n, sizeof out - n, "%.*s\n", (int)ll, line);
    i += ll + 1;
  }
  if (r == 0 && add && n + idl + 2 < sizeof out)
    n += (size_t)snprintf(out + n, sizeof out - n, "%s\n", id);
  free(b.data);
  return r == 0 ? d->host->state_put(d->host, name, "users", out, n, err) : r;
}

static int dv_mount(void *drv, const char *name, const char *id, char *path, size_t len,
                    struct berth_err *err) {
  int r = dv_path(drv, name, path, len, err);
  return r < 0 ? r : set_user(drv, name, id, 1, err);
}

static int dv_unmount(void *drv, const char *name, const char *id, struct berth_err *err) {
  char path[BERTH_VOLUME_PATH_MAX];
  if (dv_path(drv, name, path, sizeof path, err) < 0) {
    *err = (struct berth_err){0};
    return 0; /* gone: nothing to undo */
  }
  return set_user(drv, name, id, 0, err);
}

static int dv_get(void *drv, const char *name, struct berth_buf *out, struct berth_err *err) {
  struct dirvol *d = drv;
  char path[BERTH_VOLUME_PATH_MAX];
  struct stat st;
  if (dv_path(drv, name, path, sizeof path, err) < 0) return -err->code;
  if (stat(path, &st) < 0) return berth_err_set(err, BERTH_EINTERNAL, errno, "stat %s", path);
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  int r = users(d, name, &b, err);
  int n = 0;
  for (size_t i = 0; i < b.len; i++)
    n += b.data[i] == '\n';
  free(b.data);
  if (r < 0) return r;
  char json[128];
  int l = snprintf(json, sizeof json, "{\"mode\":\"%04o\",\"mounts\":%d}", st.st_mode & 07777, n);
  if (d->host->buf_append(d->host, out, json, (size_t)l) < 0)
    return berth_err_set(err, BERTH_EINTERNAL, 0, "out of memory");
  return 0;
}

static int dv_list(void *drv, struct berth_buf *out, struct berth_err *err) {
  struct dirvol *d = drv;
  DIR *dir = opendir(d->host->root_dir);
  if (!dir) return berth_err_set(err, BERTH_EINTERNAL, errno, "%s", d->host->root_dir);
  struct dirent *de;
  int r = 0;
  while (r == 0 && (de = readdir(dir))) {
    if (de->d_name[0] == '.') continue;
    r = d->host->buf_append(d->host, out, de->d_name, strlen(de->d_name));
    if (r == 0) r = d->host->buf_append(d->host, out, "\n", 1);
  }
  closedir(dir);
  return r < 0 ? berth_err_set(err, BERTH_EINTERNAL, 0, "out of memory") : 0;
}

static const struct berth_volume_ops dirvol_ops = {
    .struct_size = sizeof(struct berth_volume_ops),
    .scope = BERTH_VOLUME_SCOPE_LOCAL,
    .create = dv_create,
    .remove = dv_remove,
    .mount = dv_mount,
    .unmount = dv_unmount,
    .path = dv_path,
    .get = dv_get,
    .list = dv_list,
};

BERTH_PLUGIN(dirvol, .kind = BERTH_KIND_VOLUME, .name = "dirvol", .version = "1.0.0",
             .description = "directories with a mode, and who has them mounted", .init = dv_init,
             .fini = dv_fini, .ops = &dirvol_ops)
