/* An out-of-tree registry driver: a registry kept in a directory, for
 * machines with no registry server (air-gapped hosts, CI caches).
 *
 *   cc $(pkg-config --cflags berth-plugin) -shared -fPIC -o dir-registry.so \
 *      dir-registry.c -lcrypto
 *
 *   registry: { driver = "/path/dir-registry.so";
 *               dir-registry: { root = "/srv/berth-registry"; }; };
 *
 * Then `berth push any.host/team/app:1` writes <root>/team/app/ and
 * `berth pull any.host/team/app:1` reads it back (the host part is not
 * used).  A repository holds blobs/sha256/<hex> (manifests have a
 * <hex>.type beside them, their media type) and tags/<tag> ("<digest>\n").
 * Every blob is checked against its digest as it is written; files appear
 * by rename, so a reader never sees half of one.  Sessions are each their
 * own and the settings are read-only: the driver is thread-safe. */
#include <berth/registry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct conf {
  const char *root;
};

struct drv {
  const struct berth_host *host;
  struct conf conf;
};

struct sess {
  struct drv *d;
  char dir[4096]; /* <root>/<repo> */
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("root", BERTH_CONF_STRING, struct conf, root, NULL),
};

static int dr_init(const struct berth_host *host, void **out, struct berth_err *err) {
  struct drv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r < 0) {
    free(d);
    return r;
  }
  if (!d->conf.root || !*d->conf.root) d->conf.root = host->root_dir;
  if (d->conf.root[0] != '/') {
    r = berth_err_set(err, BERTH_EINVAL, 0, "root must be an absolute path, not %s", d->conf.root);
    free(d);
    return r;
  }
  *out = d;
  return 0;
}

static void dr_fini(void *drv) {
  free(drv);
}

static int mkdirs(char *path) {
  for (char *s = path + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      int r = mkdir(path, 0755);
      *s = '/';
      if (r < 0 && errno != EEXIST) return -1;
    }
  return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* repository names as docker has them: lowercase, digits, . _ - and / */
static int valid_repo(const char *r) {
  if (!*r || *r == '/' || strstr(r, "..") || strstr(r, "//")) return 0;
  for (; *r; r++)
    if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || strchr("._-/", *r))) return 0;
  return 1;
}

/* "sha256:<64 hex>" -> <dir>/blobs/sha256/<hex><suffix> */
static int blob_path(const struct sess *s, const char *digest, const char *suffix, char *out,
                     size_t len, struct berth_err *err) {
  const char *hex = strncmp(digest, "sha256:", 7) ? NULL : digest + 7;
  if (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
    return berth_err_set(err, BERTH_EINVAL, 0, "unsupported digest %s", digest);
  snprintf(out, len, "%s/blobs/sha256/%s%s", s->dir, hex, suffix);
  return 0;
}

static int dr_open(void *drv, const struct berth_reg_target *t, void **out, struct berth_err *err) {
  struct drv *d = drv;
  if (!valid_repo(t->repo))
    return berth_err_set(err, BERTH_EINVAL, 0, "bad repository %s", t->repo);
  struct sess *s = calloc(1, sizeof *s);
  if (!s) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  s->d = d;
  snprintf(s->dir, sizeof s->dir, "%s/%s", d->conf.root, t->repo);
  *out = s;
  return 0;
}

static void dr_close(void *sess) {
  free(sess);
}

/* the whole of a small file (a manifest, a tag) */
static int slurp(const char *path, char *buf, size_t cap, size_t *len, struct berth_err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_err_set(err, errno == ENOENT ? BERTH_ENOTFOUND : BERTH_EINTERNAL, errno, "%s: %s",
                         path, strerror(errno));
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return berth_err_set(err, BERTH_EINTERNAL, errno, "read %s", path);
  buf[n] = 0;
  *len = (size_t)n;
  return 0;
}

#define MANIFEST_MAX (4u << 20) /* what registries accept */

static int dr_get_manifest(void *sess, const char *ref, const char *const *accept,
                           struct berth_buf *body, struct berth_reg_desc *desc,
                           struct berth_err *err) {
  struct sess *s = sess;
  (void)accept; /* one media type per manifest here: the one it was pushed with */
  char path[4200], digest[80];
  size_t len;
  int r;
  if (!strncmp(ref, "sha256:", 7)) {
    snprintf(digest, sizeof digest, "%s", ref);
  } else {
    if (strchr(ref, '/') || ref[0] == '.')
      return berth_err_set(err, BERTH_EINVAL, 0, "bad tag %s", ref);
    snprintf(path, sizeof path, "%s/tags/%s", s->dir, ref);
    if ((r = slurp(path, digest, sizeof digest, &len, err)) < 0)
      return r == -BERTH_ENOTFOUND
                 ? berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "manifest unknown: %s", ref)
                 : r;
    digest[strcspn(digest, "\n")] = 0;
  }
  char *buf = malloc(MANIFEST_MAX + 1);
  if (!buf) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  if ((r = blob_path(s, digest, ".type", path, sizeof path, err)) == 0 &&
      (r = slurp(path, desc->media_type, sizeof desc->media_type, &len, err)) == 0 &&
      (r = blob_path(s, digest, "", path, sizeof path, err)) == 0 &&
      (r = slurp(path, buf, MANIFEST_MAX + 1, &len, err)) == 0) {
    desc->media_type[strcspn(desc->media_type, "\n")] = 0;
    snprintf(desc->digest, sizeof desc->digest, "%s", digest);
    desc->size = len;
    if (s->d->host->buf_append(s->d->host, body, buf, len) < 0)
      r = berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  } else if (r == -BERTH_ENOTFOUND) {
    r = berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "manifest unknown: %s", ref);
  }
  free(buf);
  return r;
}

static int dr_stat_blob(void *sess, const char *digest, struct berth_reg_desc *desc,
                        struct berth_err *err) {
  char path[4200];
  int r = blob_path(sess, digest, "", path, sizeof path, err);
  if (r < 0) return r;
  struct stat st;
  if (stat(path, &st) < 0)
    return berth_err_set(err, errno == ENOENT ? BERTH_ENOTFOUND : BERTH_EINTERNAL, errno,
                         "blob unknown: %s", digest);
  snprintf(desc->digest, sizeof desc->digest, "%s", digest);
  desc->size = (uint64_t)st.st_size;
  return 0;
}

static int dr_get_blob(void *sess, const char *digest, uint64_t offset, struct berth_writer *out,
                       struct berth_err *err) {
  char path[4200], buf[65536];
  int r = blob_path(sess, digest, "", path, sizeof path, err);
  if (r < 0) return r;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_err_set(err, errno == ENOENT ? BERTH_ENOTFOUND : BERTH_EINTERNAL, errno,
                         "blob unknown: %s", digest);
  ssize_t n;
  off_t at = (off_t)offset;
  while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
    for (ssize_t done = 0, w; done < n; done += w)
      if ((w = out->write(out->ctx, buf + done, (size_t)(n - done))) <= 0) {
        close(fd);
        return berth_err_set(err, BERTH_EINTERNAL, errno, "writing %s failed", digest);
      }
    at += n;
  }
  close(fd);
  return n < 0 ? berth_err_set(err, BERTH_EINTERNAL, errno, "read %s", path) : 0;
}

/* write a file under its final name by rename, checking the bytes hash to
 * want (NULL: no check) */
static int put_file(const char *path, const void *data, size_t len, struct berth_reader *in,
                    const char *want, struct berth_err *err) {
  static unsigned long seq; /* temporaries of concurrent sessions differ */
  char tmp[4400], dir[4300], got[80] = "sha256:";
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = 0;
  snprintf(tmp, sizeof tmp, "%s/.tmp-%d-%lu", dir, (int)getpid(),
           __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
  if (mkdirs(dir) < 0) return berth_err_set(err, BERTH_EINTERNAL, errno, "mkdir %s", dir);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return berth_err_set(err, BERTH_EINTERNAL, errno, "create %s", tmp);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  char buf[65536];
  ssize_t n = 0;
  int bad = 0;
  for (size_t off = 0; !bad && (in ? (n = in->read(in->ctx, buf, sizeof buf)) > 0 : off < len);) {
    const char *p = in ? buf : (const char *)data + off;
    size_t k = in ? (size_t)n : len - off;
    EVP_DigestUpdate(md, p, k);
    bad = write(fd, p, k) != (ssize_t)k;
    off += k;
  }
  unsigned char h[32];
  EVP_DigestFinal_ex(md, h, NULL);
  EVP_MD_CTX_free(md);
  for (int i = 0; i < 32; i++)
    sprintf(got + 7 + 2 * i, "%02x", h[i]);
  bad |= n < 0 || fsync(fd) < 0;
  close(fd);
  if (!bad && want && strcmp(want, got)) {
    unlink(tmp);
    return berth_err_set(err, BERTH_EINVAL, 0, "digest mismatch: got %s, want %s", got, want);
  }
  if (bad || rename(tmp, path) < 0) {
    unlink(tmp);
    return berth_err_set(err, BERTH_EINTERNAL, errno, "write %s: %s", path, strerror(errno));
  }
  return 0;
}

static int dr_put_blob(void *sess, const struct berth_reg_desc *desc, const char *mount_from,
                       struct berth_reader *in, struct berth_err *err) {
  (void)mount_from; /* no cross-repository mounts: the bytes come from in */
  char path[4200];
  int r = blob_path(sess, desc->digest, "", path, sizeof path, err);
  if (r < 0) return r;
  if (!in) return berth_err_set(err, BERTH_ENOTSUP, 0, "blob %s: no data", desc->digest);
  return put_file(path, NULL, 0, in, desc->digest, err);
}

static int dr_put_manifest(void *sess, const char *ref, const char *media_type, const void *body,
                           size_t len, struct berth_reg_desc *out, struct berth_err *err) {
  struct sess *s = sess;
  char digest[80] = "sha256:", path[4200];
  unsigned char h[32];
  unsigned int hl = 0;
  EVP_Digest(body, len, h, &hl, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++)
    sprintf(digest + 7 + 2 * i, "%02x", h[i]);
  int r = blob_path(s, digest, "", path, sizeof path, err);
  if (r == 0) r = put_file(path, body, len, NULL, digest, err);
  if (r == 0 && (r = blob_path(s, digest, ".type", path, sizeof path, err)) == 0)
    r = put_file(path, media_type, strlen(media_type), NULL, NULL, err);
  if (r == 0 && strncmp(ref, "sha256:", 7)) {
    if (strchr(ref, '/') || ref[0] == '.') return berth_err_set(err, BERTH_EINVAL, 0, "bad tag");
    char line[96];
    int n = snprintf(line, sizeof line, "%s\n", digest);
    snprintf(path, sizeof path, "%s/tags/%s", s->dir, ref);
    r = put_file(path, line, (size_t)n, NULL, NULL, err);
  }
  if (r == 0) {
    snprintf(out->media_type, sizeof out->media_type, "%s", media_type);
    snprintf(out->digest, sizeof out->digest, "%s", digest);
    out->size = len;
  }
  return r;
}

static int dr_list_tags(void *sess, struct berth_buf *tags, struct berth_err *err) {
  struct sess *s = sess;
  char path[4200];
  snprintf(path, sizeof path, "%s/tags", s->dir);
  DIR *d = opendir(path);
  if (!d) return berth_err_set(err, BERTH_ENOTFOUND, errno, "repository unknown");
  struct dirent *de;
  int r = 0;
  while (r == 0 && (de = readdir(d)))
    if (de->d_name[0] != '.' &&
        (s->d->host->buf_append(s->d->host, tags, de->d_name, strlen(de->d_name)) < 0 ||
         s->d->host->buf_append(s->d->host, tags, "\n", 1) < 0))
      r = berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  closedir(d);
  return r;
}

static const struct berth_registry_ops dr_ops = {
    .struct_size = sizeof(struct berth_registry_ops),
    .open = dr_open,
    .close = dr_close,
    .get_manifest = dr_get_manifest,
    .stat_blob = dr_stat_blob,
    .get_blob = dr_get_blob,
    .put_blob = dr_put_blob,
    .put_manifest = dr_put_manifest,
    .list_tags = dr_list_tags,
};

BERTH_PLUGIN(dir_registry, .kind = BERTH_KIND_REGISTRY, .name = "dir-registry", .version = "0.1.0",
             .description = "a registry kept in a directory", .flags = BERTH_PLUGIN_F_THREADSAFE,
             .init = dr_init, .fini = dr_fini, .ops = &dr_ops);
