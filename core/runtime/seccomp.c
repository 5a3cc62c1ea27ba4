/* Seccomp: the calls Docker's default profile refuses, answered with EPERM
 * (libseccomp, default allow).  Docker's profile is an allowlist of ~350
 * calls; this is the equivalent denylist for the calls that matter on
 * x86_64, kept in one table. */
#include <jansson.h>
#include <sched.h>
#include <seccomp.h>

#include "runtime.h"

static const char *const denied[] = {"acct",
                                     "add_key",
                                     "bpf",
                                     "clock_adjtime",
                                     "clock_settime",
                                     "create_module",
                                     "delete_module",
                                     "finit_module",
                                     "fsconfig",
                                     "fsmount",
                                     "fsopen",
                                     "fspick",
                                     "get_kernel_syms",
                                     "get_mempolicy",
                                     "init_module",
                                     "ioperm",
                                     "iopl",
                                     "kcmp",
                                     "kexec_file_load",
                                     "kexec_load",
                                     "keyctl",
                                     "lookup_dcookie",
                                     "mbind",
                                     "migrate_pages",
                                     "mount",
                                     "mount_setattr",
                                     "move_mount",
                                     "move_pages",
                                     "name_to_handle_at",
                                     "nfsservctl",
                                     "open_by_handle_at",
                                     "open_tree",
                                     "perf_event_open",
                                     "pivot_root",
                                     "query_module",
                                     "quotactl",
                                     "quotactl_fd",
                                     "reboot",
                                     "request_key",
                                     "set_mempolicy",
                                     "setns",
                                     "settimeofday",
                                     "stime",
                                     "swapoff",
                                     "swapon",
                                     "_sysctl",
                                     "syslog",
                                     "umount",
                                     "umount2",
                                     "unshare",
                                     "uselib",
                                     "userfaultfd",
                                     "ustat",
                                     "vhangup",
                                     "vm86",
                                     "vm86old",
                                     "adjtimex"};

static int parse_action(const char *a, json_t *errno_ret, uint32_t *out) {
  int e = errno_ret && json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : EPERM;
  if (!a) return -1;
  if (!strcmp(a, "SCMP_ACT_ALLOW"))
    *out = SCMP_ACT_ALLOW;
  else if (!strcmp(a, "SCMP_ACT_ERRNO"))
    *out = SCMP_ACT_ERRNO((uint16_t)e);
  else if (!strcmp(a, "SCMP_ACT_KILL") || !strcmp(a, "SCMP_ACT_KILL_THREAD"))
    *out = SCMP_ACT_KILL;
  else if (!strcmp(a, "SCMP_ACT_KILL_PROCESS"))
    *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(a, "SCMP_ACT_TRAP"))
    *out = SCMP_ACT_TRAP;
  else if (!strcmp(a, "SCMP_ACT_TRACE"))
    *out = SCMP_ACT_TRACE((uint16_t)e);
  else if (!strcmp(a, "SCMP_ACT_LOG"))
    *out = SCMP_ACT_LOG;
  else
    return -1;
  return 0;
}

static int parse_op(const char *op, enum scmp_compare *out) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
             {"SCMP_CMP_LT", SCMP_CMP_LT},
             {"SCMP_CMP_LE", SCMP_CMP_LE},
             {"SCMP_CMP_EQ", SCMP_CMP_EQ},
             {"SCMP_CMP_GE", SCMP_CMP_GE},
             {"SCMP_CMP_GT", SCMP_CMP_GT},
             {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; op && i < ARRAY_SIZE(ops); i++)
    if (!strcmp(op, ops[i].name)) {
      *out = ops[i].op;
      return 0;
    }
  return -1;
}

/* includes/excludes "caps": ["CAP_SYS_ADMIN", ...] against the container's set */
static bool caps_match(json_t *cond, uint64_t caps, bool all_needed) {
  json_t *list = json_object_get(cond, "caps");
  size_t i;
  json_t *v;
  if (!json_array_size(list)) return all_needed;
  json_array_foreach(list, i, v) {
    const char *n = json_string_value(v);
    int c = n ? rt_cap_from_name(n) : -1;
    bool have = c >= 0 && (caps & (1ull << c));
    if (all_needed && !have) return false;
    if (!all_needed && have) return true;
  }
  return all_needed;
}

int rt_seccomp_check_profile(const char *text, struct berth_err *err) {
  json_error_t je;
  json_t *p = json_loads(text, 0, &je);
  uint32_t act;
  if (!p || !json_is_object(p)) {
    json_decref(p);
    return berth_err_set(err, BERTH_EINVAL, 0, "Decoding seccomp profile failed: %s", je.text);
  }
  int r = 0;
  if (parse_action(json_string_value(json_object_get(p, "defaultAction")), NULL, &act) < 0)
    r = berth_err_set(err, BERTH_EINVAL, 0, "Decoding seccomp profile failed: bad defaultAction");
  size_t i;
  json_t *sc;
  json_array_foreach(json_object_get(p, "syscalls"), i, sc) {
    if (r) break;
    if (parse_action(json_string_value(json_object_get(sc, "action")), NULL, &act) < 0)
      r = berth_err_set(err, BERTH_EINVAL, 0,
                        "Decoding seccomp profile failed: syscalls[%zu]: bad action", i);
  }
  json_decref(p);
  return r;
}

/* A profile in docker's format (defaultAction, syscalls[] with names,
 * action, errnoRet, args, includes/excludes caps). */
static int load_profile(const char *text, uint64_t caps, struct berth_err *err) {
  json_error_t je;
  json_t *p = json_loads(text, 0, &je);
  if (!p) return berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: %s", je.text);
  uint32_t def;
  if (parse_action(json_string_value(json_object_get(p, "defaultAction")),
                   json_object_get(p, "defaultErrnoRet"), &def) < 0) {
    json_decref(p);
    return berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: bad defaultAction");
  }
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) {
    json_decref(p);
    return berth_err_set(err, BERTH_EINTERNAL, 0, "seccomp_init failed");
  }
  int r = 0;
  size_t i;
  json_t *sc;
  json_array_foreach(json_object_get(p, "syscalls"), i, sc) {
    if (!caps_match(json_object_get(sc, "includes"), caps, true)) continue;
    if (json_array_size(json_object_get(json_object_get(sc, "excludes"), "caps")) &&
        caps_match(json_object_get(sc, "excludes"), caps, false))
      continue;
    uint32_t act;
    if (parse_action(json_string_value(json_object_get(sc, "action")),
                     json_object_get(sc, "errnoRet"), &act) < 0) {
      r = berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: syscalls[%zu]: bad action", i);
      break;
    }
    struct scmp_arg_cmp cmp[6];
    unsigned n_cmp = 0;
    size_t k;
    json_t *a;
    json_array_foreach(json_object_get(sc, "args"), k, a) {
      enum scmp_compare op;
      if (n_cmp >= 6 || parse_op(json_string_value(json_object_get(a, "op")), &op) < 0) {
        r = berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: syscalls[%zu]: bad args", i);
        break;
      }
      cmp[n_cmp++] =
          (struct scmp_arg_cmp){(unsigned)json_integer_value(json_object_get(a, "index")), op,
                                (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
                                (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"))};
    }
    if (r) break;
    json_t *names = json_object_get(sc, "names");
    if (!names && json_is_string(json_object_get(sc, "name")))
      names = json_pack("[O]", json_object_get(sc, "name"));
    else
      json_incref(names);
    json_t *nm;
    json_array_foreach(names, k, nm) {
      int nr = seccomp_syscall_resolve_name(json_string_value(nm));
      if (nr == __NR_SCMP_ERROR || nr < 0) continue; /* not on this architecture */
      int rr = seccomp_rule_add_array(ctx, act, nr, n_cmp, cmp);
      /* a rule that repeats the default action is refused; it changes nothing */
      if (rr < 0 && rr != -EACCES && rr != -EEXIST) {
        r = berth_err_set(err, BERTH_EINVAL, -rr, "seccomp profile: rule for %s: %s",
                          json_string_value(nm), strerror(-rr));
        break;
      }
    }
    json_decref(names);
    if (r) break;
  }
  if (r == 0) {
    int lr = seccomp_load(ctx);
    if (lr < 0) r = berth_err_set(err, BERTH_EINTERNAL, -lr, "seccomp: %s", strerror(-lr));
  }
  seccomp_release(ctx);
  json_decref(p);
  return r;
}

int rt_seccomp_load(const char *profile, uint64_t caps, struct berth_err *err) {
  if (profile && *profile) return load_profile(profile, caps, err);
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
