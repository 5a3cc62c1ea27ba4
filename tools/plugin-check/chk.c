/* TAP output and the accounting of calls into the driver. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

bool chk_quiet;
static int n_checks, n_failed;
static int inflight, max_inflight;
static __thread const char *cur_op;
static __thread const char *failed_service;
void (*chk_on_violation)(const char *op, const char *service);

void chk_ok(bool cond, const char *fmt, ...) {
  n_checks++;
  if (!cond) n_failed++;
  if (chk_quiet) return;
  printf("%sok %d - ", cond ? "" : "not ", n_checks);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

void chk_note(const char *fmt, ...) {
  if (chk_quiet) return;
  printf("# ");
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

void chk_counts(int *checks, int *failed) {
  *checks = n_checks;
  *failed = n_failed;
}

void chk_continue(int checks, int failed) {
  n_checks = checks;
  n_failed = failed;
}

int chk_done(void) {
  if (!chk_quiet) printf("1..%d\n", n_checks);
  return n_failed;
}

static pthread_mutex_t serial = PTHREAD_MUTEX_INITIALIZER;

static bool serialised(const struct target *t) {
  return !t->desc || !(t->desc->flags & BERTH_PLUGIN_F_THREADSAFE);
}

void chk_enter(const struct target *t, const char *op) {
  if (serialised(t)) pthread_mutex_lock(&serial); /* as berthd does */
  int now = __atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
  int seen = __atomic_load_n(&max_inflight, __ATOMIC_SEQ_CST);
  while (now > seen && !__atomic_compare_exchange_n(&max_inflight, &seen, now, false,
                                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  if (now > 1 && serialised(t))
    chk_ok(false, "%s: entered while another call is inside a driver that is not thread-safe", op);
  cur_op = op;
  failed_service = NULL;
}

int chk_leave(const struct target *t, int r) {
  if (r == 0 && failed_service && chk_on_violation) chk_on_violation(cur_op, failed_service);
  cur_op = NULL;
  failed_service = NULL;
  __atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
  if (serialised(t)) pthread_mutex_unlock(&serial);
  return r;
}

int chk_max_inflight(void) {
  return __atomic_load_n(&max_inflight, __ATOMIC_SEQ_CST);
}

const char *chk_current_op(void) {
  return cur_op;
}

void chk_service_failed(const char *service, bool must_propagate) {
  if (cur_op && must_propagate) failed_service = service;
}

void chk_buf_free(struct berth_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *chk_buf_str(const struct berth_buf *b) {
  char *s = malloc(b->len + 1);
  if (!s) abort();
  if (b->len) memcpy(s, b->data, b->len);
  s[b->len] = 0;
  return s;
}
