/* --ipc shareable and --ipc container:<id>, as dockerd's.
 *
 * A private container's /dev/shm is a tmpfs its init mounts inside the
 * container's own mount namespace: nothing outside can reach it (a bind
 * from another mount namespace is EINVAL).  A shareable one's is mounted
 * by berthd, in its own namespace, at <container dir>/shm (docker's
 * containers/<id>/mounts/shm) and bound into the container like a volume;
 * a container that joins it gets the same tmpfs bound at its /dev/shm and
 * the donor's ipc namespace (the shim joins it before its clone).  The
 * mount goes when the donor stops (unmount_rootfs); a joiner keeps its own
 * reference to the tmpfs until it stops too. */
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../daemon.h"
#include "../runtime/runtime.h"
#include "config.h"
#include "container.h"

char *ctr_shm_path(struct daemon *d, const char *id) {
  return xasprintf("%s/containers/%s/shm", d->cfg.data_root, id);
}

int ctr_shm_mount(struct daemon *d, struct container *c, const struct ctr_opts *o,
                  struct berth_err *err) {
  if (!o->ipc_shareable) return 0;
  cleanup_free char *p = ctr_shm_path(d, c->id);
  char opts[96];
  rt_shm_options(o->limits, opts, sizeof opts);
  size_t n = strlen(opts);
  if (ctr_remapped(d, c)) /* its root owns it, as docker chowns it */
    snprintf(opts + n, sizeof opts - n, ",uid=%u,gid=%u", d->remap.uid, d->remap.gid);
  umount2(p, MNT_DETACH); /* one a berthd that died left */
  if (mkdir(p, 0700) < 0 && errno != EEXIST) return err_sys(err, BERTH_EINTERNAL, "mkdir %s", p);
  if (mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
    return err_sys(err, BERTH_EINTERNAL, "mount the shareable /dev/shm on %s", p);
  return 0;
}

void ctr_shm_unmount(struct daemon *d, struct container *c) {
  struct ctr_opts *o = ctr_opts_get(c);
  bool shareable = o->ipc_shareable;
  ctr_opts_put(o);
  if (!shareable) return;
  cleanup_free char *p = ctr_shm_path(d, c->id);
  if (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
    log_warn("container %.12s: unmount %s: %s", c->id, p, strerror(errno));
  rmdir(p);
}

/* IpcMode "container:<id>": *ns the donor's ipc namespace, *shm its
 * /dev/shm as berthd sees it; the donor must be running and shareable (or
 * on the host's ipc).  Docker's words and status (500): "can't join IPC of
 * container <id>: …" */
int ctr_ipc_join(struct daemon *d, const struct ctr_opts *o, char **ns, char **shm,
                 struct berth_err *err) {
  if (!o->ipc_of) return 0;
  struct container *t = ctr_get(o->ipc_of);
  if (!t)
    return berth_err_set(err, BERTH_EINTERNAL, 0,
                         "can't join IPC of container %s: No such container: %s", o->ipc_of,
                         o->ipc_of);
  pid_t pid = ctr_running_pid(t);
  struct ctr_opts *to = ctr_opts_get(t);
  int r = 0;
  if (!pid)
    r = berth_err_set(err, BERTH_EINTERNAL, 0,
                      "can't join IPC of container %s: container %s is not running", t->id, t->id);
  else if (!to->ipc_shareable && !to->ipc_host)
    r = berth_err_set(err, BERTH_EINTERNAL, 0,
                      "can't join IPC of container %s: non-shareable IPC (hint: use "
                      "IpcMode:shareable for the donor container)",
                      t->id);
  if (r == 0) {
    *ns = xasprintf("/proc/%d/ns/ipc", (int)pid);
    *shm = to->ipc_host ? xstrdup("/dev/shm") : ctr_shm_path(d, t->id);
  }
  ctr_opts_put(to);
  ctr_put(t);
  return r;
}
