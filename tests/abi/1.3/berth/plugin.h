/* berth plugin ABI 1.1 -- the common part every driver includes.
 *
 * History.  1.0 as first released had structs without struct_size
 * (berth_err, berth_kv, berth_reader, berth_writer, the registry
 * descriptor), a key table whose element size the host could not know,
 * storage exists() that could not report an error and mount() without a
 * buffer size.  With one out-of-tree user, 1.0 was closed for growth in
 * place (berth 0.1, issue 10) instead of waiting for 2.0: every struct
 * below crosses the boundary with its size, arrays of structs carry it per
 * element.  Everything in these headers is "since 1.0" unless marked.
 *
 * 1.1 (berth 0.2, issue 12) adds a kind: volume drivers (berth/volume.h,
 * BERTH_KIND_VOLUME).  Nothing of 1.0 changed: 1.0 plugins load as they
 * did, and tests/abi checks the 1.0 types against their frozen baseline.
 *
 * Rules (DESIGN.md section 3):
 *  - A plugin exports exactly one symbol, emitted by BERTH_PLUGIN_DEFINE.
 *  - Every struct crossing the boundary starts with a uint32_t struct_size.
 *    A minor release only appends; berthd copies a plugin's structs into
 *    zeroed structs of its own size, so members an older plugin lacks read
 *    as 0 / NULL.
 *  - berthd loads a plugin iff magic matches, abi_major is equal and the
 *    plugin's abi_minor is not newer than berthd's.
 *  - No memory is freed across the boundary: output goes into host-owned
 *    buffers (struct berth_buf, filled through host->buf_append) or into
 *    caller-owned fixed-size fields.
 *  - Every method returns 0 or -code (enum berth_errcode) and fills the
 *    caller-owned struct berth_err.
 *  - load, init and fini run on berthd's main thread.  Other methods are
 *    serialised by the core unless the plugin sets BERTH_PLUGIN_F_THREADSAFE,
 *    in which case they may run concurrently, never twice at once for the
 *    same object.
 */
#ifndef BERTH_PLUGIN_H
#define BERTH_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_PLUGIN_MAGIC 0x48545242u /* "BRTH" little-endian */
#define BERTH_ABI_MAJOR 1u
#define BERTH_ABI_MINOR 3u

enum berth_plugin_kind {
  BERTH_KIND_STORAGE = 1,
  BERTH_KIND_NETWORK = 2,
  BERTH_KIND_LOGGER = 3,
  BERTH_KIND_REGISTRY = 4,
  BERTH_KIND_VOLUME = 5, /* since 1.1 */
};

/* Plugin flags (struct berth_plugin.flags). */
#define BERTH_PLUGIN_F_THREADSAFE (1ull << 0)

/* The closed set of error codes; the core maps them to HTTP statuses:
 * EINVAL 400, EUNAUTHORIZED 401, EFORBIDDEN 403, ENOTFOUND 404,
 * ECONFLICT 409, ECANCELED 499/500, EINTERNAL 500, ENOTSUP 501,
 * EUNAVAILABLE 503.  ESKIP from init means "not usable on this host". */
enum berth_errcode {
  BERTH_OK = 0,
  BERTH_EINVAL = 1,
  BERTH_EUNAUTHORIZED = 2,
  BERTH_EFORBIDDEN = 3,
  BERTH_ENOTFOUND = 4,
  BERTH_ECONFLICT = 5,
  BERTH_ECANCELED = 6,
  BERTH_EINTERNAL = 7,
  BERTH_ENOTSUP = 8,
  BERTH_EUNAVAILABLE = 9,
  BERTH_ESKIP = 10,
};
#define BERTH_ERRCODE_MAX BERTH_ESKIP

/* Caller-owned error record.  msg is always NUL-terminated.  struct_size
 * 0 (what a {0} initialiser gives) means the 1.0 layout; a later minor that
 * appends fields sets it, and writers of those fields check it. */
struct berth_err {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  int code;      /* enum berth_errcode, 0 when no error */
  int sys_errno; /* errno behind the error, or 0 */
  char msg[512];
};

/* Fill *err and return -code, so a failure is one line:
 *   return berth_err_set(err, BERTH_ENOTFOUND, 0, "layer %s not found", id);
 * A NULL err is allowed. */
static inline int
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    berth_err_set(struct berth_err *err, int code, int sys_errno, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    err->sys_errno = sys_errno;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return -code;
}

/* Element i of an array of structs that start with struct_size (berth_kv
 * arrays, key tables): walk arrays with the element size they were built
 * with, never with this build's sizeof. */
#define BERTH_ELEM(array_, i_)                                                                     \
  ((__typeof__(&(array_)[0]))((const char *)(array_) + (size_t)(i_) * (array_)[0].struct_size))

/* Key/value pair; both strings are owned by whoever passes the array. */
struct berth_kv {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  const char *key;
  const char *value;
};

/* Host-owned growable buffer.  Plugins append only through
 * host->buf_append; the host frees it. */
struct berth_buf {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  char *data;
  size_t len;
  size_t cap;
};

/* Byte streams owned by the caller.  read returns bytes read, 0 at EOF,
 * -1 with errno on error; write returns bytes written or -1 with errno. */
struct berth_reader {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  void *ctx;
  ssize_t (*read)(void *ctx, void *buf, size_t len);
};
struct berth_writer {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  void *ctx;
  ssize_t (*write)(void *ctx, const void *buf, size_t len);
};
#define BERTH_READER(ctx_, fn_) ((struct berth_reader){sizeof(struct berth_reader), (ctx_), (fn_)})
#define BERTH_WRITER(ctx_, fn_) ((struct berth_writer){sizeof(struct berth_writer), (ctx_), (fn_)})

/* Declarative configuration binding (nginx's ngx_command_t idea).  The host
 * reads the driver's daemon.conf group "<kind>.<name>", writes each key into
 * target+offset, fails on unknown keys and bad values with
 * "daemon.conf:LINE: ...".  Strings are host-owned, valid until fini. */
enum berth_conf_type {
  BERTH_CONF_STRING = 1, /* const char *            */
  BERTH_CONF_INT = 2,    /* int64_t                 */
  BERTH_CONF_BOOL = 3,   /* int (0 or 1)            */
  BERTH_CONF_SIZE = 4,   /* uint64_t, "64m", "1g"   */
};
/* One key of a table.  Every element carries its size, so a host steps
 * through a table built with an older or newer header correctly: write
 * tables with BERTH_CONF_KEY. */
struct berth_conf_key {
  uint32_t struct_size; /* sizeof(struct berth_conf_key) of the plugin's build */
  /* --- since 1.0 --- */
  const char *name;
  int type;        /* enum berth_conf_type */
  size_t offset;   /* offsetof(struct my_conf, field) */
  const char *def; /* default as text, or NULL for none */
};
#define BERTH_CONF_KEY(name_, type_, conf_struct_, field_, def_)                                   \
  { sizeof(struct berth_conf_key), (name_), (type_), offsetof(conf_struct_, field_), (def_) }

/* Flags for host->untar. */
#define BERTH_UNTAR_WHITEOUT_DELETE 0u  /* apply .wh. entries by deleting */
#define BERTH_UNTAR_WHITEOUT_OVERLAY 1u /* keep as 0/0 char devices + opaque xattr */

enum berth_log_level {
  BERTH_LOG_ERROR = 0,
  BERTH_LOG_WARN = 1,
  BERTH_LOG_INFO = 2,
  BERTH_LOG_DEBUG = 3
};

/* Services berthd offers a driver.  One table per loaded driver, valid from
 * init until after fini.  Every function may be called from any thread. */
struct berth_host {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  uint32_t abi_minor;   /* the host's minor: newer methods exist iff non-NULL */
  const char *root_dir; /* <data-root>/<kind>/<name>, created by the host */
  const char *run_dir;  /* <exec-root>/<kind>/<name>, created by the host */

  void (*log)(const struct berth_host *host, int level, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;
  /* Bind the driver's config group to target with the key table above. */
  int (*conf_bind)(const struct berth_host *host, const struct berth_conf_key *keys, size_t n_keys,
                   void *target, struct berth_err *err);
  /* Append to a host-owned buffer.  Returns 0 or -BERTH_EINTERNAL. */
  int (*buf_append)(const struct berth_host *host, struct berth_buf *buf, const void *data,
                    size_t len);
  /* Per-object key/value state under root_dir, written atomically. */
  int (*state_put)(const struct berth_host *host, const char *object, const char *key,
                   const void *value, size_t len, struct berth_err *err);
  int (*state_get)(const struct berth_host *host, const char *object, const char *key,
                   struct berth_buf *out, struct berth_err *err); /* ENOTFOUND if absent */
  int (*state_del)(const struct berth_host *host, const char *object, const char *key,
                   struct berth_err *err); /* safe to repeat */
  /* Extract a layer tar read from in into dir with the host's checks
   * (no absolute paths, no "..", no symlink escapes, no hard links out of
   * the layer, device nodes only under /dev).  On failure dir may hold a
   * partial extraction; the caller removes it. */
  int (*untar)(const struct berth_host *host, struct berth_reader *in, const char *dir,
               uint32_t flags, struct berth_err *err);
  /* Run fn(arg) on a thread that has joined the network namespace at
   * netns_path; returns fn's result. */
  int (*run_in_netns)(const struct berth_host *host, const char *netns_path,
                      int (*fn)(void *arg, struct berth_err *err), void *arg,
                      struct berth_err *err);

  void *host_private; /* berthd's; plugins must not touch it */
};

/* The descriptor.  The first 16 bytes never change in any ABI version. */
struct berth_plugin {
  uint32_t magic;       /* BERTH_PLUGIN_MAGIC */
  uint32_t abi_major;   /* BERTH_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;   /* BERTH_ABI_MINOR the plugin was built with */
  uint32_t struct_size; /* sizeof(struct berth_plugin) at build time */
  /* --- since 1.0 --- */
  uint32_t kind; /* enum berth_plugin_kind */
  uint32_t reserved0;
  const char *name;    /* driver name, e.g. "overlay"; unique per kind */
  const char *version; /* the driver's own version string */
  const char *description;
  uint64_t flags; /* BERTH_PLUGIN_F_* */
  /* Called once on the main thread with this driver's host table.  Set
   * *drv to the driver's private state.  Return -BERTH_ESKIP when the
   * driver cannot work on this host (the message says why). */
  int (*init)(const struct berth_host *host, void **drv, struct berth_err *err);
  /* Called once on the main thread at shut-down; may be NULL. */
  void (*fini)(void *drv);
  /* Kind-specific ops table (struct berth_storage_ops ...), starting with
   * uint32_t struct_size. */
  const void *ops;
};

#if defined(__GNUC__)
#define BERTH_EXPORT __attribute__((visibility("default")))
#else
#define BERTH_EXPORT
#endif

#define BERTH_CAT_(a, b) a##b
#define BERTH_CAT(a, b) BERTH_CAT_(a, b)

/* BERTH_PLUGIN_DEFINE(ident, kind, "name", version, description, flags, init,
 * fini, ops) emits the one exported symbol, <ident>_LTX_berth_plugin_entry
 * (libltdl's convention), so the same driver links as a .so or as a
 * built-in.  The file is "<name>.so"; ident is name with every character
 * that is not a letter or digit replaced by '_' ("json-file" -> json_file). */
/* The designated-initialiser form: name the descriptor's fields, so fields a
 * later minor appends can be set too.
 *
 *   BERTH_PLUGIN(my_log, .kind = BERTH_KIND_LOGGER, .name = "my-log",
 *                .version = "1.0.0", .init = my_init, .ops = &my_ops);
 */
#define BERTH_PLUGIN(ident_, ...)                                                                  \
  static const struct berth_plugin BERTH_CAT(ident_, _berth_descriptor) = {                        \
      .magic = BERTH_PLUGIN_MAGIC,                                                                 \
      .abi_major = BERTH_ABI_MAJOR,                                                                \
      .abi_minor = BERTH_ABI_MINOR,                                                                \
      .struct_size = sizeof(struct berth_plugin),                                                  \
      __VA_ARGS__};                                                                                \
  BERTH_EXPORT const struct berth_plugin *BERTH_CAT(ident_, _LTX_berth_plugin_entry)(void);        \
  BERTH_EXPORT const struct berth_plugin *BERTH_CAT(ident_, _LTX_berth_plugin_entry)(void) {       \
    return &BERTH_CAT(ident_, _berth_descriptor);                                                  \
  }

/* The positional form, for the 1.0 fields. */
#define BERTH_PLUGIN_DEFINE(ident_, kind_, name_, version_, desc_, flags_, init_, fini_, ops_)     \
  BERTH_PLUGIN(ident_, .kind = (kind_), .name = (name_), .version = (version_),                    \
               .description = (desc_), .flags = (flags_), .init = (init_), .fini = (fini_),        \
               .ops = (ops_))

typedef const struct berth_plugin *(*berth_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif
