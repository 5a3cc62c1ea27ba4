/* docker commit: the container's changes (ctr_changes) written from its
 * root as a layer tar (libarchive; deletions as .wh. entries, as the image
 * spec says), added on top of its image's layers, and an image config with
 * the container's config, the -c changes and docker's history entry. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "../daemon.h"
#include "../image/imageconf.h"
#include "../image/layer.h"
#include "../image/store.h"
#include "../runtime/runtime.h"
#include "../util/lazylib.h"
#include "container.h"
#include "tar.h"

/* the whiteout of path: dir/.wh.name */
static char *whiteout_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return xasprintf("%.*s/.wh.%s", (int)(slash - path), path, slash + 1);
}

/* ---------------- export ---------------- */

struct export_job {
  struct daemon *d;
  char rw_id[65], root[4096];
  bool mapped; /* the running container's id-mapped mount: the tar unmaps */
};

static void export_producer(int fd, void *ctx) {
  struct export_job *j = ctx;
  ctar_set_idmap(j->mapped ? &j->d->remap : NULL);
  cleanup_close int rootfd = open(j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct berth_err e = {0};
  struct archive *a = rootfd >= 0 ? ctar_writer(&fd, &e) : NULL;
  if (!a) log_error("export: %s", e.msg[0] ? e.msg : "cannot open the container's root");
  ctar_set_names(rootfd);
  if (a && ctar_add_tree(a, rootfd, "/", "") == 0) archive_write_close(a);
  if (a) archive_write_free(a);
  ctar_set_names(-1);
  store_unmount_layer(&j->d->images, j->rw_id, &e);
  free(j);
}

int ctr_export(struct daemon *d, struct container *c, ctr_producer_fn *producer, void **ctx,
               struct berth_err *err) {
  ctr_ahead_drop(d, c); /* the export mounts the rootfs itself */
  if (lazylib_need(&lazy_libarchive, err) < 0) return -err->code;
  struct export_job *j = xcalloc(1, sizeof *j);
  j->d = d;
  memcpy(j->rw_id, c->rw_id, sizeof j->rw_id);
  /* a reference of its own on the layer's mount: an exit meanwhile keeps
   * it; the way a running container has it (id-mapped under userns-remap) */
  ctr_lock();
  bool mounted = c->mounted;
  ctr_unlock();
  j->mapped = mounted && ctr_remapped(d, c);
  if (ctr_mount_layer(d, c, j->mapped, j->root, err) < 0) {
    free(j);
    return -err->code;
  }
  *producer = export_producer;
  *ctx = j;
  ctr_event(c, "export", NULL);
  return 0;
}

static int write_tar(const char *root, json_t *changes, int out, struct berth_err *err) {
  cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return err_sys(err, BERTH_EINTERNAL, "open %s", root);
  struct archive *a = ctar_writer(&out, err);
  if (!a) return -1;
  int r = 0;
  size_t i;
  json_t *c;
  json_array_foreach(changes, i, c) {
    if (r < 0) break;
    const char *path = json_string_value(json_object_get(c, "Path"));
    if (json_integer_value(json_object_get(c, "Kind")) != 2) {
      r = ctar_add(a, rootfd, path, path + 1);
      continue;
    }
    cleanup_free char *wh = whiteout_of(path);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, wh + 1);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 0);
    r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
    archive_entry_free(e);
  }
  if (r == 0 && archive_write_close(a) != ARCHIVE_OK) r = -1;
  if (r < 0)
    berth_err_set(err, BERTH_EINTERNAL, archive_errno(a), "commit: the layer tar: %s",
                  archive_error_string(a) ?: "write failed");
  archive_write_free(a);
  return r < 0 ? -err->code : 0;
}

struct tar_job {
  const char *root;
  json_t *changes;
  int fd;
  struct berth_err err;
  int ret;
  const struct idmap *map; /* a running container's mount under userns-remap */
};

static void *tar_thread(void *p) {
  struct tar_job *j = p;
  ctar_set_idmap(j->map);
  cleanup_close int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ctar_set_names(host);
  j->ret = write_tar(j->root, j->changes, j->fd, &j->err);
  ctar_set_names(-1);
  close(j->fd); /* the store's reader sees the end */
  return NULL;
}

/* the new layer from the container's changes, on top of its image's: the
 * tar streamed from a thread straight into the store (no copy on disk
 * besides the layer and its blob) */
static int commit_layer(struct daemon *d, struct container *c, const char *root, bool mapped,
                        char chain[DIGEST_LEN + 1], struct berth_err *err) {
  json_t *changes = ctr_changes(d, c, err);
  if (!changes) return -err->code;
  char parent[DIGEST_LEN + 1] = "";
  pthread_mutex_lock(&d->images.lock);
  struct image *im = store_lookup_locked(&d->images, c->image_id);
  if (im) memcpy(parent, im->top_chain, sizeof parent);
  pthread_mutex_unlock(&d->images.lock);
  int fds[2];
  struct tar_job j = {root, changes, -1, {0}, 0, mapped ? &d->remap : NULL};
  pthread_t t;
  int r = pipe2(fds, O_CLOEXEC) < 0 ? err_sys(err, BERTH_EINTERNAL, "pipe") : 0;
  if (r == 0) {
    j.fd = fds[1];
    if (pthread_create(&t, NULL, tar_thread, &j) != 0) {
      close(fds[0]);
      close(fds[1]);
      r = berth_err_set(err, BERTH_EINTERNAL, 0, "commit: cannot start a thread");
    }
  }
  if (r == 0) {
    struct berth_reader in = BERTH_READER(&fds[0], fd_reader_read);
    r = store_add_layer(&d->images, parent, &in, NULL, chain, err);
    close(fds[0]); /* a writer still going gets EPIPE, not stuck */
    pthread_join(t, NULL);
    /* the tar's own failure says more than the store's, unless it is
     * only the broken pipe of a store that gave up (a full disk) */
    if (j.ret < 0 && (r == 0 || j.err.sys_errno != EPIPE)) {
      *err = j.err;
      r = j.ret;
    }
  }
  json_decref(changes);
  return r;
}

/* docker's created_by for a commit: the container's command */
static char *command_of(json_t *cfg) {
  char *out = xstrdup("");
  const char *keys[] = {"Entrypoint", "Cmd"};
  for (int k = 0; k < 2; k++) {
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(cfg, keys[k]), i, a) {
      char *t = xasprintf("%s%s%s", out, *out ? " " : "", json_string_value(a) ?: "");
      free(out);
      out = t;
    }
  }
  return out;
}

/* the image config: the image's, with the container's config (and the -c
 * changes, and the request's Config over it), one more diff id and
 * docker's history entry */
static char *commit_config(struct daemon *d, struct container *c, const struct ctr_commit *o,
                           const char *chain, struct berth_err *err) {
  pthread_mutex_lock(&d->images.lock);
  struct image *im = store_lookup_locked(&d->images, c->image_id);
  json_t *img = im ? json_deep_copy(im->config) : json_object();
  struct layer *l = store_layer_locked(&d->images, chain);
  json_t *diff_id = json_string(l ? l->diff_id : "");
  pthread_mutex_unlock(&d->images.lock);
  ctr_lock();
  json_t *cfg = json_deep_copy(c->config);
  json_t *ccfg = json_deep_copy(c->config);
  ctr_unlock();
  cleanup_free char *created_by = command_of(ccfg);
  const char *k;
  json_t *v;
  json_object_foreach(o->config, k, v) json_object_set(cfg, k, v);
  int r = 0;
  for (size_t i = 0; i < o->n_changes && r == 0; i++)
    r = imageconf_apply_change(cfg, o->changes[i], err);
  char now[64];
  format_rfc3339(now_ns(), now, sizeof now);
  json_t *rootfs = json_object_get(img, "rootfs");
  if (!json_is_object(rootfs))
    json_object_set_new(img, "rootfs",
                        rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids"));
  json_array_append_new(json_object_get(rootfs, "diff_ids"), diff_id);
  json_t *hist = json_object_get(img, "history");
  if (!json_is_array(hist)) json_object_set_new(img, "history", hist = json_array());
  json_t *h = json_pack("{s:s,s:s}", "created", now, "created_by", created_by);
  if (*o->author) json_object_set_new(h, "author", json_string(o->author));
  if (*o->comment) json_object_set_new(h, "comment", json_string(o->comment));
  json_array_append_new(hist, h);
  json_object_set_new(img, "config", cfg);
  json_object_set_new(img, "container_config", ccfg);
  json_object_set_new(img, "container", json_string(c->id));
  json_object_set_new(img, "created", json_string(now));
  json_object_set_new(img, "author", json_string(o->author));
  /* the image's own (inspect's Comment, docker's), never its parent's */
  if (*o->comment)
    json_object_set_new(img, "comment", json_string(o->comment));
  else
    json_object_del(img, "comment");
  char *raw = r == 0 ? json_dumps(img, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(img);
  return raw;
}

int ctr_commit_layer(struct daemon *d, struct container *c, bool pause, char chain[DIGEST_LEN + 1],
                     struct berth_err *err) {
  ctr_ahead_drop(d, c);
  ctr_lock();
  bool running = c->status == CTR_RUNNING, mounted = c->mounted;
  char root[4096];
  snprintf(root, sizeof root, "%s", c->rootfs ? c->rootfs : "");
  ctr_unlock();
  bool paused = false, own_mount = false;
  int r = 0;
  if (running && pause) paused = ctr_pause(d, c, true, err) == 0;
  if (!mounted) { /* a stopped container's layer, mounted for the copy */
    r = store_mount_layer(&d->images, c->rw_id, root, err);
    own_mount = r == 0;
  }
  /* a running container's mount is id-mapped under userns-remap */
  if (r == 0) r = commit_layer(d, c, root, mounted && ctr_remapped(d, c), chain, err);
  if (own_mount) {
    struct berth_err e = {0};
    store_unmount_layer(&d->images, c->rw_id, &e);
  }
  if (paused) {
    struct berth_err e = {0};
    ctr_pause(d, c, false, &e);
  }
  return r;
}

int ctr_commit(struct daemon *d, struct container *c, const struct ctr_commit *o,
               char id[DIGEST_LEN + 1], struct berth_err *err) {
  char chain[DIGEST_LEN + 1] = "";
  int r = ctr_commit_layer(d, c, o->pause, chain, err);
  char *raw = r == 0 ? commit_config(d, c, o, chain, err) : NULL;
  if (r == 0 && !raw) r = -err->code;
  if (r == 0) r = store_add_image(&d->images, raw, strlen(raw), c->image_id, id, err);
  free(raw);
  if (r == 0 && o->ref) r = store_tag_event(&d->images, id, o->ref, err);
  if (r == 0)
    ctr_event(c, "commit",
              json_pack("{s:s,s:s}", "comment", o->comment ? o->comment : "", "imageID", id));
  return r;
}
