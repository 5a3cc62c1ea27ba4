/* Which driver op a thread is in, so that a fatal signal inside a driver is
 * reported with the driver's name and op before the process dies of it
 * (berthd: core/driver.c's calls; berth-shim: the log driver's). */
#ifndef BERTH_FAULT_H
#define BERTH_FAULT_H

#include "plugin.h"

struct fault_mark {
  const char *driver, *kind, *op;
};
extern __thread struct fault_mark fault_cur;

/* around one call: the previous mark is kept (calls nest) */
#define FAULT_ENTER(p, op_)                                                                        \
  struct fault_mark fault_prev_ = fault_cur;                                                       \
  fault_cur = (struct fault_mark) {                                                                \
    (p)->name, plugin_kind_name((int)(p)->desc.kind), (op_)                                        \
  }
#define FAULT_LEAVE() (fault_cur = fault_prev_)

/* SIGSEGV, SIGBUS, SIGILL, SIGFPE: "<who>: fatal signal N in the <kind>
 * driver '<name>', op <op>" on stderr (async-signal-safe), then the signal
 * kills the process as it would have (SA_RESETHAND).  Not installed in
 * sanitizer builds (theirs reports more). */
void fault_install(const char *who);

#endif
