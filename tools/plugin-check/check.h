/* berth-plugin-check: the conformance suites for every driver kind, and
 * what they share.  Built from the installed headers only (the berth/ ones) and
 * libc, libarchive, libcrypto: a third party can rebuild it.  The suites
 * also run in berth's own tree against the built-in drivers, through the
 * real loader and host (tests/plugin/conformance.c). */
#ifndef BERTH_PLUGIN_CHECK_H
#define BERTH_PLUGIN_CHECK_H

#include <berth/logger.h>
#include <berth/network.h>
#include <berth/registry.h>
#include <berth/storage.h>
#include <berth/volume.h>
#include <stdbool.h>

/* ---- TAP: "ok N - ...", "not ok N - ..." ---- */
void chk_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void chk_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int chk_done(void);    /* prints the plan; 0 when all passed */
extern bool chk_quiet; /* the fault sweep runs the suites without output */
/* the counters, handed from a child process to its parent */
void chk_counts(int *checks, int *failed);
void chk_continue(int checks, int failed);

/* What a suite tests: a driver initialised with a host. */
struct target {
  const struct berth_plugin *desc;
  const void *ops; /* desc->ops, or the host's zero-extended copy */
  void *drv;
  const struct berth_host *host;
  const char *scratch;  /* a directory the suite may use */
  const char *registry; /* "host:port" of a registry to test against, or NULL */
};

/* ---- every call into the driver goes through OP ----
 * It names the op (for a crash report), serialises calls into a driver not
 * flagged THREADSAFE (as berthd does; a THREADSAFE one is entered from
 * several threads at once by the suites' concurrent parts), counts the
 * calls inside the driver at once, and checks the fault sweep's rule: an op
 * during which a host service failed must not report success. */
void chk_enter(const struct target *t, const char *op);
int chk_leave(const struct target *t, int r);
#define OP(t_, op_, expr_)                                                                         \
  ({                                                                                               \
    chk_enter((t_), (op_));                                                                        \
    chk_leave((t_), (expr_));                                                                      \
  })
#define OP_VOID(t_, op_, expr_)                                                                    \
  do {                                                                                             \
    chk_enter((t_), (op_));                                                                        \
    expr_;                                                                                         \
    chk_leave((t_), -1);                                                                           \
  } while (0)

/* the most calls seen inside the driver at once */
int chk_max_inflight(void);
/* the op the calling thread is in, or NULL */
const char *chk_current_op(void);
/* a host service failed (fault injection) inside the current op */
void chk_service_failed(const char *service, bool must_propagate);
/* called by chk_leave when that rule is broken */
extern void (*chk_on_violation)(const char *op, const char *service);

void chk_buf_free(struct berth_buf *b);
/* a NUL-terminated copy of a buffer's bytes (the caller frees) */
char *chk_buf_str(const struct berth_buf *b);

/* ---- the suites: checks through chk_ok; -1 when one cannot run here ---- */
int suite_storage(struct target *t);
int suite_log(struct target *t);
int suite_network(struct target *t);
int suite_registry(struct target *t);
int suite_volume(struct target *t);

#endif
