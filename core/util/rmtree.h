/* Removing a tree of any depth.  Self-contained (libc only), so the
 * storage plugins compile it in without linking anything of berth. */
#ifndef BERTH_RMTREE_H
#define BERTH_RMTREE_H

/* Remove name (relative to dirfd, or a path with AT_FDCWD) and everything
 * below it.  Iterative: at most two directory fds are open at any time and
 * the stack does not grow with the depth, so a layer of 10,000 nested
 * directories is removed like any other.  Never crosses into another
 * filesystem (a leaked mount below is an error, not something to empty).
 * 0 (also when name does not exist) or -errno. */
int rm_tree_at(int dirfd, const char *name);

#endif
