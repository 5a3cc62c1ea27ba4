/* Driver faults.  Every call into a driver marks the thread with the
 * driver and op it is in (core/driver.c in berthd, the log writer in
 * berth-shim, init in the loader).  A fatal signal (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE) is then reported on stderr, async-signal-safely, as
 *   "<who>: fatal signal N in the <kind> driver '<name>', op <op>: ..."
 * and contained when that is safe: when the faulting instruction is in the
 * driver's own loaded file (not in berth, not in a library it called, whose
 * locks and state can no longer be trusted), the call returns as if it had
 * failed, and the driver is disabled: every later call fails with
 * EUNAVAILABLE without entering it.  Anything else kills the process as
 * the signal would have (the core is kept).  Not installed in sanitizer
 * builds (theirs reports more). */
#ifndef BERTH_FAULT_H
#define BERTH_FAULT_H

#include <setjmp.h>

#include "plugin.h"

struct fault_mark {
  const char *driver, *kind, *op;
  struct loaded_plugin *p; /* NULL outside a driver op */
  sigjmp_buf *jb;          /* where a contained fault returns */
};
extern __thread struct fault_mark fault_cur;

void fault_install(const char *who);
/* Record the address range of p's code (after loading its file). */
void fault_note_text(struct loaded_plugin *p, const void *entry);
/* Fill err for a call into a driver that faulted now or before. */
int fault_refuse(struct loaded_plugin *p, struct berth_err *err);

/* One guarded call: evaluates to expr's int result, or to -EUNAVAILABLE
 * (err filled) when the driver is disabled or faults in this call.  The
 * previous mark is kept (calls nest).  Use it in the function that owns
 * err; nothing declared before it is changed between the jump points. */
#define FAULT_CALL(p_, op_, err_, expr_)                                                           \
  ({                                                                                               \
    struct loaded_plugin *volatile fp_ = (p_);                                                     \
    int fr_;                                                                                       \
    if (__atomic_load_n(&fp_->faulted, __ATOMIC_ACQUIRE)) {                                        \
      fr_ = fault_refuse(fp_, (err_));                                                             \
    } else {                                                                                       \
      sigjmp_buf fjb_;                                                                             \
      struct fault_mark fprev_ = fault_cur;                                                        \
      fault_cur = (struct fault_mark){fp_->name, plugin_kind_name((int)fp_->desc.kind), (op_),     \
                                      fp_, &fjb_};                                                 \
      if (sigsetjmp(fjb_, 0) == 0)                                                                 \
        fr_ = (expr_);                                                                             \
      else                                                                                         \
        fr_ = fault_refuse(fp_, (err_));                                                           \
      fault_cur = fprev_;                                                                          \
    }                                                                                              \
    fr_;                                                                                           \
  })
/* The same for ops that return nothing. */
#define FAULT_CALL_VOID(p_, op_, expr_) ((void)FAULT_CALL(p_, op_, NULL, ((expr_), 0)))

#endif
