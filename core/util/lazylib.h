/* Shared libraries berthd needs only for some requests -- libarchive for
 * tar streams (pull, load, save, import, export, cp, commit, build), ldns
 * for the networks' DNS server -- opened at their first use instead of by
 * the dynamic loader at start-up.  Linked the usual way, the loader maps,
 * relocates and pages in each of them and everything they need (libarchive
 * alone brings libxml2, ICU and libstdc++: ~3 MiB of an idle berthd's
 * 10 MiB, ldns another 2 with libcrypto).
 *
 * The functions keep their names and the prototypes of the library's own
 * header, which the compiler checks each definition against: a file using
 * libarchive changes nothing but its check of archive_read_new() or
 * archive_write_new() for NULL.  Each function is a small definition
 * (LAZYLIB_FN) that resolves the real one once and then calls it; the
 * tables are core/util/lazy-archive.c and core/util/lazy-ldns.c, and the
 * registry plugin's lazy-curl.c (lazylib.c is compiled into it too: it
 * needs nothing of berthd's but plugin.h).
 *
 * Only the functions that start a use (lazylib's _NEW: the library's
 * constructors) can meet a library that will not load: they return NULL,
 * and the caller reports lazylib_fail().  The other functions are reached
 * only with an object one of those made, so the library is loaded; if a
 * symbol is missing all the same (a library older than configure saw),
 * berthd stops with a line that names it rather than call through NULL. */
#ifndef BERTH_LAZYLIB_H
#define BERTH_LAZYLIB_H

#include <berth/plugin.h>
#include <errno.h>
#include <stdbool.h>

struct lazylib {
  const char *soname;  /* what dlopen gets, from configure: "libarchive.so.13" */
  const char *purpose; /* for the error: "tar archives" */
  void *handle;        /* set once, under lazylib's lock */
  char error[240];     /* dlerror() of the last failed open */
};

extern struct lazylib lazy_libarchive, lazy_libldns; /* core/util/lazy-*.c */
extern struct lazylib lazy_libcurl;                  /* the distribution plugin's lazy-curl.c */

/* open l if it is not yet: true when it is, false with l->error set */
bool lazylib_open(struct lazylib *l);
/* the berth_err for a library that did not open ("cannot load ..."): its -code */
int lazylib_fail(struct lazylib *l, struct berth_err *err);
/* lazylib_open, for a request that must not begin without l: 0, or
 * lazylib_fail's error */
int lazylib_need(struct lazylib *l, struct berth_err *err);
/* name's address in l, opening l first; stops berthd if it cannot */
void *lazylib_sym(struct lazylib *l, const char *name);

/* ret name params: resolve name in lib at the first call, then call it */
#define LAZYLIB_RESOLVE(lib, fnptr, name)                                                          \
  __extension__({                                                                                  \
    __typeof__(fnptr) f_ = __atomic_load_n(&fnptr, __ATOMIC_ACQUIRE);                              \
    if (!f_) {                                                                                     \
      f_ = (__typeof__(fnptr))lazylib_sym(&lib, name);                                             \
      __atomic_store_n(&fnptr, f_, __ATOMIC_RELEASE);                                              \
    }                                                                                              \
    f_;                                                                                            \
  })
#define LAZYLIB_FN(lib, ret, name, params, args)                                                   \
  ret name params {                                                                                \
    static ret(*fn_) params;                                                                       \
    return LAZYLIB_RESOLVE(lib, fn_, #name) args;                                                  \
  }
#define LAZYLIB_VOID(lib, name, params, args)                                                      \
  void name params {                                                                               \
    static void(*fn_) params;                                                                      \
    LAZYLIB_RESOLVE(lib, fn_, #name) args;                                                         \
  }
/* a constructor: NULL with errno ELIBACC when lib does not load */
#define LAZYLIB_NEW(lib, ret, name, params, args)                                                  \
  ret name params {                                                                                \
    static ret(*fn_) params;                                                                       \
    if (!lazylib_open(&lib)) {                                                                     \
      errno = ELIBACC;                                                                             \
      return NULL;                                                                                 \
    }                                                                                              \
    return LAZYLIB_RESOLVE(lib, fn_, #name) args;                                                  \
  }

#endif
