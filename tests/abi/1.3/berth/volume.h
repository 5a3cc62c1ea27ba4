/* berth plugin ABI 1.1 -- volume drivers (like docker's VolumeDriver
 * protocol: Create, Remove, Mount, Unmount, Path, Get, List, Capabilities).
 *
 * Since 1.1: the fifth kind, added by the ABI's own rules (a new kind and
 * its header; nothing of 1.0 changed).  A plugin of this kind is built with
 * abi_minor >= 1; berthd 1.0 refuses it as "newer than this berthd".
 *
 * berthd keeps each volume's record (name, driver, labels, options, which
 * containers use it, written atomically) and refuses to remove a volume a
 * container uses; the driver keeps the data and whatever state of its own
 * it needs (host->state_put).  mount is called before a container that uses
 * the volume starts, with the container's id; unmount after it stops, with
 * the same id: a driver that needs it counts users per id.
 */
#ifndef BERTH_VOLUME_H
#define BERTH_VOLUME_H
#include <berth/plugin.h>
#ifdef __cplusplus
extern "C" {
#endif

/* The longest path a driver writes into a path argument, with its NUL. */
#define BERTH_VOLUME_PATH_MAX 4096

/* Capabilities (berth_volume_ops.scope): docker's "local" / "global". */
#define BERTH_VOLUME_SCOPE_LOCAL 0u
#define BERTH_VOLUME_SCOPE_GLOBAL 1u

struct berth_volume_create_req {
  uint32_t struct_size;
  /* --- since 1.1 --- */
  const char *name;            /* docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
  const struct berth_kv *opts; /* DriverOpts (-o k=v); walk with BERTH_ELEM */
  size_t n_opts;
};

struct berth_volume_ops {
  uint32_t struct_size;
  /* --- since 1.1 --- */
  uint64_t features; /* none defined yet: 0 */
  uint32_t scope;    /* BERTH_VOLUME_SCOPE_* */
  uint32_t reserved0;
  /* --- required, since 1.1 --- */
  /* Make the volume.  An option the driver does not know is EINVAL, with
   * docker's wording: "invalid option: \"k\"".  ECONFLICT if it exists. */
  int (*create)(void *drv, const struct berth_volume_create_req *req, struct berth_err *err);
  /* Remove it and its data; a name the driver does not have is not an
   * error (idempotent: berthd repeats a remove a crash cut short). */
  int (*remove)(void *drv, const char *name, struct berth_err *err);
  /* Make it available to container id and write the host path to bind
   * into the container (NUL terminated, path_len bytes at most). */
  int (*mount)(void *drv, const char *name, const char *id, char *path, size_t path_len,
               struct berth_err *err);
  /* Container id is done with it; safe to repeat. */
  int (*unmount)(void *drv, const char *name, const char *id, struct berth_err *err);
  /* Where its data is on the host (inspect's Mountpoint); "" when it has
   * none until mounted.  ENOTFOUND for a name the driver does not have. */
  int (*path)(void *drv, const char *name, char *path, size_t path_len, struct berth_err *err);
  /* --- optional (NULL: berthd does without), since 1.1 --- */
  /* inspect's Status: a JSON object appended to out.  ENOTFOUND as path. */
  int (*get)(void *drv, const char *name, struct berth_buf *out, struct berth_err *err);
  /* The names the driver has, each followed by '\n', appended to out. */
  int (*list)(void *drv, struct berth_buf *out, struct berth_err *err);
};

#ifdef __cplusplus
}
#endif
#endif
