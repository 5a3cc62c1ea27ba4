/* A tree's size as docker counts it.  Self-contained (libc only), so the
 * storage plugins compile it in without linking anything of berth. */
#ifndef BERTH_TREESIZE_H
#define BERTH_TREESIZE_H

#include <stdint.h>

/* docker's pkg/directory.Size (a layer's and a container's size, a
 * volume's in system df): every entry below path but a directory, by its
 * st_size (regular files, a symlink's target length; devices and
 * whiteouts are 0), a file with several hard links once.  Iterative, one
 * directory open at a time, whatever the depth.  0 for what cannot be
 * read. */
uint64_t tree_size(const char *path);

#endif
