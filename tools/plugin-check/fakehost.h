/* berth-plugin-check's host table: every service, each one able to fail on
 * request.  The counters live in memory shared with the parent process,
 * which runs each check in a child (a crashing driver cannot take the
 * checker with it). */
#ifndef BERTH_PLUGIN_CHECK_FAKEHOST_H
#define BERTH_PLUGIN_CHECK_FAKEHOST_H

#include "check.h"

enum fake_service {
  SVC_CONF_BIND,
  SVC_BUF_APPEND,
  SVC_STATE_PUT,
  SVC_STATE_GET,
  SVC_STATE_DEL,
  SVC_UNTAR,
  SVC_RUN_IN_NETNS,
  N_SERVICES
};
extern const char *const fake_services[N_SERVICES];

struct fake_shared {
  int calls[N_SERVICES]; /* how often each service was called */
  int fail_service;      /* -1: none */
  int fail_at;           /* that service's call number to fail (1-based) */
  char op[64];           /* the op a thread was in when the child crashed */
  char violation[256];   /* an op that reported success over a failure */
  int n_checks, n_failed;
};
extern struct fake_shared *fake_shared;

/* root_dir and run_dir under scratch; opts are -o "key=value" settings */
int fake_host_setup(struct berth_host *h, const char *scratch, const char *const *opts, size_t n,
                    bool verbose_log);
int fake_rm_rf(const char *path);

#endif
