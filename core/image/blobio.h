/* Streams used when layers enter and leave the store: gunzip on the way in
 * (auto-detected), hashing and re-compressing into a blob file as bytes
 * flow to the storage driver; gunzip on the way out. */
#ifndef BERTH_BLOBIO_H
#define BERTH_BLOBIO_H

#include "../util/util.h"

struct layer_pipe;
/* Wrap src; the blob goes to blob_fd: gzip-compressed, or with plain the
 * tar itself (its digest then is the diff id; a push compresses it).  -1:
 * none is made, the caller keeps the blob it has. */
struct layer_pipe *layer_pipe_new(struct berth_reader *src, int blob_fd, bool plain);
struct berth_reader *layer_pipe_reader(struct layer_pipe *p);
/* Drain the rest of src, flush the blob.  Fills the digests and sizes.
 * Returns 0 or -code with err set (read, inflate or write failure). */
int layer_pipe_finish(struct layer_pipe *p, char diff_id[DIGEST_LEN + 1],
                      char blob_digest[DIGEST_LEN + 1], uint64_t *tar_size, uint64_t *blob_size,
                      struct berth_err *err);
void layer_pipe_free(struct layer_pipe *p);

/* The file in, gzip-compressed into out (fsynced), with its digest and size. */
int gzip_file(const char *in, int out, char digest[DIGEST_LEN + 1], uint64_t *size,
              struct berth_err *err);

/* A reader over a gzip (or plain) file; close with gz_reader_free. */
struct berth_reader *gz_reader_open(const char *path);
void gz_reader_free(struct berth_reader *r);

#endif
