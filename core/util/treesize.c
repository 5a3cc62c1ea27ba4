/* A tree's size as docker counts it (treesize.h). */
#include "treesize.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
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

/* the inodes with several links seen so far: an open-addressed set (0
 * marks a free slot; an inode 0, which no Linux filesystem hands out, is
 * never remembered), kept at most half full */
struct inode_set {
  ino_t *slot;
  size_t cap, n; /* cap a power of two */
};

static size_t slot_of(const struct inode_set *s, ino_t ino) {
  size_t i = (size_t)((uint64_t)ino * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
  while (s->slot[i] && s->slot[i] != ino)
    i = (i + 1) & (s->cap - 1);
  return i;
}

static bool set_grow(struct inode_set *s) {
  size_t cap = s->cap ? s->cap * 2 : 64;
  struct inode_set next = {calloc(cap, sizeof *next.slot), cap, s->n};
  if (!next.slot) return false;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slot[i]) next.slot[slot_of(&next, s->slot[i])] = s->slot[i];
  free(s->slot);
  *s = next;
  return true;
}

/* true the second time an inode with several links is seen */
static bool seen_before(struct inode_set *s, ino_t ino) {
  if (!ino || ((s->n + 1) * 2 > s->cap && !set_grow(s))) return false;
  size_t i = slot_of(s, ino);
  if (s->slot[i]) return true;
  s->slot[i] = ino;
  s->n++;
  return false;
}

/* one directory's entries: files counted, directories pushed on dirs */
static uint64_t scan(const char *dir, struct list *dirs, struct inode_set *inodes) {
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
  struct list dirs = {0};
  struct inode_set inodes = {0};
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
  free(inodes.slot);
  return total;
}
