/* berth plugin ABI 1.0 -- log sinks (like moby's logger).
 *
 * berth-shim opens a sink per container and calls log() for every line.
 * log() copies what it needs: the message is host memory reused after the
 * call.  A sink may serve reads (BERTH_LOG_F_READ) so `berth logs` works;
 * follow is driven by the host, which calls read_next with a timeout.
 * log() and a reader on the same container may run concurrently.
 * close() is called after the container's exit has been reported (wait,
 * stop and run --rm do not wait for it): a line a sink serves must be
 * readable once log() has returned, not only after close().
 */
#ifndef BERTH_LOGGER_H
#define BERTH_LOGGER_H
#include <berth/plugin.h>
#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_LOG_F_READ (1ull << 0)

/* Returned by read_next (as positive values). */
#define BERTH_LOG_EOF 1
#define BERTH_LOG_AGAIN 2

enum berth_log_stream { BERTH_STREAM_STDOUT = 1, BERTH_STREAM_STDERR = 2 };

struct berth_log_msg {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  uint32_t stream;  /* enum berth_log_stream */
  int64_t time_ns;  /* unix time in ns */
  const char *line; /* without the trailing '\n' unless partial */
  size_t len;
  uint32_t partial; /* 1: the line continues in the next message */
};

struct berth_log_info {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  const char *container_id;
  const char *container_name;
  const char *image_id;
  const char *image_name;
  int64_t created_ns;
  const char *log_path;        /* core-chosen file for file-backed sinks */
  const struct berth_kv *opts; /* --log-opt */
  size_t n_opts;
};

struct berth_log_read_cfg {
  uint32_t struct_size;
  int64_t since_ns; /* 0: from the start */
  int64_t until_ns; /* 0: no end */
  int64_t tail;     /* -1: all */
  uint32_t follow;
};

struct berth_logger_ops {
  uint32_t struct_size;
  /* --- since 1.0 --- */
  uint64_t features; /* BERTH_LOG_F_* */
  /* --- required, since 1.0 --- */
  int (*open)(void *drv, const struct berth_log_info *info, void **sink, struct berth_err *err);
  int (*log)(void *sink, const struct berth_log_msg *msg, struct berth_err *err);
  int (*close)(void *sink, struct berth_err *err);
  /* --- optional, since 1.0 --- */
  int (*validate_opts)(void *drv, const struct berth_kv *opts, size_t n, struct berth_err *err);
  int (*read_open)(void *drv, const struct berth_log_info *info,
                   const struct berth_log_read_cfg *cfg, void **reader, struct berth_err *err);
  /* 0 with *out filled (valid until the next call), BERTH_LOG_EOF,
   * BERTH_LOG_AGAIN after timeout_ms with nothing new, or -code. */
  int (*read_next)(void *reader, struct berth_log_msg *out, int timeout_ms, struct berth_err *err);
  void (*read_close)(void *reader);
};

#ifdef __cplusplus
}
#endif
#endif
