/* Which Linux security modules the host runs, as docker asks: AppArmor by
 * /sys/module/apparmor/parameters/enabled, SELinux by its filesystem.
 * berth applies neither (docs/security.md): on a host without them that is
 * docker's behaviour too, on a host with them it is said in info. */
#include <stdio.h>
#include <unistd.h>

#include "runtime.h"

bool rt_apparmor_enabled(void) {
  FILE *f = fopen("/sys/module/apparmor/parameters/enabled", "re");
  if (!f) return false;
  int c = fgetc(f);
  fclose(f);
  return c == 'Y';
}

bool rt_selinux_enabled(void) {
  return access("/sys/fs/selinux/enforce", F_OK) == 0;
}
