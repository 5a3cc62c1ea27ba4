/* A tree's size as docker counts it (treesize.h). */
#include "treesize.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct list {
  void *v;
  size_t n, cap;
};

/* room for one more element of size sz; false when memory ran out */
static bool grow(struct list *l, size_t sz) {
  if (l->n < l->cap) return true;
  size_t cap = l->cap ? l->cap * 2 : 16;
  void *v = realloc(l->v, cap * sz);
  if (!v) return false;
  l->v = v;
  l->cap = cap;
  return true;
}

/* true the second time an inode with several links is seen */
static bool seen_before(struct list *inodes, ino_t ino) {
  ino_t *v = inodes->v;
  for (size_t i = 0; i < inodes->n; i++)
    if (v[i] == ino) return true;
  if (grow(inodes, sizeof ino)) ((ino_t *)inodes->v)[inodes->n++] = ino;
  return false;
}

/* one directory's entries: files counted, directories pushed on dirs */
static uint64_t scan(const char *dir, struct list *dirs, struct list *inodes) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  uint64_t total = 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      if (st.st_size > 0 && !(st.st_nlink > 1 && seen_before(inodes, st.st_ino)))
        total += (uint64_t)st.st_size;
      continue;
    }
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    char *sub = malloc(len);
    if (!sub || !grow(dirs, sizeof sub)) {
      free(sub);
      continue;
    }
    snprintf(sub, len, "%s/%s", dir, de->d_name);
    ((char **)dirs->v)[dirs->n++] = sub;
  }
  closedir(d);
  return total;
}

uint64_t tree_size(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return 0;
  if (!S_ISDIR(st.st_mode)) return st.st_size > 0 ? (uint64_t)st.st_size : 0;
  struct list dirs = {0}, inodes = {0};
  char *top = strdup(path);
  if (!top || !grow(&dirs, sizeof top)) {
    free(top);
    return 0;
  }
  ((char **)dirs.v)[dirs.n++] = top;
  uint64_t total = 0;
  while (dirs.n) {
    char *dir = ((char **)dirs.v)[--dirs.n];
    total += scan(dir, &dirs, &inodes);
    free(dir);
  }
  free(dirs.v);
  free(inodes.v);
  return total;
}
