/* The image store: content-addressed blobs, layers by chain id on top of
 * the storage driver, images by config digest, and tags.  All state lives
 * under <data-root>/image and every file is written atomically.  One mutex
 * guards the in-memory indexes; long work (applying layers) runs outside
 * it and publishes its result under it. */
#ifndef BERTH_IMAGE_STORE_H
#define BERTH_IMAGE_STORE_H

#include <jansson.h>
#include <pthread.h>

#include "../plugin.h"
#include "reference.h"

struct layer {
  char chain_id[DIGEST_LEN + 1];
  char diff_id[DIGEST_LEN + 1];
  char parent[DIGEST_LEN + 1]; /* chain id of the parent, "" for a base layer */
  char storage_id[65];
  char blob[DIGEST_LEN + 1]; /* in blobs/: the gzip-compressed tar, or (made here,
                              * not pushed yet) the tar itself: blob == diff_id */
  uint64_t blob_size;
  uint64_t tar_size; /* uncompressed tar bytes */
  uint64_t size;     /* bytes the layer adds on disk */
  int refs;          /* images whose top chain includes this layer */
};

struct image {
  char id[DIGEST_LEN + 1]; /* sha256:<config digest> */
  char *config_raw;
  size_t config_len;
  json_t *config;
  size_t n_layers;
  char **diff_ids;
  char top_chain[DIGEST_LEN + 1]; /* "" for an image without layers */
  char parent[DIGEST_LEN + 1];    /* local parent image, "" if none */
  int64_t created;                /* unix seconds from config.created */
  int64_t last_tag_ns;
  uint64_t size;
};

struct tag {
  char *ref; /* canonical: docker.io/library/busybox:latest or ...@sha256: */
  char id[DIGEST_LEN + 1];
};

struct image_store {
  pthread_mutex_t lock;
  char *root; /* <data-root>/image */
  struct loaded_plugin *storage;
  struct image **images;
  size_t n_images;
  struct layer **layers;
  size_t n_layers;
  struct tag *tags;
  size_t n_tags;
  /* set by berthd: 0 unused, 1 used by a stopped container, 2 by a running one */
  int (*in_use)(const char *image_id, char container_id[65]);
};

int store_open(struct image_store *s, const char *data_root, struct loaded_plugin *storage,
               struct berth_err *err);
void store_close(struct image_store *s);
/* A storage layer being made (sid) until its owner's record is on disk. */
void store_pending_begin(struct image_store *s, const char *sid);
void store_pending_end(struct image_store *s, const char *sid);
/* At start-up, once the containers are loaded: remove the layers left
 * pending that no loaded layer record and no owned(sid) names. */
void store_sweep_pending(struct image_store *s, bool (*owned)(const char *sid));

/* Lookup by reference, full or short id (with or without sha256:), or
 * name@digest.  Caller holds s->lock.  NULL if absent. */
struct image *store_lookup_locked(struct image_store *s, const char *name);
/* an intermediate image: no name of its own, a child that is built on it
 * (docker's image list hides it unless asked for all) */
bool store_hidden_locked(struct image_store *s, const struct image *im);
/* an image built on id is in the store */
bool store_has_child_locked(struct image_store *s, const char *id);
/* the image name names and every image built on it, at any depth (ps's
 * ancestor filter), added to set (id -> true); false when name names none */
bool store_descendants(struct image_store *s, const char *name, json_t *set);
/* how many of images ims use each layer (chain id -> count), and the bytes
 * of im's layers another of them uses too (docker's SharedSize) */
json_t *store_layer_refs_locked(struct image_store *s, struct image *const *ims, size_t n);
uint64_t store_shared_size_locked(struct image_store *s, const struct image *im, json_t *refs);
/* 0 when image name is there and is of platform ("os[/arch[/variant]]",
 * or NULL/"": any), or is not there; docker's 404 "found but does not
 * match the specified platform" otherwise (the docker CLI then pulls) */
int store_check_platform(struct image_store *s, const char *name, const char *platform,
                         struct berth_err *err);
struct layer *store_layer_locked(struct image_store *s, const char *chain_id);
/* chain id of diff_id on top of parent_chain ("" for a base layer) */
void store_chain_of(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN + 1]);

/* Apply a layer tar (plain or gzip) on top of parent_chain ("" for none)
 * and record it; *out receives its chain id.  expect_diff_id, when given,
 * lets an existing layer be reused without reading and is verified.
 * Nothing is left behind on failure. */
int store_add_layer(struct image_store *s, const char *parent_chain, struct berth_reader *in,
                    const char *expect_diff_id, char out_chain[DIGEST_LEN + 1],
                    struct berth_err *err);
/* The same for a compressed blob already on disk and verified (a pull):
 * it becomes the stored blob as it is (renamed, not re-compressed). */
int store_add_layer_blob(struct image_store *s, const char *parent_chain, const char *blob_path,
                         const char *blob_digest, uint64_t blob_size, const char *expect_diff_id,
                         char out_chain[DIGEST_LEN + 1], struct berth_err *err);
/* Remove a layer no image uses (after a failed import). */
void store_drop_unused_layer(struct image_store *s, const char *chain_id);
/* Record an image for a config whose rootfs.diff_ids chain exists. */
int store_add_image(struct image_store *s, const char *config, size_t len, const char *parent,
                    char out_id[DIGEST_LEN + 1], struct berth_err *err);
/* Tag id with a canonical reference (replacing an older target). */
int store_tag(struct image_store *s, const char *id, const struct image_ref *ref,
              struct berth_err *err);
/* docker rmi semantics; fills result with [{"Untagged"}|{"Deleted"}]. */
/* store_tag and its "tag" event: a tag the user asked for (tag, build,
 * commit); pulls and loads record theirs without one, as docker's */
int store_tag_event(struct image_store *s, const char *id, const struct image_ref *ref,
                    struct berth_err *err);
int store_delete(struct image_store *s, const char *name, bool force, bool noprune, json_t *result,
                 struct berth_err *err);

/* Canonical references (sorted) that point to id; caller frees with free_strv. */
/* the tags of a repository (its canonical name), sorted; free_strv */
char **store_repo_tags_locked(struct image_store *s, const char *repo, size_t *n);
char **store_refs_of_locked(struct image_store *s, const char *id, size_t *n);
void free_strv(char **v, size_t n);

char *store_blob_path(struct image_store *s, const char *digest);
/* a layer whose blob is its plain tar gets a gzip-compressed one instead
 * (before a push); l, a copy, is updated */
int store_compress_layer(struct image_store *s, struct layer *l, struct berth_err *err);

/* Mount reference counting around the storage driver (used by export,
 * containers later). */
int store_mount_layer(struct image_store *s, const char *storage_id, char *path,
                      struct berth_err *err);
/* the same with the files seen through an id mapping (--userns-remap; the
 * driver's mount_idmapped).  A layer is mounted one way at a time: asking
 * the other way while it is mounted is ECONFLICT. */
struct idmap;
int store_mount_layer_idmapped(struct image_store *s, const char *storage_id,
                               const struct idmap *map, int userns_fd, char *path,
                               struct berth_err *err);
/* 0: one reference dropped (the last unmounts); 1: no mount of storage_id
 * is on record here (one made by an earlier berthd: the caller decides) */
int store_unmount_layer(struct image_store *s, const char *storage_id, struct berth_err *err);

/* The layer every container of an image starts from: "<top_sid>-init", a
 * child of the image's top storage layer filled once by fill(rootfd, arg)
 * on its mount, when first asked for (as docker makes an init layer per
 * container); removed with top_sid's layer.  out: its storage id. */
#define STORE_INIT_ID_MAX 72
typedef int store_fill_fn(int rootfd, void *arg, struct berth_err *err);
int store_init_layer(struct image_store *s, const char *top_sid, store_fill_fn *fill, void *arg,
                     char out[STORE_INIT_ID_MAX], struct berth_err *err);
/* A container's read-write layer on parent (an init layer's id, or NULL),
 * pending (store_pending_end once its record is on disk): the one made
 * ahead on that parent if there is one, else made now; either way the next
 * one on parent is made ahead (rwlayer.c).  id: 64 hex digits. */
int store_rw_layer(struct image_store *s, const char *parent, char id[65], struct berth_err *err);
/* before parent's removal: the layer made ahead on it goes */
void store_rw_ahead_drop(struct image_store *s, const char *parent);
/* at store_close: none made from now on, the one ready removed */
void store_rw_ahead_stop(struct image_store *s);
/* inspect's GraphDriver.Data of a layer: the driver's metadata rows */
json_t *store_graph_data(struct image_store *s, const char *storage_id);

#endif
