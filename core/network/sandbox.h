/* Setting up a container's network namespace (core/network/sandbox.c). */
#ifndef BERTH_NETWORK_SANDBOX_H
#define BERTH_NETWORK_SANDBOX_H

#include <sys/types.h>

#include "../util/util.h"

struct sandbox_if {
  char src_name[16]; /* as the driver's join named it, in berthd's namespace */
  char dst_name[16]; /* its name inside: eth0, eth1, ... */
  char mac[18];      /* "" keeps the kernel's */
  uint32_t ip;       /* host order */
  int prefix;
  uint32_t gateway; /* 0: no default route */
  int mtu;          /* 0: keep */
  char ip6[46];     /* "": no IPv6 address */
  int prefix6;
  char gateway6[46]; /* "": no IPv6 default route */
};

/* s NULL: only lo is brought up (--network none) */
int sandbox_setup(pid_t pid, const struct sandbox_if *s, struct berth_err *err);

#endif
