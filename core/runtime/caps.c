/* Capabilities: Docker's default set, names, and applying a set. */
#include <linux/capability.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "runtime.h"

static const char *const cap_names[] = {"CHOWN",
                                        "DAC_OVERRIDE",
                                        "DAC_READ_SEARCH",
                                        "FOWNER",
                                        "FSETID",
                                        "KILL",
                                        "SETGID",
                                        "SETUID",
                                        "SETPCAP",
                                        "LINUX_IMMUTABLE",
                                        "NET_BIND_SERVICE",
                                        "NET_BROADCAST",
                                        "NET_ADMIN",
                                        "NET_RAW",
                                        "IPC_LOCK",
                                        "IPC_OWNER",
                                        "SYS_MODULE",
                                        "SYS_RAWIO",
                                        "SYS_CHROOT",
                                        "SYS_PTRACE",
                                        "SYS_PACCT",
                                        "SYS_ADMIN",
                                        "SYS_BOOT",
                                        "SYS_NICE",
                                        "SYS_RESOURCE",
                                        "SYS_TIME",
                                        "SYS_TTY_CONFIG",
                                        "MKNOD",
                                        "LEASE",
                                        "AUDIT_WRITE",
                                        "AUDIT_CONTROL",
                                        "SETFCAP",
                                        "MAC_OVERRIDE",
                                        "MAC_ADMIN",
                                        "SYSLOG",
                                        "WAKE_ALARM",
                                        "BLOCK_SUSPEND",
                                        "AUDIT_READ",
                                        "PERFMON",
                                        "BPF",
                                        "CHECKPOINT_RESTORE"};

int rt_cap_from_name(const char *name) {
  if (!strncasecmp(name, "CAP_", 4)) name += 4;
  for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
    if (!strcasecmp(cap_names[i], name)) return (int)i;
  return -1;
}

uint64_t rt_caps_from_lists(json_t *add, json_t *drop) {
  uint64_t caps = rt_default_caps();
  size_t i;
  json_t *c;
  json_array_foreach(add, i, c) {
    const char *n = json_string_value(c);
    if (n && !strcasecmp(n, "ALL"))
      caps = rt_all_caps();
    else if (n && rt_cap_from_name(n) >= 0)
      caps |= 1ull << rt_cap_from_name(n);
  }
  json_array_foreach(drop, i, c) {
    const char *n = json_string_value(c);
    if (n && !strcasecmp(n, "ALL"))
      caps = 0;
    else if (n && rt_cap_from_name(n) >= 0)
      caps &= ~(1ull << rt_cap_from_name(n));
  }
  return caps;
}

void rt_spec_security(struct rt_spec *s, json_t *hc) {
  s->seccomp = true;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
    const char *so = json_string_value(v);
    if (so && (!strcmp(so, "seccomp=unconfined") || !strcmp(so, "seccomp:unconfined")))
      s->seccomp = false;
    else if (so && str_has_prefix(so, "seccomp="))
      s->seccomp_profile = (char *)so + 8; /* borrowed from hc */
    if (so && str_has_prefix(so, "no-new-privileges")) s->no_new_privs = true;
  }
  s->caps = rt_caps_from_lists(json_object_get(hc, "CapAdd"), json_object_get(hc, "CapDrop"));
}

static int last_cap(void) {
  cleanup_free char *s = read_file("/proc/sys/kernel/cap_last_cap", NULL);
  int n = s ? atoi(s) : (int)ARRAY_SIZE(cap_names) - 1;
  return n > 63 ? 63 : n;
}

/* "all" is what this host lets us have: root here may lack some
 * (CAP_SYS_RESOURCE on these machines), and asking for them fails. */
uint64_t rt_all_caps(void) {
  int last = last_cap();
  uint64_t m = 0;
  for (int c = 0; c <= last; c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) m |= 1ull << c;
  return m;
}

uint64_t rt_default_caps(void) {
  static const int def[] = {CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
                            CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
                            CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
                            CAP_KILL,    CAP_AUDIT_WRITE};
  uint64_t m = 0;
  for (size_t i = 0; i < ARRAY_SIZE(def); i++)
    m |= 1ull << def[i];
  return m;
}

/* Drop everything outside caps from the bounding set. */
int rt_caps_bound(uint64_t caps) {
  int last = last_cap();
  for (int c = 0; c <= last; c++)
    if (!(caps & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return -errno;
  return 0;
}

/* Set effective, permitted and inheritable to caps. */
int rt_caps_set(uint64_t caps) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{0}};
  /* never more than we hold ourselves */
  if (syscall(SYS_capget, &h, d) == 0)
    caps &= (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
  memset(d, 0, sizeof d);
  d[0].effective = d[0].permitted = d[0].inheritable = (uint32_t)caps;
  d[1].effective = d[1].permitted = d[1].inheritable = (uint32_t)(caps >> 32);
  return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}
