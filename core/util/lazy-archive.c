/* libarchive, opened at the first tar stream berthd reads or writes: the
 * functions core/ calls, each with its prototype from archive.h and
 * archive_entry.h (lazylib.h says why and how).  A function used for the
 * first time is added here, or the link fails: berthd no longer links
 * libarchive itself. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lazylib.h"

struct lazylib lazy_libarchive = {ARCHIVE_SONAME, "tar archives", NULL, ""};
#define A lazy_libarchive

/* the constructors: every use starts with one */
LAZYLIB_NEW(A, struct archive *, archive_read_new, (void), ())
LAZYLIB_NEW(A, struct archive *, archive_write_new, (void), ())
LAZYLIB_NEW(A, struct archive_entry *, archive_entry_new, (void), ())

/* reading */
LAZYLIB_FN(A, int, archive_read_support_filter_all, (struct archive * a), (a))
LAZYLIB_FN(A, int, archive_read_support_format_tar, (struct archive * a), (a))
LAZYLIB_FN(A, int, archive_read_support_format_gnutar, (struct archive * a), (a))
LAZYLIB_FN(A, int, archive_read_support_format_empty, (struct archive * a), (a))
LAZYLIB_FN(A, int, archive_read_open,
           (struct archive * a, void *data, archive_open_callback *o, archive_read_callback *r,
            archive_close_callback *c),
           (a, data, o, r, c))
LAZYLIB_FN(A, int, archive_read_open_fd, (struct archive * a, int fd, size_t block), (a, fd, block))
LAZYLIB_FN(A, int, archive_read_next_header, (struct archive * a, struct archive_entry **e), (a, e))
LAZYLIB_FN(A, int, archive_read_data_block,
           (struct archive * a, const void **buf, size_t *size, la_int64_t *off),
           (a, buf, size, off))
LAZYLIB_FN(A, int, archive_read_free, (struct archive * a), (a))

/* writing */
LAZYLIB_FN(A, int, archive_write_set_format_pax_restricted, (struct archive * a), (a))
LAZYLIB_FN(A, int, archive_write_set_bytes_in_last_block, (struct archive * a, int n), (a, n))
LAZYLIB_FN(A, int, archive_write_open,
           (struct archive * a, void *data, archive_open_callback *o, archive_write_callback *w,
            archive_close_callback *c),
           (a, data, o, w, c))
LAZYLIB_FN(A, int, archive_write_header, (struct archive * a, struct archive_entry *e), (a, e))
LAZYLIB_FN(A, la_ssize_t, archive_write_data, (struct archive * a, const void *buf, size_t n),
           (a, buf, n))
LAZYLIB_FN(A, int, archive_write_close, (struct archive * a), (a))
LAZYLIB_FN(A, int, archive_write_free, (struct archive * a), (a))

/* errors */
LAZYLIB_FN(A, int, archive_errno, (struct archive * a), (a))
LAZYLIB_FN(A, const char *, archive_error_string, (struct archive * a), (a))
void archive_set_error(struct archive *a, int err, const char *fmt, ...) {
  static void (*fn_)(struct archive *, int, const char *, ...);
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  LAZYLIB_RESOLVE(A, fn_, "archive_set_error")(a, err, "%s", msg);
}

/* entries: what they hold */
LAZYLIB_VOID(A, archive_entry_free, (struct archive_entry * e), (e))
LAZYLIB_FN(A, const char *, archive_entry_pathname, (struct archive_entry * e), (e))
LAZYLIB_FN(A, const char *, archive_entry_hardlink, (struct archive_entry * e), (e))
LAZYLIB_FN(A, const char *, archive_entry_symlink, (struct archive_entry * e), (e))
LAZYLIB_FN(A, __LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))
LAZYLIB_FN(A, __LA_MODE_T, archive_entry_mode, (struct archive_entry * e), (e))
LAZYLIB_FN(A, __LA_MODE_T, archive_entry_perm, (struct archive_entry * e), (e))
LAZYLIB_FN(A, la_int64_t, archive_entry_size, (struct archive_entry * e), (e))
LAZYLIB_FN(A, la_int64_t, archive_entry_uid, (struct archive_entry * e), (e))
LAZYLIB_FN(A, la_int64_t, archive_entry_gid, (struct archive_entry * e), (e))
LAZYLIB_FN(A, dev_t, archive_entry_rdev, (struct archive_entry * e), (e))
LAZYLIB_FN(A, time_t, archive_entry_atime, (struct archive_entry * e), (e))
LAZYLIB_FN(A, int, archive_entry_atime_is_set, (struct archive_entry * e), (e))
LAZYLIB_FN(A, long, archive_entry_atime_nsec, (struct archive_entry * e), (e))
LAZYLIB_FN(A, time_t, archive_entry_mtime, (struct archive_entry * e), (e))
LAZYLIB_FN(A, long, archive_entry_mtime_nsec, (struct archive_entry * e), (e))
LAZYLIB_FN(A, int, archive_entry_xattr_reset, (struct archive_entry * e), (e))
LAZYLIB_FN(A, int, archive_entry_xattr_next,
           (struct archive_entry * e, const char **name, const void **value, size_t *size),
           (e, name, value, size))

/* entries: setting them */
LAZYLIB_VOID(A, archive_entry_copy_stat, (struct archive_entry * e, const struct stat *st), (e, st))
LAZYLIB_VOID(A, archive_entry_set_pathname, (struct archive_entry * e, const char *s), (e, s))
LAZYLIB_VOID(A, archive_entry_set_hardlink, (struct archive_entry * e, const char *s), (e, s))
LAZYLIB_VOID(A, archive_entry_set_symlink, (struct archive_entry * e, const char *s), (e, s))
LAZYLIB_VOID(A, archive_entry_set_filetype, (struct archive_entry * e, unsigned int t), (e, t))
LAZYLIB_VOID(A, archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T m), (e, m))
LAZYLIB_VOID(A, archive_entry_set_size, (struct archive_entry * e, la_int64_t n), (e, n))
LAZYLIB_VOID(A, archive_entry_set_uid, (struct archive_entry * e, la_int64_t n), (e, n))
LAZYLIB_VOID(A, archive_entry_set_gid, (struct archive_entry * e, la_int64_t n), (e, n))
LAZYLIB_VOID(A, archive_entry_copy_uname, (struct archive_entry * e, const char *s), (e, s))
LAZYLIB_VOID(A, archive_entry_copy_gname, (struct archive_entry * e, const char *s), (e, s))
LAZYLIB_VOID(A, archive_entry_set_rdev, (struct archive_entry * e, dev_t d), (e, d))
LAZYLIB_VOID(A, archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns), (e, t, ns))
