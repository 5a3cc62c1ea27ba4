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

static bool has_all(char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcasecmp(names[i], "ALL")) return true;
  return false;
}

static uint64_t cap_bits(char *const *names, size_t n) {
  uint64_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (rt_cap_from_name(names[i]) >= 0) m |= 1ull << rt_cap_from_name(names[i]);
  return m;
}

/* docker's rule: --cap-add ALL is every capability but those dropped;
 * --cap-drop ALL is only those added; else the default set, less what is
 * dropped, plus what is added */
uint64_t rt_caps_from_names(char *const *add, size_t n_add, char *const *drop, size_t n_drop) {
  if (has_all(add, n_add)) return rt_all_caps() & ~cap_bits(drop, n_drop);
  if (has_all(drop, n_drop)) return cap_bits(add, n_add);
  return (rt_default_caps() & ~cap_bits(drop, n_drop)) | cap_bits(add, n_add);
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

/* Set effective and permitted to caps; inheritable (and so ambient) empty,
 * as docker's since 20.10.14 (CVE-2022-24769: a program with inheritable
 * file capabilities run by a user other than root would otherwise gain
 * them). */
int rt_caps_set(uint64_t caps) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{0}};
  /* never more than we hold ourselves */
  if (syscall(SYS_capget, &h, d) == 0)
    caps &= (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
  memset(d, 0, sizeof d);
  d[0].effective = d[0].permitted = (uint32_t)caps;
  d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
  return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}
