/* --userns-remap (daemon.conf userns-remap): the mapping every container
 * gets unless it asks for --userns=host, from /etc/subuid and /etc/subgid. */
#ifndef BERTH_USERNS_H
#define BERTH_USERNS_H

#include "util/idmap.h"
#include "util/util.h"

struct daemon;

/* Parse "default" | "user" | "user:group" | "uid" | "uid:gid" and read the
 * user's first range in subuid_file and group's in subgid_file.  "default"
 * is the user berthremap, created (useradd, usermod --add-subuids) when
 * missing, as docker does with dockremap.  0 or -code with err. */
int userns_resolve(const char *spec, const char *subuid_file, const char *subgid_file,
                   struct idmap *out, char **user_out, struct berth_err *err);
/* At start-up: resolve daemon.conf's setting, check the storage driver can
 * map ids, and keep a user namespace with the mapping for its mounts.
 * Nothing to do without the setting. */
int userns_setup(struct daemon *d, struct berth_err *err);

#endif
