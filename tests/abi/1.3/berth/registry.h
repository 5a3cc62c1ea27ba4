/* berth plugin ABI 1.0 -- registry drivers: pure transport.
 *
 * The core owns reference normalisation, manifest parsing, platform
 * selection, digest verification of everything fetched, retries (get_blob
 * takes a resume offset), concurrency and progress.  A driver maps HTTP
 * 401 -> EUNAUTHORIZED, 403 -> EFORBIDDEN, 404 -> ENOTFOUND,
 * 429/5xx -> EUNAVAILABLE, and is never trusted for integrity.
 * A session is used by one thread at a time.
 */
#ifndef BERTH_REGISTRY_H
#define BERTH_REGISTRY_H
#include <berth/plugin.h>
#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_REG_PUSH (1u << 0)
#define BERTH_REG_F_MOUNT (1ull << 0)
#define BERTH_REG_F_SEARCH (1ull << 1)

struct berth_reg_auth {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  const char *username;
  const char *password;
  const char *identity_token;
  const char *registry_token;
};

struct berth_reg_target {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  const char *host;                  /* "docker.io", "127.0.0.1:5000" */
  const char *repo;                  /* "library/busybox" */
  const struct berth_reg_auth *auth; /* may be NULL: anonymous */
  uint32_t flags;                    /* BERTH_REG_PUSH */
};

/* A blob or manifest as the registry describes it (OCI's "descriptor"). */
struct berth_reg_desc {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  char media_type[128];
  char digest[80];
  uint64_t size;
};

struct berth_registry_ops {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  uint64_t features; /* BERTH_REG_F_* */
  /* --- required, since 1.0 --- */
  int (*open)(void *drv, const struct berth_reg_target *target, void **sess, struct berth_err *err);
  void (*close)(void *sess);
  int (*get_manifest)(void *sess, const char *ref, const char *const *accept,
                      struct berth_buf *body, struct berth_reg_desc *desc, struct berth_err *err);
  int (*stat_blob)(void *sess, const char *digest, struct berth_reg_desc *desc,
                   struct berth_err *err);
  int (*get_blob)(void *sess, const char *digest, uint64_t offset, struct berth_writer *out,
                  struct berth_err *err);
  int (*put_blob)(void *sess, const struct berth_reg_desc *desc, const char *mount_from,
                  struct berth_reader *in, struct berth_err *err);
  int (*put_manifest)(void *sess, const char *ref, const char *media_type, const void *body,
                      size_t len, struct berth_reg_desc *out, struct berth_err *err);
  /* --- optional, since 1.0 --- */
  int (*login)(void *drv, const char *host, const struct berth_reg_auth *auth,
               struct berth_buf *identity_token, struct berth_err *err);
  /* One tag per line. */
  int (*list_tags)(void *sess, struct berth_buf *tags, struct berth_err *err);
  /* A JSON array of {name, description, star_count, is_official, is_automated}. */
  int (*search)(void *drv, const char *host, const char *term, uint32_t limit,
                struct berth_buf *results, struct berth_err *err);
  /* --- optional, since 1.2 --- */
  /* search with the client's credentials: target->host, target->auth (may
   * be NULL), target->repo "" and target->flags 0.  berthd
   * calls it instead of search when the driver has it. */
  int (*search_as)(void *drv, const struct berth_reg_target *target, const char *term,
                   uint32_t limit, struct berth_buf *results, struct berth_err *err);
};

#ifdef __cplusplus
}
#endif
#endif
