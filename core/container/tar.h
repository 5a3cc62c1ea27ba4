/* Tar streams of a container's files (tar.c), written with libarchive from
 * inside a root: every path opened with rt_openat_in_root, so a symlink in
 * the container never leads a read outside it.  Shared by commit, export
 * and cp. */
#ifndef BERTH_CONTAINER_TAR_H
#define BERTH_CONTAINER_TAR_H

#include <archive.h>
#include <archive_entry.h>
#include <berth/plugin.h>

#include "../util/idmap.h"

/* a pax tar written to *fd (NULL, with err set, when it cannot be opened:
 * libarchive did not load) */
struct archive *ctar_writer(int *fd, struct berth_err *err);
/* the entry at path (inside the root at rootfd; the last component is not
 * followed), named name in the tar; 0 when it is gone meanwhile, -1 when
 * the tar cannot be written */
int ctar_add(struct archive *a, int rootfd, const char *path, const char *name);
/* everything below the directory path, depth first, each entry named
 * prefix/<path below> (no prefix: "" ) */
int ctar_add_tree(struct archive *a, int rootfd, const char *path, const char *prefix);

/* --userns-remap: on the calling thread, a running container's files show
 * the mapping's host ids while tars carry the container's own.  NULL: no
 * mapping (the default).  The entries ctar_add writes are unmapped; a
 * reader maps the ids it applies with ctar_host_uid/gid. */
void ctar_set_idmap(const struct idmap *m);
/* on the calling thread, the owners' names entries carry (uname, gname):
 * those of the /etc/passwd and /etc/group inside the root at rootfd, for
 * the entries' ids (the container's under a mapping), "" for an id they do
 * not name.  cp and export name from the container's own files (docker
 * archives from inside the container's root), commit from the host's (a
 * layer diff, docker's in its own process).  -1: none, and the tables
 * freed (every setter clears before its thread ends) */
void ctar_set_names(int rootfd);
void ctar_entry_names(struct archive_entry *e);
/* on the calling thread, the filesystems of dockerd's view of a running
 * container (its root, its volumes and binds, the /etc files berthd
 * writes): a mount of another (/proc, /sys, /dev, --tmpfs) is a directory
 * with nothing in it, as the image's mount point is to dockerd.  NULL or
 * 0: every filesystem is in the view (a stopped container's view is made
 * of those alone) */
void ctar_set_view(const dev_t *devs, size_t n);
/* dev is outside the view ctar_set_view gave */
bool ctar_hidden(dev_t dev);
void ctar_entry_unmap(struct archive_entry *e);
uid_t ctar_host_uid(uid_t u);
gid_t ctar_host_gid(gid_t g);

#endif
