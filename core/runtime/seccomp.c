/* Seccomp: profiles in docker's JSON format, loaded with libseccomp.  The
 * default is conf/seccomp-default.json (docker's allowlist), installed
 * under the sysconfdir and compiled in (seccomp_default.c, made from it at
 * build time) for when berthd finds no file.  An allowlist: a syscall it
 * does not name fails with EPERM. */
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "runtime.h"

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

/* docker's name for this machine's architecture (Go's GOARCH) */
static const char *native_arch(void) {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "x86";
#elif defined(__arm__)
  return "arm";
#else
  return "";
#endif
}

static uint32_t arch_token(const char *name) {
  static const struct {
    const char *name;
    uint32_t token;
  } arches[] = {{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
                {"SCMP_ARCH_X86", SCMP_ARCH_X86},
                {"SCMP_ARCH_X32", SCMP_ARCH_X32},
                {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
                {"SCMP_ARCH_ARM", SCMP_ARCH_ARM}};
  for (size_t i = 0; name && i < ARRAY_SIZE(arches); i++)
    if (!strcmp(name, arches[i].name)) return arches[i].token;
  return 0;
}

/* whether this kernel runs x32 system calls at all (CONFIG_X86_X32_ABI:
 * Debian's kernels leave it out and answer them ENOSYS) */
static bool x32_runs(void) {
#if defined(__x86_64__)
  static int runs = -1; /* asked once; threads may race to store the same */
  int v = __atomic_load_n(&runs, __ATOMIC_RELAXED);
  if (v < 0) {
    errno = 0;
    long r = syscall(0x40000000L | SYS_getpid);
    __atomic_store_n(&runs, v = r >= 0 || errno != ENOSYS, __ATOMIC_RELAXED);
  }
  return v;
#else
  return false;
#endif
}

/* archMap: the native architecture's sub-architectures join the filter (on
 * x86_64, x86 and x32: 32-bit programs and int 0x80 are filtered like the
 * rest instead of killed, as with docker).  Where the kernel has no x32,
 * its branch (a third of the filter's instructions, compiled by the kernel
 * at every start and exec) is left out, and a call of an architecture the
 * filter lacks gets ENOSYS, as that kernel answers it, not libseccomp's
 * default kill. */
static void add_arches(scmp_filter_ctx ctx, json_t *p) {
  uint32_t native = seccomp_arch_native();
  size_t i, k;
  json_t *m, *sub;
  json_array_foreach(json_object_get(p, "archMap"), i, m) {
    if (arch_token(json_string_value(json_object_get(m, "architecture"))) != native) continue;
    json_array_foreach(json_object_get(m, "subArchitectures"), k, sub) {
      uint32_t t = arch_token(json_string_value(sub));
      if (t == SCMP_ARCH_X32 && !x32_runs())
        seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
      else if (t)
        seccomp_arch_add(ctx, t); /* -EEXIST: already there */
    }
  }
}

static bool kernel_at_least(const char *want) {
  struct utsname u;
  int a = 0, b = 0, x = 0, y = 0;
  if (!want || uname(&u) < 0 || sscanf(want, "%d.%d", &a, &b) < 1) return true;
  sscanf(u.release, "%d.%d", &x, &y);
  return x > a || (x == a && y >= b);
}

static bool has_string(json_t *list, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) if (!strcmp(json_string_value(v) ?: "", s)) return true;
  return false;
}

/* docker's includes/excludes: caps (all of includes held, none of
 * excludes), arches (this machine's), minKernel */
static bool rule_applies(json_t *sc, uint64_t caps) {
  json_t *inc = json_object_get(sc, "includes"), *exc = json_object_get(sc, "excludes");
  if (!caps_match(inc, caps, true)) return false;
  if (json_array_size(json_object_get(exc, "caps")) && caps_match(exc, caps, false)) return false;
  json_t *ia = json_object_get(inc, "arches");
  if (json_array_size(ia) && !has_string(ia, native_arch())) return false;
  if (has_string(json_object_get(exc, "arches"), native_arch())) return false;
  return kernel_at_least(json_string_value(json_object_get(inc, "minKernel")));
}

static int add_rule(scmp_filter_ctx ctx, json_t *sc, size_t i, struct berth_err *err) {
  uint32_t act;
  if (parse_action(json_string_value(json_object_get(sc, "action")),
                   json_object_get(sc, "errnoRet"), &act) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: syscalls[%zu]: bad action", i);
  struct scmp_arg_cmp cmp[6];
  unsigned n_cmp = 0;
  size_t k;
  json_t *a;
  json_array_foreach(json_object_get(sc, "args"), k, a) {
    enum scmp_compare op;
    if (n_cmp >= 6 || parse_op(json_string_value(json_object_get(a, "op")), &op) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: syscalls[%zu]: bad args", i);
    cmp[n_cmp++] =
        (struct scmp_arg_cmp){(unsigned)json_integer_value(json_object_get(a, "index")), op,
                              (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
                              (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"))};
  }
  json_t *names = json_object_get(sc, "names"), *one = json_object_get(sc, "name");
  json_t *single = !names && json_is_string(one) ? json_pack("[O]", one) : NULL;
  int r = 0;
  json_t *nm;
  json_array_foreach(single ? single : names, k, nm) {
    const char *name = json_string_value(nm);
    int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
    if (nr == __NR_SCMP_ERROR) continue; /* a syscall libseccomp does not know */
    int rr = seccomp_rule_add_array(ctx, act, nr, n_cmp, cmp);
    /* a rule that repeats the default action is refused: it changes nothing;
     * a pseudo number (nr < 0) names a syscall none of the filter's
     * architectures has */
    if (rr < 0 && rr != -EACCES && rr != -EEXIST && nr >= 0) {
      r = berth_err_set(err, BERTH_EINVAL, -rr, "seccomp profile: rule for %s: %s", name,
                        strerror(-rr));
      break;
    }
  }
  json_decref(single);
  return r;
}

/* A profile in docker's format: defaultAction (defaultErrnoRet), archMap,
 * syscalls[] with names, action, errnoRet, args, includes/excludes; the
 * filter built, not loaded.  libseccomp's own no_new_privs is off: berth
 * sets it only when asked for (rt_exec_process). */
static scmp_filter_ctx build_filter(const char *text, uint64_t caps, struct berth_err *err) {
  json_error_t je;
  json_t *p = json_loads(text, 0, &je);
  if (!p) {
    berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: %s", je.text);
    return NULL;
  }
  uint32_t def;
  scmp_filter_ctx ctx = NULL;
  if (parse_action(json_string_value(json_object_get(p, "defaultAction")),
                   json_object_get(p, "defaultErrnoRet"), &def) < 0)
    berth_err_set(err, BERTH_EINVAL, 0, "seccomp profile: bad defaultAction");
  else if (!(ctx = seccomp_init(def)))
    berth_err_set(err, BERTH_EINTERNAL, 0, "seccomp_init failed");
  if (ctx) {
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    /* a binary tree of the syscall numbers, not a list: every syscall of
     * the container pays for the filter, and an allowlist is long */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    add_arches(ctx, p);
    size_t i;
    json_t *sc;
    json_array_foreach(json_object_get(p, "syscalls"), i, sc) {
      if (rule_applies(sc, caps) && add_rule(ctx, sc, i, err) < 0) {
        seccomp_release(ctx);
        ctx = NULL;
        break;
      }
    }
  }
  json_decref(p);
  return ctx;
}

static const char *profile_text(const char *profile) {
  return profile && *profile ? profile : rt_seccomp_default_json;
}

int rt_seccomp_load(const char *profile, uint64_t caps, struct berth_err *err) {
  scmp_filter_ctx ctx = build_filter(profile_text(profile), caps, err);
  if (!ctx) return -err->code;
  int lr = seccomp_load(ctx);
  seccomp_release(ctx);
  return lr < 0 ? berth_err_set(err, BERTH_EINTERNAL, -lr, "seccomp: %s", strerror(-lr)) : 0;
}

char *rt_seccomp_compile(const char *profile, uint64_t caps, size_t *len, struct berth_err *err) {
  scmp_filter_ctx ctx = build_filter(profile_text(profile), caps, err);
  if (!ctx) return NULL;
  int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  int r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
  seccomp_release(ctx);
  struct stat st;
  char *bpf = NULL;
  if (r == 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
    bpf = xmalloc((size_t)st.st_size);
    if (pread(fd, bpf, (size_t)st.st_size, 0) != st.st_size) {
      free(bpf);
      bpf = NULL;
    }
    *len = (size_t)st.st_size;
  }
  if (fd >= 0) close(fd);
  if (!bpf) berth_err_set(err, BERTH_EINTERNAL, r < 0 ? -r : 0, "seccomp: export the filter");
  return bpf;
}

int rt_seccomp_install(const void *bpf, size_t len, struct berth_err *err) {
  struct sock_fprog prog = {(unsigned short)(len / sizeof(struct sock_filter)),
                            (struct sock_filter *)bpf};
  if (len % sizeof(struct sock_filter) ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return err_sys(err, BERTH_EINTERNAL, "seccomp: install the filter");
  return 0;
}
