/* Seccomp: the calls Docker's default profile refuses, answered with EPERM
 * (libseccomp, default allow).  Docker's profile is an allowlist of ~350
 * calls; this is the equivalent denylist for the calls that matter on
 * x86_64, kept in one table. */
#include <sched.h>
#include <seccomp.h>

#include "runtime.h"

static const char *const denied[] = {
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
    "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy",
    "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
    "lookup_dcookie", "mbind", "migrate_pages", "mount", "mount_setattr", "move_mount",
    "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree",
    "perf_event_open", "pivot_root", "query_module", "quotactl", "quotactl_fd", "reboot",
    "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon",
    "_sysctl", "syslog", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat",
    "vhangup", "vm86", "vm86old", "adjtimex"};

int rt_seccomp_load(struct berth_err *err) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return berth_err_set(err, BERTH_EINTERNAL, 0, "seccomp_init failed");
  int r = 0;
  for (size_t i = 0; i < ARRAY_SIZE(denied) && r == 0; i++) {
    int nr = seccomp_syscall_resolve_name(denied[i]);
    if (nr == __NR_SCMP_ERROR || nr < 0) continue; /* not on this architecture */
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  /* clone/clone3 creating a user namespace */
  if (r == 0)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
  if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (r == 0) r = seccomp_load(ctx);
  seccomp_release(ctx);
  if (r < 0) return berth_err_set(err, BERTH_EINTERNAL, -r, "seccomp: %s", strerror(-r));
  return 0;
}
