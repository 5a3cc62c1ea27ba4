/* What belongs to the daemon as a whole. */
#include "daemon.h"

#include <stdarg.h>

/* a warning for the log and for `berth info` (Warnings) */
void daemon_warn(struct daemon *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s;
  if (vasprintf(&s, fmt, ap) < 0) abort();
  va_end(ap);
  log_warn("%s", s);
  d->warnings = xrealloc(d->warnings, (d->n_warnings + 1) * sizeof *d->warnings);
  d->warnings[d->n_warnings++] = s;
}
