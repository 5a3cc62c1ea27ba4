/* libcurl, opened at the distribution driver's first request instead of
 * with the plugin: linked, it brought OpenSSL, Kerberos, LDAP, libssh2,
 * nghttp2 and more into every berthd (~3 MiB of an idle one's RSS) for
 * pulls and pushes that may never come.  The functions distribution.c
 * calls, with their curl.h prototypes (core/util/lazylib.h says how). */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>

#include "../../core/util/lazylib.h"

struct lazylib lazy_libcurl = {CURL_SONAME, "registry requests (pull, push, login, search)", NULL,
                               ""};
#define C lazy_libcurl

LAZYLIB_NEW(C, CURL *, curl_easy_init, (void), ())
LAZYLIB_FN(C, CURLcode, curl_global_init, (long flags), (flags))
LAZYLIB_FN(C, CURLcode, curl_easy_perform, (CURL * h), (h))
LAZYLIB_VOID(C, curl_easy_cleanup, (CURL * h), (h))
LAZYLIB_FN(C, const char *, curl_easy_strerror, (CURLcode c), (c))
LAZYLIB_FN(C, char *, curl_easy_escape, (CURL * h, const char *s, int len), (h, s, len))
LAZYLIB_VOID(C, curl_free, (void *p), (p))
LAZYLIB_FN(C, struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s),
           (l, s))
LAZYLIB_VOID(C, curl_slist_free_all, (struct curl_slist * l), (l))

/* curl_easy_setopt's one argument after the option has the type the
 * option's number says (curl.h's CURLOPTTYPE_ bases: long, pointer,
 * function pointer, curl_off_t, blob pointer), which is how libcurl reads
 * it too: read as that type, passed on as that type.  The name in
 * parentheses: curl.h's type-checking macro of the same name stays out. */
CURLcode(curl_easy_setopt)(CURL *h, CURLoption opt, ...) {
  static CURLcode (*fn_)(CURL *, CURLoption, ...);
  CURLcode (*f)(CURL *, CURLoption, ...) = LAZYLIB_RESOLVE(C, fn_, "curl_easy_setopt");
  va_list ap;
  va_start(ap, opt);
  CURLcode r;
  if (opt < CURLOPTTYPE_OBJECTPOINT) {
    long v = va_arg(ap, long);
    r = f(h, opt, v);
  } else if (opt >= CURLOPTTYPE_FUNCTIONPOINT && opt < CURLOPTTYPE_OFF_T) {
    void (*v)(void) = va_arg(ap, void (*)(void));
    r = f(h, opt, v);
  } else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB) {
    curl_off_t v = va_arg(ap, curl_off_t);
    r = f(h, opt, v);
  } else {
    void *v = va_arg(ap, void *);
    r = f(h, opt, v);
  }
  va_end(ap);
  return r;
}
