/* Shared helpers for berthd, berth-shim and the CLI: cleanup attributes,
 * ownership moves, logging, files written atomically, digests. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <berth/plugin.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_dir __attribute__((cleanup(cleanup_dirp)))

static inline void cleanup_freep(void *p) {
  free(*(void **)p);
}
static inline void cleanup_closep(int *fd) {
  if (*fd >= 0) close(*fd);
}
static inline void cleanup_fclosep(FILE **f) {
  if (*f) fclose(*f);
}
static inline void cleanup_dirp(DIR **d) {
  if (*d) closedir(*d);
}

/* Hand a pointer / fd on and leave the local empty, so its cleanup is a no-op. */
#define move_ptr(p)                                                                                \
  ({                                                                                               \
    __typeof__(p) move_ptr_tmp_ = (p);                                                             \
    (p) = NULL;                                                                                    \
    move_ptr_tmp_;                                                                                 \
  })
#define move_fd(fd)                                                                                \
  ({                                                                                               \
    int move_fd_tmp_ = (fd);                                                                       \
    (fd) = -1;                                                                                     \
    move_fd_tmp_;                                                                                  \
  })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Logging to stderr with a level; berth_log_level is set from --debug. */
extern int berth_log_threshold;
void berth_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berth_vlog(int level, const char *prefix, const char *fmt, va_list ap);
#define log_error(...) berth_log(BERTH_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) berth_log(BERTH_LOG_WARN, __VA_ARGS__)
#define log_info(...) berth_log(BERTH_LOG_INFO, __VA_ARGS__)
#define log_debug(...) berth_log(BERTH_LOG_DEBUG, __VA_ARGS__)

/* Errors with errno: "<what>: strerror" */
#define err_sys(err, code, ...) err_sys_(err, code, errno, __VA_ARGS__)
int err_sys_(struct berth_err *err, int code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix an existing error message with context: "ctx: old". Returns -code. */
int err_wrap(struct berth_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A Go duration ("1h30m", "1.5s", "-2m"): 0 and *ns, or -1 */
int parse_go_duration(const char *s, int64_t *ns);
/* docker's GetTimestamp (since, until): a Go duration back from now, a
 * date or RFC 3339 time (local without a zone), or unix seconds[.nanos];
 * 0 and *ns, or -1 */
int docker_timestamp(const char *v, int64_t *ns);
/* strerror(e) as Go's syscall.Errno prints it (lower case), into buf */
const char *go_errstr(int e, char *buf, size_t len);
/* HTTP status for an error code. */
int err_http_status(int code);

/* Memory that never fails silently: abort on OOM (a daemon cannot recover
 * from it meaningfully in the middle of an operation anyway). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n); /* n bytes of s, NUL added */
/* qsort's comparator for an array of strings: byte order */
int strp_cmp(const void *a, const void *b);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A string that grows; s is NUL-terminated from the first add on */
struct strbuf {
  char *s;
  size_t len, cap;
};
void strbuf_add(struct strbuf *b, const char *s, size_t n);
static inline void strbuf_str(struct strbuf *b, const char *s) {
  strbuf_add(b, s, strlen(s));
}

/* Work on the daemon's state by a thread main never joins (a container's
 * exit, a network's unplumbing, a health probe): main calls work_drain
 * before it frees that state (the plugins, the config), and it returns once
 * every work_begin has had its work_end.  work_begin is false from the
 * drain on: the work is not begun (a container's exit is read from disk at
 * the next start).  Without it such a thread could be in a driver main had
 * unloaded. */
bool work_begin(void);
void work_end(void);
void work_drain(void);

/* Files */
int mkdir_p(const char *path, mode_t mode);
int rm_rf(const char *path); /* 0 or -errno; a missing path is fine */
/* path renamed at once into .removed/ beside it (atomic: a crash leaves
 * all of it or none) and deleted there by a thread of its own; a failed
 * rename deletes it here.  rm_rf_sweep(dir): what an earlier run left in
 * dir/.removed goes the same way. */
int rm_rf_later(const char *path);
void rm_rf_sweep(const char *dir);
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same replace by rename (a reader sees the old file or the new one,
 * never a part) without the fsyncs: for files berthd makes again before
 * every use (spec.json, /etc/hosts, hostname, resolv.conf), which a power
 * cut may lose but never tear. */
int write_file_derived(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole file; returns NULL with errno set.  *len optional. */
char *read_file(const char *path, size_t *len);
int fsync_dir(const char *dir);
bool path_exists(const char *path);
int copy_tree(const char *src, const char *dst); /* cp -a, 0 or -errno */
/* A mount option list ("ro,noexec,size=1m,mode=1777") split as mount(8)
 * and docker split it: the flags it names set on or cleared from flags,
 * the rest (size=, mode=, uid=…) the filesystem's data.  Returns the
 * flags; data gets the rest. */
unsigned long mount_options(const char *opts, unsigned long flags, char *data, size_t len);

/* Write all of buf to fd (EINTR and short writes handled); 0 or -1. */
int write_all_fd(int fd, const void *buf, size_t len);

/* Digests: "sha256:<64 hex>" strings are 71 chars + NUL. */
#define DIGEST_LEN 71
struct sha256_ctx;
struct sha256_ctx *sha256_new(void);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final_hex(struct sha256_ctx *c, char out[65]); /* frees c */
void sha256_free(struct sha256_ctx *c);
void sha256_hex(const void *data, size_t len, char out[65]);
bool is_hex(const char *s, size_t n);
void random_hex(char *out, size_t nbytes); /* writes 2*nbytes hex + NUL */

/* Time */
int64_t now_ns(void);
/* the clock's time ms from now: a pthread_cond_timedwait deadline */
struct timespec deadline_after_ms(clockid_t clock, int ms);
void format_rfc3339(int64_t ns, char *out, size_t len); /* 2006-01-02T15:04:05.000000000Z */
int64_t parse_rfc3339(const char *s);                   /* ns, or INT64_MIN on error */

/* Phase timing: with BERTH_TRACE set in berthd's environment, one log
 * line per phase ("trace <id> <phase> <ms>") for bench/'s breakdowns;
 * returns now, the start of the next phase.  Costs one load when off. */
int64_t trace_phase(const char *id, const char *phase, int64_t since_ns);

/* a device cgroup access: one to three of r, w, m, none twice (docker's
 * rule for --device's PERMS and --device-cgroup-rule) */
bool device_access_valid(const char *a);

/* A crash test's hook: when BERTH_FAILPOINT names this point, the process
 * kills itself with SIGKILL there (tests/integration/faults.sh), as a power
 * cut or an OOM kill would; "<point>:sleep" makes it a 500 ms pause instead
 * (a race made certain).  Unset (always, outside tests), one load. */
void failpoint(const char *name);

/* "3 minutes", "About an hour": docker's (go-units) HumanDuration */
void human_duration(int64_t seconds, char *out, size_t len);

/* Strings */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
bool parse_bool_value(const char *s); /* moby's BoolValue */
/* a signal name/number ("TERM", "SIGKILL", "9"); -1 if unknown */
int parse_signal(const char *s);

/* docker's --detach-keys syntax ("ctrl-p,ctrl-q", "a,ctrl-@") to bytes;
 * out holds up to 16.  false for bad syntax. */
bool parse_detach_keys(const char *s, unsigned char *out, size_t *n);

/* In a forked child: close every fd >= 3 but those in keep (reordered).
 * Async-signal-safe (close_range, no allocation). */
void close_fds_except(int *keep, size_t n);

/* base64: decode accepts standard and URL-safe alphabets, padding optional;
 * encode with url=true uses '-' '_' (padded). Both NUL-terminate. */
char *base64_decode(const char *in, size_t *out_len);
char *base64_encode(const void *data, size_t len, bool url);

/* Append to a host-owned berth_buf (the host table's buf_append), always
 * NUL-terminated.  0 or -BERTH_EINTERNAL. */
int host_buf_append(struct berth_buf *buf, const void *data, size_t len);

/* This machine in docker's words, computed once: "amd64", "linux/amd64". */
const char *host_arch(void);
const char *host_platform(void);

#endif
