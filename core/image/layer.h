/* Layer tar extraction with the host's safety rules. */
#ifndef BERTH_LAYER_H
#define BERTH_LAYER_H

#include "../util/util.h"

struct untar_stats {
  uint64_t bytes; /* regular file bytes written */
  uint64_t entries;
};

/* Extract the tar (any compression libarchive knows) read from in into dir,
 * which must exist.  Refuses absolute paths, "..", paths that pass through
 * a symlink, hard links whose target is outside the layer, and device nodes
 * outside /dev.  flags: BERTH_UNTAR_WHITEOUT_DELETE or _OVERLAY.  Does not
 * roll back: on failure the caller removes dir. */
int layer_untar(struct berth_reader *in, const char *dir, uint32_t flags, struct untar_stats *stats,
                struct berth_err *err);
/* A tar (load's archive, a build's context) into a new directory
 * <parent>/<prefix>-<random> (parents made), with layer_untar's refusals
 * (whiteouts deleted): its path, or NULL with err ("<what>: ...", the
 * tar's own words when what is NULL) and
 * nothing left behind. */
/* a stream libarchive's tar reader refused (a), in the words docker's
 * users see: "Error processing tar file(exit status 1): unexpected EOF"
 * for one cut short (short_stream: less than a header read), "…:
 * archive/tar: invalid tar header" for one that is no tar */
struct archive;
int layer_tar_refused(struct archive *a, bool short_stream, struct berth_err *err);
char *untar_to_new_dir(struct berth_reader *in, const char *parent, const char *prefix,
                       const char *what, struct berth_err *err);

/* A reader over an fd. */
ssize_t fd_reader_read(void *ctx, void *buf, size_t len); /* ctx = (int *) */

#endif
