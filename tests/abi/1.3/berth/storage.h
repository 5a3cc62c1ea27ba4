/* berth plugin ABI 1.3 -- storage drivers (like moby's graphdriver).
 *
 * A storage driver keeps layers identified by ids the core chooses.  A
 * read-only layer is created with a parent (or none) and filled once with
 * apply_diff; a container's read-write layer is made with create_rw.  The
 * core keeps the layer graph, mount reference counts and the naive
 * fallbacks; the driver only stores directories.
 *
 * Threading: calls are serialised by the core unless the driver is flagged
 * BERTH_PLUGIN_F_THREADSAFE; never two calls at once for the same id.
 * remove and unmount are safe to repeat (crash recovery relies on it).
 */
#ifndef BERTH_STORAGE_H
#define BERTH_STORAGE_H
#include <berth/plugin.h>
#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_STORAGE_PATH_MAX 4096

struct berth_storage_create_req {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  const char *id;              /* new layer id: [0-9a-f]{64} */
  const char *parent;          /* parent layer id or NULL */
  const struct berth_kv *opts; /* --storage-opt, may be NULL */
  size_t n_opts;
};

/* An id mapping for mount_idmapped (--userns-remap). */
struct berth_storage_idmap {
  uint32_t struct_size;
  /* --- since 1.3 --- */
  int userns_fd; /* a user namespace with the mapping (for MOUNT_ATTR_IDMAP) */
  uint32_t uid;  /* the host uid of the container's uid 0 */
  uint32_t gid;  /* the host gid of its gid 0 */
  uint32_t size; /* ids mapped from there */
};

/* Feature bits in berth_storage_ops.features. */
#define BERTH_STORAGE_F_NATIVE_DIFF (1ull << 0) /* diff/changes are native */

struct berth_storage_ops {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  uint64_t features;
  /* --- required, since 1.0 --- */
  /* Create an empty read-only layer on top of parent.  ECONFLICT if id exists. */
  int (*create)(void *drv, const struct berth_storage_create_req *req, struct berth_err *err);
  /* Remove a layer; ENOTFOUND is not returned for a missing id (idempotent). */
  int (*remove)(void *drv, const char *id, struct berth_err *err);
  /* 1 if present, 0 if not, -code with err when it cannot tell (an I/O
   * error must not read as "absent": the core would drop the layer). */
  int (*exists)(void *drv, const char *id, struct berth_err *err);
  /* Make the layer's full filesystem visible; writes its path (NUL
   * terminated) into path, which holds path_len bytes (the core passes
   * BERTH_STORAGE_PATH_MAX).  The core counts references and calls mount
   * once per first user. */
  int (*mount)(void *drv, const char *id, const char *mount_label, char *path, size_t path_len,
               struct berth_err *err);
  /* Undo mount; safe to repeat. */
  int (*unmount)(void *drv, const char *id, struct berth_err *err);
  /* Human-readable status rows appended as "key\tvalue\n" into out. */
  int (*status)(void *drv, struct berth_buf *out, struct berth_err *err);
  /* --- optional (NULL: the core uses its fallback or reports ENOTSUP), since 1.0 --- */
  /* Create a read-write layer (containers); NULL: create is used. */
  int (*create_rw)(void *drv, const struct berth_storage_create_req *req, struct berth_err *err);
  /* Driver data for inspect's GraphDriver.Data, "key\tvalue\n" rows. */
  int (*metadata)(void *drv, const char *id, struct berth_buf *out, struct berth_err *err);
  /* Write the layer's changes against its parent as a tar to out. */
  int (*diff)(void *drv, const char *id, const char *parent, struct berth_writer *out,
              struct berth_err *err);
  /* Changes as "K\tpath\n" rows, K being C, A or D. */
  int (*changes)(void *drv, const char *id, const char *parent, struct berth_buf *out,
                 struct berth_err *err);
  /* Fill the (new, empty) layer id from a layer tar.  NULL: the core mounts
   * the layer and extracts into the mount, applying whiteouts by deletion.
   * Sets *size to the bytes the layer adds, when known. */
  int (*apply_diff)(void *drv, const char *id, const char *parent, struct berth_reader *tar,
                    uint64_t *size, struct berth_err *err);
  /* Bytes the layer adds on top of its parent. */
  int (*diff_size)(void *drv, const char *id, const char *parent, uint64_t *size,
                   struct berth_err *err);
  /* --- optional, since 1.3 --- */
  /* mount, with the layer's files seen through map's id mapping
   * (--userns-remap): a file stored as uid 0 shows as map->uid, and what
   * the container's uid 0 (map->uid on the host) creates is stored as 0.
   * What is stored stays as the image has it, so diff, changes and a
   * later plain mount see no difference.  The same path as mount; the core
   * never has a layer mounted both ways at once and undoes either with
   * unmount.  NULL: the core refuses --userns-remap with this driver. */
  int (*mount_idmapped)(void *drv, const char *id, const char *mount_label,
                        const struct berth_storage_idmap *map, char *path, size_t path_len,
                        struct berth_err *err);
};

#ifdef __cplusplus
}
#endif
#endif
