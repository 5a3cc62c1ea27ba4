/* Id-mapped mounts and user namespaces for --userns-remap (idmap.c).  Its
 * own file with no other dependency, so that storage plugins link it. */
#ifndef BERTH_UTIL_IDMAP_H
#define BERTH_UTIL_IDMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A mapping of a container's ids: its uid 0 is host uid `uid`, its gid 0
 * host gid `gid`, for `size` ids each (one range of /etc/subuid, subgid). */
struct idmap {
  uint32_t uid, gid, size;
};

/* An id translated by one range of a mapping (base: m->uid or m->gid): a
 * host id to the container's, the container's to the host's.  An id the
 * range does not hold (or any, with size 0) stays as it is. */
uint32_t idmap_to_container(uint32_t id, uint32_t base, uint32_t size);
uint32_t idmap_to_host(uint32_t id, uint32_t base, uint32_t size);
/* Write /proc/<pid>/uid_map and gid_map ("0 <base> <size>").  0 or -errno. */
int idmap_write(pid_t pid, const struct idmap *m);
/* A user namespace with the mapping, as an fd (for MOUNT_ATTR_IDMAP): made
 * by a short-lived child.  An fd (close-on-exec) or -errno. */
int idmap_userns(const struct idmap *m);
/* A detached copy of the mount at path (and the mounts below it when
 * recursive) whose files are seen through userns_fd's mapping: a file
 * stored as uid 0 shows as the mapping's first host uid.  open_tree +
 * mount_setattr(MOUNT_ATTR_IDMAP).  An fd, or -errno. */
int idmap_tree(const char *path, int userns_fd, bool recursive);
/* Attach a detached tree (idmap_tree's) on the directory or file fd
 * refers to (move_mount).  0 or -errno. */
int idmap_attach(int tree_fd, int target_fd);
/* An id-mapped bind of the directory src on the directory target (both in
 * the caller's mount namespace): idmap_tree + idmap_attach.  0 or -errno. */
int idmap_bind(const char *src, const char *target, int userns_fd);
/* The calling thread's file-system ids become the mapping's root (so what
 * it creates through an id-mapped mount is stored as 0) while it keeps its
 * capabilities (changing fsuid drops them; they are raised again).  0 or
 * -errno.  Only for a thread or child of its own: it does not restore. */
int idmap_become_root(const struct idmap *m);

#endif
