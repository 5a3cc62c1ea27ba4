#include <ctype.h>
#include <time.h>

#include "cli.h"
#include "template.h"

void go_time_string(int64_t ns, char *out, size_t len) {
  time_t t = (time_t)(ns / 1000000000);
  long frac = (long)(ns % 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char day[32], zone[32], nanos[16] = "";
  strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
  strftime(zone, sizeof zone, "%z %Z", &tm);
  if (frac) { /* .999999999: the trailing zeros go */
    snprintf(nanos, sizeof nanos, ".%09ld", frac);
    for (size_t n = strlen(nanos); nanos[n - 1] == '0'; n--)
      nanos[n - 1] = 0;
  }
  snprintf(out, len, "%s%s %s", day, nanos, zone);
}

json_t *labels_joined(json_t *labels) {
  struct strbuf b = {0};
  strbuf_add(&b, "", 0);
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) {
    if (b.len) strbuf_str(&b, ",");
    strbuf_str(&b, k);
    strbuf_str(&b, "=");
    strbuf_str(&b, json_string_value(v) ?: "");
  }
  json_t *r = json_string(b.s);
  free(b.s);
  return r;
}

/* docker's sortorder.NaturalLess: runs of digits compare as numbers */
static int natural_cmp(const char *a, const char *b) {
  while (*a && *b) {
    if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
      while (*a == '0' && isdigit((unsigned char)a[1]))
        a++;
      while (*b == '0' && isdigit((unsigned char)b[1]))
        b++;
      size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
      int c = na != nb ? (na > nb) - (na < nb) : strncmp(a, b, na);
      if (c) return c;
      a += na, b += nb;
      continue;
    }
    if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
    a++, b++;
  }
  return (unsigned char)*a - (unsigned char)*b;
}

static int by_name(const void *x, const void *y) {
  const char *a = json_string_value(json_object_get(*(json_t *const *)x, "Name"));
  const char *b = json_string_value(json_object_get(*(json_t *const *)y, "Name"));
  return natural_cmp(a ? a : "", b ? b : "");
}

void sort_by_name(json_t *rows) {
  size_t n = json_array_size(rows);
  if (n < 2) return;
  json_t **v = xmalloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_incref(json_array_get(rows, i));
  qsort(v, n, sizeof *v, by_name);
  json_array_clear(rows);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(rows, v[i]);
  free(v);
}

void human_size(double n, char *out, size_t len) {
  static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (n >= 1000 && u < 5) {
    n /= 1000;
    u++;
  }
  snprintf(out, len, "%.3g%s", n, units[u]);
}

/* --format's template, or the process ends with docker's words: "template
 * parsing error: ..." (inspect and the like, 64) or "failed to parse
 * template: ..." (listings, 1) */
static struct template *compile_or_die(const char *src, const char *what, int code) {
  char *err = NULL;
  struct template *t = template_parse(src, &err);
  if (t) return t;
  fprintf(stderr, "%s: %s\n", what, err);
  free(err);
  exit(code);
}

static char *render_or_die(const struct template *t, json_t *row) {
  char *err = NULL;
  char *s = template_exec(t, row, &err);
  if (s) return s;
  fprintf(stderr, "%s\n", err);
  free(err);
  exit(1);
}

char *template_render(const char *tmpl, json_t *row) {
  struct template *t = compile_or_die(tmpl, "template parsing error", 64);
  char *s = render_or_die(t, row);
  template_free(t);
  return s;
}

/* rows kept as their lines, split in place at the tabs */
struct table_row {
  char *line;
  char **cells;
  size_t n;
};

struct table {
  struct table_row *rows;
  size_t n, cap;
};

struct table *table_new(void) {
  return xcalloc(1, sizeof(struct table));
}

void table_add(struct table *t, const char *line) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 64;
    t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
  }
  struct table_row *r = &t->rows[t->n++];
  r->line = xstrdup(line);
  r->n = 1;
  for (const char *p = line; (p = strchr(p, '\t')); p++)
    r->n++;
  r->cells = xmalloc(r->n * sizeof *r->cells);
  char *p = r->line;
  for (size_t c = 0; c < r->n; c++) {
    r->cells[c] = p;
    p += strcspn(p, "\t");
    if (*p) *p++ = 0;
  }
}

static size_t display_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80) w++;
  return w;
}

/* each line built whole and written once (stdio's lock per character was
 * a millisecond of `ps -a` with 1,000 containers) */
void table_print(struct table *t, FILE *f) {
  size_t maxc = 0;
  for (size_t i = 0; i < t->n; i++)
    if (t->rows[i].n > maxc) maxc = t->rows[i].n;
  size_t *w = xcalloc(maxc + 1, sizeof *w);
  for (size_t i = 0; i < t->n; i++)
    for (size_t c = 0; c + 1 < t->rows[i].n; c++) {
      size_t dw = display_width(t->rows[i].cells[c]);
      if (dw > w[c]) w[c] = dw;
    }
  /* Go's tabwriter as docker sets it up: minwidth 10, padding 3 */
  for (size_t c = 0; c < maxc; c++)
    w[c] = w[c] + 3 < 10 ? 10 : w[c] + 3;
  struct strbuf b = {0};
  for (size_t i = 0; i < t->n; i++) {
    struct table_row *r = &t->rows[i];
    b.len = 0;
    for (size_t c = 0; c < r->n; c++) {
      strbuf_str(&b, r->cells[c]);
      for (size_t k = c + 1 < r->n ? display_width(r->cells[c]) : w[c]; k < w[c]; k++)
        strbuf_add(&b, " ", 1);
    }
    strbuf_add(&b, "\n", 1);
    fwrite(b.s, 1, b.len, f);
    free(r->line);
    free(r->cells);
  }
  free(b.s);
  free(w);
  free(t->rows);
  free(t);
}

/* the title of a field: the listing's own, or its name in capitals */
static json_t *title_of(const char *path, const char *const headers[][2]) {
  for (size_t i = 0; headers && headers[i][0]; i++)
    if (!strcmp(headers[i][0], path)) return json_string(headers[i][1]);
  char *t = xstrdup(path);
  for (char *c = t; *c; c++)
    *c = (char)toupper((unsigned char)*c);
  json_t *v = json_string(t);
  free(t);
  return v;
}

/* "table {{.A}}\t{{if .B}}{{.B}}{{end}}" -> "TITLE_A\tTITLE_B": the template
 * run on each field it names set to its title, as docker makes its header */
static char *header_of(const struct template *tp, const char *tmpl,
                       const char *const headers[][2]) {
  json_t *titles = json_object();
  for (const char *p = tmpl; (p = strchr(p, '.'));) {
    size_t n = strspn(++p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.");
    char *path = xstrndup(p, n);
    p += n;
    json_t *at = titles; /* .A.B: {"A": {"B": "A.B"}} */
    for (char *seg = path, *dot; at && *seg; seg = dot + 1) {
      if (!(dot = strchr(seg, '.'))) {
        if (!json_object_get(at, seg)) json_object_set_new(at, seg, title_of(path, headers));
        break;
      }
      *dot = 0;
      json_t *next = json_object_get(at, seg);
      if (!next) json_object_set_new(at, seg, next = json_object());
      *dot = '.';
      at = json_is_object(next) ? next : NULL;
    }
    free(path);
  }
  char *err = NULL;
  char *h = template_exec_as(tp, titles, true, &err);
  free(err);
  json_decref(titles);
  return h ? h : xstrdup("");
}

const char *row_template(const char *format, const char *default_format, bool *is_table) {
  const char *fmt = format && *format ? format : default_format;
  if (!strcmp(fmt, "json")) fmt = "{{json .}}";
  *is_table = str_has_prefix(fmt, "table");
  if (*is_table) {
    fmt += 5;
    while (*fmt == ' ')
      fmt++;
    if (!*fmt) fmt = default_format + 6;
  }
  return fmt;
}

void print_rows(json_t *rows, const char *format, const char *default_format,
                const char *const headers[][2], bool quiet) {
  bool is_table;
  const char *fmt = row_template(format, default_format, &is_table);
  struct template *tp = compile_or_die(fmt, "failed to parse template", 1);
  struct table *t = is_table ? table_new() : NULL;
  if (t && !quiet) {
    char *h = header_of(tp, fmt, headers);
    table_add(t, h);
    free(h);
  }
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    char *line = render_or_die(tp, row);
    if (t)
      table_add(t, line);
    else
      printf("%s\n", line);
    free(line);
  }
  if (t) table_print(t, stdout);
  template_free(tp);
}

void print_json_indented(json_t *j) {
  char *s = json_dumps(j, JSON_INDENT(4) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
  printf("%s\n", s);
  free(s);
}

void print_inspect(json_t *results, const char *format) {
  if (!format) {
    print_json_indented(results);
    return;
  }
  struct template *tp = compile_or_die(format, "template parsing error", 64);
  size_t i;
  json_t *o;
  json_array_foreach(results, i, o) {
    char *s = render_or_die(tp, o);
    printf("%s\n", s);
    free(s);
  }
  template_free(tp);
}

/* ---- ids and filters, for every listing ---- */

char *short_id(const char *id, bool no_trunc) {
  if (no_trunc) return xstrdup(id);
  const char *hex = str_has_prefix(id, "sha256:") ? id + 7 : id;
  return xasprintf("%.12s", hex);
}

void add_filter(json_t *filters, const char *f) {
  const char *eq = strchr(f, '=');
  cleanup_free char *k = eq ? strndup(f, (size_t)(eq - f)) : xstrdup(f);
  json_t *m = json_object_get(filters, k);
  if (!m) json_object_set_new(filters, k, m = json_object());
  json_object_set_new(m, eq ? eq + 1 : "", json_true());
}

char *query_filters(json_t *filters) {
  if (!json_object_size(filters)) return xstrdup("");
  char *s = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
  char *e = url_escape(s);
  char *q = xasprintf("&filters=%s", e);
  free(s);
  free(e);
  return q;
}

int inspect_each(const char *prefix, char **names, int n, const char *format) {
  json_t *out = json_array();
  int rc = 0;
  for (int i = 0; i < n; i++) {
    cleanup_free char *e = url_escape(names[i]);
    cleanup_free char *path = xasprintf("%s/%s", prefix, e);
    json_t *j = NULL;
    if (api_call("GET", path, NULL, &j, NULL) < 0)
      rc = 1;
    else
      json_array_append_new(out, j);
  }
  if (json_array_size(out)) print_inspect(out, format);
  json_decref(out);
  return rc;
}

int remove_each(const char *prefix, const char *query, char **names, int n) {
  int rc = 0;
  for (int i = 0; i < n; i++) {
    cleanup_free char *e = url_escape(names[i]);
    cleanup_free char *path = xasprintf("%s/%s%s", prefix, e, query);
    if (api_call("DELETE", path, NULL, NULL, NULL) < 0)
      rc = 1;
    else
      printf("%s\n", names[i]);
  }
  return rc;
}

json_t *kv_map(const struct strlist *l) {
  json_t *m = json_object();
  for (size_t i = 0; i < l->n; i++) {
    const char *eq = strchr(l->v[i], '=');
    cleanup_free char *k = eq ? strndup(l->v[i], (size_t)(eq - l->v[i])) : xstrdup(l->v[i]);
    json_object_set_new(m, k, json_string(eq ? eq + 1 : ""));
  }
  return m;
}

char *path_with_filters(const char *path, const struct strlist *filt, const char *extra) {
  json_t *filters = json_object();
  for (size_t i = 0; i < filt->n; i++)
    add_filter(filters, filt->v[i]);
  if (extra) add_filter(filters, extra);
  cleanup_free char *fq = query_filters(filters);
  json_decref(filters);
  return xasprintf("%s?%s", path, fq[0] ? fq + 1 : "");
}

bool confirm(const char *warning) {
  fprintf(stderr, "%s\nAre you sure you want to continue? [y/N] ", warning);
  char ans[16] = "";
  return fgets(ans, sizeof ans, stdin) && (ans[0] == 'y' || ans[0] == 'Y');
}

/* docker's GetTimestamp (core/util's docker_timestamp), as the API's
 * "seconds.nanoseconds" */
char *timestamp_arg(const char *v) {
  int64_t ns;
  if (!v || !*v || docker_timestamp(v, &ns) < 0) return NULL;
  return xasprintf("%lld.%09lld", (long long)(ns / 1000000000), (long long)(ns % 1000000000));
}
