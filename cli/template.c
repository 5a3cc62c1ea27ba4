/* Go's text/template for --format (template.h): parsed once into a tree of
 * nodes, then run on each row.  The data is jansson's: an action's value is
 * a json_t reference (NULL: no value), a function's result a new one. */
#include "template.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/util/util.h"

/* ---------------- the tree ---------------- */

enum arg_kind { A_DOT, A_VAR, A_STR, A_INT, A_REAL, A_BOOL, A_NIL, A_PIPE, A_FUNC };
struct pipe;
struct arg {
  enum arg_kind kind;
  char *s; /* A_VAR: the name ("" for $); A_STR: the text; A_FUNC: the name */
  long long i;
  double r;
  struct pipe *pipe; /* A_PIPE */
  char **fields;     /* then .A.B */
  size_t n_fields;
};
struct cmd {
  struct arg *args;
  size_t n;
};
struct pipe {
  char *vars[2]; /* $i, $v := */
  size_t n_vars;
  struct cmd *cmds;
  size_t n;
  char *src; /* its text, for an error's "at <...>" */
};
enum node_kind { N_TEXT, N_OUT, N_IF, N_RANGE, N_WITH };
struct node;
struct list {
  struct node *v;
  size_t n;
};
struct node {
  enum node_kind kind;
  char *text; /* N_TEXT */
  struct pipe *pipe;
  struct list body, alt; /* alt: what else runs ({{else if}}: an N_IF alone) */
};
struct template {
  struct list root;
};

typedef json_t *fn_t(json_t **a, size_t n, char **err);
struct func {
  const char *name;
  fn_t *fn;
  bool docker; /* docker's, not Go's */
};
static const struct func *find_func(const char *name, size_t len);

static void pipe_free(struct pipe *p);

static void args_free(struct arg *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(a[i].s);
    pipe_free(a[i].pipe);
    for (size_t f = 0; f < a[i].n_fields; f++)
      free(a[i].fields[f]);
    free(a[i].fields);
  }
  free(a);
}

static void pipe_free(struct pipe *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++)
    args_free(p->cmds[i].args, p->cmds[i].n);
  free(p->cmds);
  free(p->vars[0]);
  free(p->vars[1]);
  free(p->src);
  free(p);
}

static void list_free(struct list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].text);
    pipe_free(l->v[i].pipe);
    list_free(&l->v[i].body);
    list_free(&l->v[i].alt);
  }
  free(l->v);
}

void template_free(struct template *t) {
  if (!t) return;
  list_free(&t->root);
  free(t);
}

static struct node *list_push(struct list *l, enum node_kind kind) {
  l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
  struct node *n = &l->v[l->n++];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  return n;
}

/* ---------------- parsing ---------------- */

struct parser {
  const char *p;   /* the next character */
  const char *src; /* the whole, for line numbers */
  char *err;
  bool trim_next; /* the last action ended with -}} */
  int depth;      /* blocks and parentheses open: a bound, not the stack's */
};

#define MAX_DEPTH 200

static bool fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct parser *ps, const char *fmt, ...) {
  if (ps->err) return false;
  int line = 1;
  for (const char *c = ps->src; c < ps->p && *c; c++)
    line += *c == '\n';
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  ps->err = xasprintf("template: :%d: %s", line, msg ? msg : "out of memory");
  free(msg);
  return false;
}

static void skip_space(struct parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
    ps->p++;
}

/* "}}" or " -}}" next (after spaces); consumed with take */
static bool action_end(struct parser *ps, bool take) {
  const char *q = ps->p;
  bool spaced = q > ps->src && isspace((unsigned char)q[-1]);
  while (isspace((unsigned char)*q)) {
    spaced = true;
    q++;
  }
  bool trim = spaced && q[0] == '-' && q[1] == '}' && q[2] == '}';
  if (!trim && !(q[0] == '}' && q[1] == '}')) return false;
  if (take) {
    ps->p = q + (trim ? 3 : 2);
    ps->trim_next = trim;
  }
  return true;
}

static bool ident_char(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

static size_t ident_len(const char *p) {
  size_t n = 0;
  while (ident_char(p[n]))
    n++;
  return n;
}

/* .A.B after an operand */
static bool parse_fields(struct parser *ps, struct arg *a) {
  while (ps->p[0] == '.' && ident_char(ps->p[1])) {
    size_t n = ident_len(ps->p + 1);
    a->fields = xrealloc(a->fields, (a->n_fields + 1) * sizeof *a->fields);
    a->fields[a->n_fields++] = xstrndup(ps->p + 1, n);
    ps->p += 1 + n;
  }
  return true;
}

/* a Go string literal: "..." with its escapes, or `raw` */
static bool parse_string(struct parser *ps, struct arg *a) {
  char q = *ps->p++;
  size_t cap = 16, n = 0;
  char *s = xmalloc(cap);
  for (; *ps->p && *ps->p != q; ps->p++) {
    char c = *ps->p;
    if (q == '"' && c == '\n') break;
    if (q == '"' && c == '\\') {
      c = *++ps->p;
      c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == '0' ? '\0' : c;
      if (!*ps->p) break;
    }
    if (n + 2 > cap) s = xrealloc(s, cap *= 2);
    s[n++] = c;
  }
  s[n] = 0;
  a->kind = A_STR;
  a->s = s;
  if (*ps->p != q) return fail(ps, "unterminated quoted string");
  ps->p++;
  return true;
}

static bool parse_number(struct parser *ps, struct arg *a) {
  char *end;
  long long i = strtoll(ps->p, &end, 0);
  if (*end == '.' || *end == 'e' || *end == 'E') {
    a->kind = A_REAL;
    a->r = strtod(ps->p, &end);
  } else {
    a->kind = A_INT;
    a->i = i;
  }
  if (ident_char(*end)) return fail(ps, "bad number syntax: %.*s", (int)ident_len(ps->p), ps->p);
  ps->p = end;
  return true;
}

static struct pipe *parse_pipe(struct parser *ps, bool in_parens);

static bool parse_word(struct parser *ps, struct arg *a) {
  size_t n = ident_len(ps->p);
  if ((n == 4 && !strncmp(ps->p, "true", 4)) || (n == 5 && !strncmp(ps->p, "false", 5))) {
    a->kind = A_BOOL;
    a->i = n == 4;
  } else if (n == 3 && !strncmp(ps->p, "nil", 3)) {
    a->kind = A_NIL;
  } else if (find_func(ps->p, n)) {
    a->kind = A_FUNC;
    a->s = xstrndup(ps->p, n);
  } else {
    return fail(ps, "function \"%.*s\" not defined", (int)n, ps->p);
  }
  ps->p += n;
  return true;
}

static bool parse_operand(struct parser *ps, struct arg *a) {
  char c = *ps->p;
  if (c == '.') {
    a->kind = A_DOT;
    if (!ident_char(ps->p[1])) ps->p++;
    return parse_fields(ps, a);
  }
  if (c == '$') {
    size_t n = ident_len(ps->p + 1);
    a->kind = A_VAR;
    a->s = xstrndup(ps->p + 1, n);
    ps->p += 1 + n;
    return parse_fields(ps, a);
  }
  if (c == '"' || c == '`') return parse_string(ps, a);
  if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && isdigit((unsigned char)ps->p[1])))
    return parse_number(ps, a);
  if (c == '(') {
    ps->p++;
    a->kind = A_PIPE;
    ps->depth++;
    a->pipe = parse_pipe(ps, true);
    ps->depth--;
    if (!a->pipe) return false;
    return parse_fields(ps, a);
  }
  if (isalpha((unsigned char)c) || c == '_') return parse_word(ps, a);
  return fail(ps, "unexpected \"%c\" in command", c);
}

/* operands up to "|", ")" or the action's end */
static bool parse_cmd(struct parser *ps, struct cmd *cmd, bool in_parens) {
  for (;;) {
    skip_space(ps);
    if (!*ps->p) return fail(ps, "unclosed action");
    if (*ps->p == '|' || (*ps->p == ')' && in_parens) || (!in_parens && action_end(ps, false)))
      break;
    if (*ps->p == ')') return fail(ps, "unexpected right paren");
    cmd->args = xrealloc(cmd->args, (cmd->n + 1) * sizeof *cmd->args);
    struct arg *a = &cmd->args[cmd->n++];
    memset(a, 0, sizeof *a);
    if (!parse_operand(ps, a)) return false;
    if (*ps->p && !isspace((unsigned char)*ps->p) && !strchr("|)}", *ps->p) && *ps->p != '-')
      return fail(ps, "unexpected \"%c\" in operand", *ps->p);
  }
  if (!cmd->n) return fail(ps, "missing value for command");
  return true;
}

/* "$x :=" or "$i, $v :=" ahead: taken into p->vars */
static void parse_decl(struct parser *ps, struct pipe *p) {
  const char *save = ps->p;
  for (size_t i = 0; i < 2; i++) {
    skip_space(ps);
    if (*ps->p != '$') break;
    size_t n = ident_len(ps->p + 1);
    p->vars[i] = xstrndup(ps->p + 1, n);
    p->n_vars = i + 1;
    ps->p += 1 + n;
    skip_space(ps);
    if (ps->p[0] == ':' && ps->p[1] == '=') {
      ps->p += 2;
      return;
    }
    if (*ps->p != ',') break;
    ps->p++;
  }
  free(p->vars[0]), free(p->vars[1]);
  p->vars[0] = p->vars[1] = NULL;
  p->n_vars = 0;
  ps->p = save;
}

static struct pipe *parse_pipe(struct parser *ps, bool in_parens) {
  if (ps->depth >= MAX_DEPTH) return fail(ps, "max expression depth exceeded"), NULL;
  struct pipe *p = xcalloc(1, sizeof *p);
  const char *from = ps->p;
  parse_decl(ps, p);
  for (;;) {
    p->cmds = xrealloc(p->cmds, (p->n + 1) * sizeof *p->cmds);
    struct cmd *c = &p->cmds[p->n++];
    memset(c, 0, sizeof *c);
    if (!parse_cmd(ps, c, in_parens)) break;
    if (*ps->p != '|') break;
    ps->p++;
  }
  const char *to = ps->p;
  while (to > from && isspace((unsigned char)to[-1]))
    to--;
  p->src = xstrndup(from, (size_t)(to - from));
  if (in_parens && !ps->err) ps->p++; /* the ")" */
  if (ps->err) {
    pipe_free(p);
    return NULL;
  }
  return p;
}

enum stop { S_EOF, S_END, S_ELSE };

static enum stop parse_list(struct parser *ps, struct list *l);

/* if, range, with: the pipeline, the body, what else */
static bool parse_control(struct parser *ps, struct list *l, enum node_kind kind, const char *kw) {
  struct node *n = list_push(l, kind);
  skip_space(ps);
  if (action_end(ps, false)) return fail(ps, "missing value for %s", kw);
  n->pipe = parse_pipe(ps, false);
  if (!n->pipe || !action_end(ps, true)) return n->pipe ? fail(ps, "unclosed action") : false;
  struct list body = {0}, alt = {0};
  if (ps->depth >= MAX_DEPTH) return fail(ps, "max expression depth exceeded");
  ps->depth++;
  enum stop s = parse_list(ps, &body);
  ps->depth--;
  n = &l->v[l->n - 1]; /* l may have moved */
  n->body = body;
  if (s == S_ELSE) {
    skip_space(ps);
    if (kind == N_IF && !strncmp(ps->p, "if", 2) && !ident_char(ps->p[2])) {
      ps->p += 2; /* {{else if}}: an if in the else, sharing the {{end}} */
      ps->depth++;
      bool ok = parse_control(ps, &alt, N_IF, "if");
      ps->depth--;
      l->v[l->n - 1].alt = alt;
      return ok;
    }
    if (!action_end(ps, true)) return fail(ps, "unexpected words after else");
    s = parse_list(ps, &alt);
    l->v[l->n - 1].alt = alt;
    if (s == S_ELSE) return fail(ps, "expected end; found else");
  }
  if (s != S_END) return ps->err ? false : fail(ps, "unexpected EOF");
  return true;
}

/* after "{{": a comment, a keyword, or a pipeline to print */
static bool parse_action(struct parser *ps, struct list *l, enum stop *stop) {
  skip_space(ps);
  if (ps->p[0] == '/' && ps->p[1] == '*') {
    const char *e = strstr(ps->p, "*/");
    if (!e) return fail(ps, "unclosed comment");
    ps->p = e + 2;
    return action_end(ps, true) || fail(ps, "comment ends before closing delimiter");
  }
  size_t n = ident_len(ps->p);
  static const struct {
    const char *kw;
    enum node_kind kind;
  } ctl[] = {{"if", N_IF}, {"range", N_RANGE}, {"with", N_WITH}};
  for (size_t i = 0; i < sizeof ctl / sizeof *ctl; i++)
    if (n == strlen(ctl[i].kw) && !strncmp(ps->p, ctl[i].kw, n)) {
      ps->p += n;
      return parse_control(ps, l, ctl[i].kind, ctl[i].kw);
    }
  if (n == 3 && !strncmp(ps->p, "end", 3)) {
    ps->p += 3;
    *stop = S_END;
    return action_end(ps, true) || fail(ps, "unexpected words after end");
  }
  if (n == 4 && !strncmp(ps->p, "else", 4)) {
    ps->p += 4;
    *stop = S_ELSE;
    return true;
  }
  if ((n == 8 && !strncmp(ps->p, "template", 8)) || (n == 6 && !strncmp(ps->p, "define", 6)) ||
      (n == 5 && !strncmp(ps->p, "block", 5)))
    return fail(ps, "%.*s is not supported here", (int)n, ps->p);
  struct pipe *p = parse_pipe(ps, false);
  if (!p) return false;
  list_push(l, N_OUT)->pipe = p;
  return action_end(ps, true) || fail(ps, "unclosed action");
}

/* text and actions up to the end of src, an {{end}} or an {{else}} */
static enum stop parse_list(struct parser *ps, struct list *l) {
  while (*ps->p && !ps->err) {
    const char *open = strstr(ps->p, "{{");
    const char *text_end = open ? open : ps->p + strlen(ps->p);
    bool trim_before = open && open[2] == '-' && isspace((unsigned char)open[3]);
    const char *from = ps->p;
    if (ps->trim_next)
      while (from < text_end && isspace((unsigned char)*from))
        from++;
    const char *to = text_end;
    if (trim_before)
      while (to > from && isspace((unsigned char)to[-1]))
        to--;
    ps->trim_next = false;
    if (to > from) list_push(l, N_TEXT)->text = xstrndup(from, (size_t)(to - from));
    if (!open) {
      ps->p = text_end;
      break;
    }
    ps->p = open + 2 + (trim_before ? 2 : 0);
    enum stop stop = S_EOF;
    if (!parse_action(ps, l, &stop)) break;
    if (stop != S_EOF) return stop;
  }
  return S_EOF;
}

struct template *template_parse(const char *src, char **err) {
  struct template *t = xcalloc(1, sizeof *t);
  struct parser ps = {src, src, NULL, false, 0};
  enum stop s = parse_list(&ps, &t->root);
  if (!ps.err && s == S_END) fail(&ps, "unexpected {{end}}");
  if (!ps.err && s == S_ELSE) fail(&ps, "unexpected {{else}}");
  if (ps.err) {
    template_free(t);
    *err = ps.err;
    return NULL;
  }
  return t;
}

/* ---------------- printing, as Go's fmt %v ---------------- */

/* %v of a float64: the shortest digits that read back, in %e form from
 * 1e+06 or below 1e-04 (Go's 'g' with precision -1: 1e+06, 123456, 0.5) */
static void fmt_real(struct strbuf *o, double v) {
  char buf[64];
  int prec = 1;
  for (; prec < 17; prec++) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    if (strtod(buf, NULL) == v) break;
  }
  const char *e = strchr(buf, 'e');
  int exp = e ? atoi(e + 1) : 0;
  if (isfinite(v) && exp >= -4 && exp < 6)
    snprintf(buf, sizeof buf, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
  strbuf_str(o, buf);
}

static int key_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* an object's keys in Go's order for maps: sorted; *n of them, malloc'd */
static const char **sorted_keys(json_t *obj, size_t *n) {
  *n = json_object_size(obj);
  const char **k = xmalloc((*n + 1) * sizeof *k);
  size_t i = 0;
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) k[i++] = key;
  qsort(k, *n, sizeof *k, key_cmp);
  return k;
}

/* nil inside a value prints <nil>; a whole value missing, <no value> */
static void fmt_value(struct strbuf *o, json_t *v, bool top) {
  if (!v || json_is_null(v)) {
    strbuf_str(o, top ? "<no value>" : "<nil>");
  } else if (json_is_string(v)) {
    strbuf_add(o, json_string_value(v), json_string_length(v));
  } else if (json_is_integer(v)) {
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
    strbuf_str(o, n);
  } else if (json_is_real(v)) {
    fmt_real(o, json_real_value(v));
  } else if (json_is_boolean(v)) {
    strbuf_str(o, json_is_true(v) ? "true" : "false");
  } else if (json_is_array(v)) {
    strbuf_str(o, "[");
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i) strbuf_str(o, " ");
      fmt_value(o, json_array_get(v, i), false);
    }
    strbuf_str(o, "]");
  } else {
    size_t n;
    const char **keys = sorted_keys(v, &n);
    strbuf_str(o, "map[");
    for (size_t i = 0; i < n; i++) {
      if (i) strbuf_str(o, " ");
      strbuf_str(o, keys[i]);
      strbuf_str(o, ":");
      fmt_value(o, json_object_get(v, keys[i]), false);
    }
    strbuf_str(o, "]");
    free(keys);
  }
}

static char *value_str(json_t *v, bool top) {
  struct strbuf o = {0};
  strbuf_add(&o, "", 0);
  fmt_value(&o, v, top);
  return o.s;
}

static const char *type_name(json_t *v) {
  if (!v || json_is_null(v)) return "<nil>";
  switch (json_typeof(v)) {
  case JSON_STRING: return "string";
  case JSON_INTEGER: return "int";
  case JSON_REAL: return "float64";
  case JSON_TRUE:
  case JSON_FALSE: return "bool";
  case JSON_ARRAY: return "[]interface {}";
  default: return "map[string]interface {}";
  }
}

/* Go's truth: false, 0, nil, and empty strings, arrays and maps are false */
static bool truth(json_t *v) {
  if (!v || json_is_null(v) || json_is_false(v)) return false;
  if (json_is_integer(v)) return json_integer_value(v) != 0;
  if (json_is_real(v)) return json_real_value(v) != 0;
  if (json_is_string(v)) return json_string_length(v) > 0;
  if (json_is_array(v)) return json_array_size(v) > 0;
  if (json_is_object(v)) return json_object_size(v) > 0;
  return true;
}

/* ---------------- running ---------------- */

struct var {
  const char *name;
  json_t *v; /* a reference */
};
struct exec {
  bool header; /* docker's header row: its own functions pass their operand on */
  struct strbuf out;
  struct var *vars; /* vars[0] is $, the data */
  size_t n_vars;
  char *err;
  unsigned long steps; /* nodes run: ranges in ranges must not run for ever */
};

/* what one run may do: ten million nodes, 64 MiB of output */
#define MAX_STEPS 10000000UL
#define MAX_OUT (64UL << 20)

static void var_push(struct exec *x, const char *name, json_t *v) {
  x->vars = xrealloc(x->vars, (x->n_vars + 1) * sizeof *x->vars);
  x->vars[x->n_vars++] = (struct var){name, v ? json_incref(v) : NULL};
}

/* the variables declared since mark go: their scope ended */
static void var_pop(struct exec *x, size_t mark) {
  while (x->n_vars > mark)
    json_decref(x->vars[--x->n_vars].v);
}

static json_t *xerr(struct exec *x, const struct pipe *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *xerr(struct exec *x, const struct pipe *at, const char *fmt, ...) {
  if (x->err) return NULL;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  x->err = xasprintf("template: :1: executing \"\" at <%s>: %s", at ? at->src : "",
                     msg ? msg : "out of memory");
  free(msg);
  return NULL;
}

/* o's member name; else one that differs only in case: docker's templates
 * name Go's fields (.ID, .Client.APIVersion) where the JSON says Id and
 * ApiVersion */
static json_t *member(json_t *o, const char *name) {
  json_t *v = json_object_get(o, name);
  if (v) return v;
  const char *k;
  json_t *e;
  json_object_foreach(o, k, e) {
    if (!strcasecmp(k, name)) return e;
  }
  return NULL;
}

/* v (taken) followed through .A.B: a member missing is no value */
static json_t *follow(struct exec *x, const struct pipe *at, json_t *v, const struct arg *a) {
  for (size_t i = 0; i < a->n_fields && !x->err; i++) {
    if (!v || json_is_null(v)) break;
    if (!json_is_object(v)) {
      xerr(x, at, "can't evaluate field %s in type %s", a->fields[i], type_name(v));
      json_decref(v);
      return NULL;
    }
    json_t *next = member(v, a->fields[i]);
    if (next) json_incref(next);
    json_decref(v);
    v = next;
  }
  return v;
}

static json_t *run_pipe(struct exec *x, const struct pipe *p, json_t *dot, bool declare);

static json_t *eval_arg(struct exec *x, const struct pipe *at, const struct arg *a, json_t *dot) {
  json_t *v = NULL;
  switch (a->kind) {
  case A_DOT: v = dot ? json_incref(dot) : NULL; break;
  case A_STR: v = json_string(a->s); break;
  case A_INT: v = json_integer(a->i); break;
  case A_REAL: v = json_real(a->r); break;
  case A_BOOL: v = json_boolean(a->i); break;
  case A_NIL: return xerr(x, at, "nil is not a command");
  case A_FUNC: return xerr(x, at, "can't give argument to non-function %s", a->s);
  case A_PIPE: v = run_pipe(x, a->pipe, dot, true); break;
  case A_VAR: {
    size_t i = x->n_vars;
    while (i > 0 && strcmp(x->vars[i - 1].name, a->s))
      i--;
    if (!i) return xerr(x, at, "undefined variable: $%s", a->s);
    v = x->vars[i - 1].v ? json_incref(x->vars[i - 1].v) : NULL;
    break;
  }
  }
  return follow(x, at, v, a);
}

/* docker's listings' .Label "key": the value of one label, from the row's
 * Labels (an object, or docker's "k=v,k2=v2"); a header row shows the key */
static json_t *label_method(struct exec *x, const struct pipe *p, const struct cmd *c,
                            json_t *dot) {
  struct arg owner = c->args[0];
  owner.n_fields--; /* .X.Label: on .X */
  json_t *row = eval_arg(x, p, &owner, dot), *key = eval_arg(x, p, &c->args[1], dot), *v = NULL;
  if (!x->err && !json_is_string(key)) xerr(x, p, "Label wants a string");
  const char *k = json_string_value(key);
  json_t *labels = json_object_get(row, "Labels");
  if (x->err) {
  } else if (x->header) {
    v = json_incref(key);
  } else if (json_is_object(labels)) {
    v = json_object_get(labels, k) ? json_incref(json_object_get(labels, k)) : json_string("");
  } else {
    const char *l = json_string_value(labels) ?: "";
    size_t kl = strlen(k);
    for (const char *e = l; !v && *e; e += strcspn(e, ","), e += *e == ',')
      if (!strncmp(e, k, kl) && e[kl] == '=')
        v = json_stringn(e + kl + 1, strcspn(e + kl + 1, ","));
    if (!v) v = json_string("");
  }
  json_decref(row);
  json_decref(key);
  return v;
}

/* one command: a function called with its operands (and, in a pipeline,
 * the value before it last), or one operand */
static json_t *run_cmd(struct exec *x, const struct pipe *p, const struct cmd *c, json_t *dot,
                       json_t *piped, bool has_piped) {
  if (c->args[0].kind != A_FUNC) {
    const struct arg *m = &c->args[0];
    if (c->n == 2 && !has_piped && m->n_fields && !strcmp(m->fields[m->n_fields - 1], "Label"))
      return label_method(x, p, c, dot);
    if (c->n > 1 || has_piped) return xerr(x, p, "can't give argument to non-function %s", p->src);
    return eval_arg(x, p, &c->args[0], dot);
  }
  size_t n = c->n - 1 + (has_piped ? 1 : 0);
  json_t **a = xcalloc(n + 1, sizeof *a);
  for (size_t i = 1; i < c->n && !x->err; i++)
    a[i - 1] = eval_arg(x, p, &c->args[i], dot);
  if (has_piped) a[n - 1] = piped ? json_incref(piped) : NULL;
  json_t *v = NULL;
  const struct func *f = find_func(c->args[0].s, strlen(c->args[0].s));
  if (!x->err && x->header && f->docker && n) {
    v = a[0] ? json_incref(a[0]) : NULL;
  } else if (!x->err) {
    char *err = NULL;
    v = f->fn(a, n, &err);
    if (err) xerr(x, p, "error calling %s: %s", f->name, err);
    free(err);
  }
  for (size_t i = 0; i < n; i++)
    json_decref(a[i]);
  free(a);
  return v;
}

/* declare: its $x := takes the value (a range's variables take the elements) */
static json_t *run_pipe(struct exec *x, const struct pipe *p, json_t *dot, bool declare) {
  json_t *v = NULL;
  for (size_t i = 0; i < p->n && !x->err; i++) {
    json_t *next = run_cmd(x, p, &p->cmds[i], dot, v, i > 0);
    json_decref(v);
    v = next;
  }
  if (x->err) {
    json_decref(v);
    return NULL;
  }
  for (size_t i = 0; declare && i < p->n_vars; i++)
    var_push(x, p->vars[i], v); /* {{$x := ...}}: its scope, the enclosing block */
  return v;
}

static void run_list(struct exec *x, const struct list *l, json_t *dot);

/* a range's body for one element: $i, $v := key or index, value */
static void range_one(struct exec *x, const struct node *n, json_t *key, json_t *v) {
  size_t mark = x->n_vars;
  if (n->pipe->n_vars == 2) {
    var_push(x, n->pipe->vars[0], key);
    var_push(x, n->pipe->vars[1], v);
  } else if (n->pipe->n_vars == 1) {
    var_push(x, n->pipe->vars[0], v);
  }
  run_list(x, &n->body, v);
  var_pop(x, mark);
}

static void run_range(struct exec *x, const struct node *n, json_t *v, json_t *dot) {
  if (v && !json_is_null(v) && !json_is_array(v) && !json_is_object(v)) {
    xerr(x, n->pipe, "range can't iterate over %s",
         json_is_string(v) ? json_string_value(v) : "it");
    return;
  }
  if (!truth(v)) {
    run_list(x, &n->alt, dot);
    return;
  }
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v) && !x->err; i++) {
      json_t *k = json_integer((json_int_t)i);
      range_one(x, n, k, json_array_get(v, i));
      json_decref(k);
    }
    return;
  }
  size_t nk;
  const char **keys = sorted_keys(v, &nk);
  for (size_t i = 0; i < nk && !x->err; i++) {
    json_t *k = json_string(keys[i]);
    range_one(x, n, k, json_object_get(v, keys[i]));
    json_decref(k);
  }
  free(keys);
}

/* \t and \n in the text are a tab and a newline, as docker's --format */
static void text_out(struct strbuf *o, const char *t) {
  for (; *t; t++) {
    if (t[0] == '\\' && (t[1] == 't' || t[1] == 'n')) {
      strbuf_add(o, t[1] == 't' ? "\t" : "\n", 1);
      t++;
    } else {
      strbuf_add(o, t, 1);
    }
  }
}

static void run_node(struct exec *x, const struct node *n, json_t *dot) {
  if (++x->steps > MAX_STEPS || x->out.len > MAX_OUT) {
    xerr(x, n->pipe, "the template does more than %lu steps or prints more than %lu MiB", MAX_STEPS,
         MAX_OUT >> 20);
    return;
  }
  if (n->kind == N_TEXT) {
    text_out(&x->out, n->text);
    return;
  }
  size_t mark = x->n_vars;
  json_t *v = run_pipe(x, n->pipe, dot, n->kind != N_RANGE);
  if (x->err) return;
  if (n->kind == N_OUT) {
    if (!n->pipe->n_vars) fmt_value(&x->out, v, true);
    json_decref(v);
    return; /* a declaration's variable lives on */
  }
  if (n->kind == N_IF)
    run_list(x, truth(v) ? &n->body : &n->alt, dot);
  else if (n->kind == N_WITH)
    run_list(x, truth(v) ? &n->body : &n->alt, truth(v) ? v : dot);
  else
    run_range(x, n, v, dot);
  json_decref(v);
  var_pop(x, mark);
}

static void run_list(struct exec *x, const struct list *l, json_t *dot) {
  size_t mark = x->n_vars;
  for (size_t i = 0; i < l->n && !x->err; i++)
    run_node(x, &l->v[i], dot);
  var_pop(x, mark);
}

char *template_exec(const struct template *t, json_t *dot, char **err) {
  return template_exec_as(t, dot, false, err);
}

char *template_exec_as(const struct template *t, json_t *dot, bool header, char **err) {
  struct exec x = {.header = header};
  strbuf_add(&x.out, "", 0);
  var_push(&x, "", dot);
  run_list(&x, &t->root, dot);
  var_pop(&x, 0);
  free(x.vars);
  if (x.err) {
    free(x.out.s);
    *err = x.err;
    return NULL;
  }
  return x.out.s;
}

/* ---------------- functions ---------------- */

static bool nargs(size_t n, size_t want, char **err) {
  if (n == want) return true;
  *err = xasprintf("wrong number of args: want %zu got %zu", want, n);
  return false;
}

static json_t *f_and(json_t **a, size_t n, char **err) {
  if (!n) return *err = xstrdup("wrong number of args: want at least 1 got 0"), NULL;
  size_t i = 0;
  while (i + 1 < n && truth(a[i]))
    i++;
  return a[i] ? json_incref(a[i]) : NULL;
}

static json_t *f_or(json_t **a, size_t n, char **err) {
  if (!n) return *err = xstrdup("wrong number of args: want at least 1 got 0"), NULL;
  size_t i = 0;
  while (i + 1 < n && !truth(a[i]))
    i++;
  return a[i] ? json_incref(a[i]) : NULL;
}

static json_t *f_not(json_t **a, size_t n, char **err) {
  return nargs(n, 1, err) ? json_boolean(!truth(a[0])) : NULL;
}

static json_t *f_len(json_t **a, size_t n, char **err) {
  if (!nargs(n, 1, err)) return NULL;
  if (json_is_array(a[0])) return json_integer((json_int_t)json_array_size(a[0]));
  if (json_is_object(a[0])) return json_integer((json_int_t)json_object_size(a[0]));
  if (json_is_string(a[0])) return json_integer((json_int_t)json_string_length(a[0]));
  *err = xasprintf("len of type %s", type_name(a[0]));
  return NULL;
}

static json_t *f_index(json_t **a, size_t n, char **err) {
  if (!n) return *err = xstrdup("wrong number of args: want at least 1 got 0"), NULL;
  json_t *v = a[0];
  for (size_t i = 1; i < n && v; i++) {
    if (json_is_array(v) && json_is_integer(a[i])) {
      json_int_t k = json_integer_value(a[i]);
      if (k < 0 || (size_t)k >= json_array_size(v))
        return *err = xasprintf("index out of range: %lld", (long long)k), NULL;
      v = json_array_get(v, (size_t)k);
    } else if (json_is_object(v) && json_is_string(a[i])) {
      v = json_object_get(v, json_string_value(a[i]));
    } else if (json_is_null(v)) {
      return *err = xstrdup("index of untyped nil"), NULL;
    } else {
      return *err = xasprintf("cannot index %s with %s", type_name(v), type_name(a[i])), NULL;
    }
  }
  return v ? json_incref(v) : NULL;
}

/* Go's Sprint: a space between two operands when neither is a string;
 * Sprintln: between all, and a newline */
static json_t *sprint(json_t **a, size_t n, bool ln) {
  struct strbuf o = {0};
  strbuf_add(&o, "", 0);
  for (size_t i = 0; i < n; i++) {
    if (i && (ln || (!json_is_string(a[i - 1]) && !json_is_string(a[i])))) strbuf_str(&o, " ");
    fmt_value(&o, a[i], false);
  }
  if (ln) strbuf_str(&o, "\n");
  json_t *r = json_stringn(o.s, o.len);
  free(o.s);
  return r;
}

static json_t *f_print(json_t **a, size_t n, char **err) {
  return sprint(a, n, false);
}

static json_t *f_println(json_t **a, size_t n, char **err) {
  return sprint(a, n, true);
}

/* one verb of printf: spec is "%" and its flags, width and precision */
static void printf_verb(struct strbuf *o, const char *spec, char verb, json_t *v) {
  char fmt[48], buf[512];
  if (verb == 'c' && json_is_integer(v)) {
    snprintf(fmt, sizeof fmt, "%sc", spec);
    snprintf(buf, sizeof buf, fmt, (int)json_integer_value(v));
  } else if (strchr("dxX", verb) && json_is_integer(v)) {
    snprintf(fmt, sizeof fmt, "%sll%c", spec, verb);
    snprintf(buf, sizeof buf, fmt, (long long)json_integer_value(v));
  } else if (strchr("feEgG", verb) && (json_is_real(v) || json_is_integer(v))) {
    snprintf(fmt, sizeof fmt, "%s%c", spec, verb);
    snprintf(buf, sizeof buf, fmt, json_number_value(v));
  } else if (verb == 't' && json_is_boolean(v)) {
    snprintf(fmt, sizeof fmt, "%ss", spec);
    snprintf(buf, sizeof buf, fmt, json_is_true(v) ? "true" : "false");
  } else if (verb == 'q' && json_is_string(v)) {
    char *q = json_dumps(v, JSON_ENCODE_ANY);
    snprintf(fmt, sizeof fmt, "%ss", spec);
    snprintf(buf, sizeof buf, fmt, q ? q : "");
    free(q);
  } else if (verb == 'v' || verb == 's') {
    char *s = value_str(v, false);
    snprintf(fmt, sizeof fmt, "%ss", spec);
    char *r = NULL;
    if (asprintf(&r, fmt, s) >= 0) strbuf_str(o, r);
    free(r);
    free(s);
    return;
  } else { /* Go's word for a verb that does not fit: %!d(string=x) */
    char *s = value_str(v, false);
    snprintf(buf, sizeof buf, "%%!%c(%s=%s)", verb, type_name(v), s);
    free(s);
  }
  strbuf_str(o, buf);
}

/* a verb's flags, width and precision after its "%" into spec ("%-5.2");
 * the length read.  A width or precision over 1e6 is Go's %!(BADWIDTH) or
 * %!(BADPREC), and left out */
static size_t printf_spec(const char *p, char spec[48], struct strbuf *o) {
  size_t k = strspn(p, "-+# 0");
  int n = snprintf(spec, 48, "%%%.*s", (int)(k < 8 ? k : 8), p);
  for (int prec = 0; prec < 2; prec++) {
    if (prec && p[k] != '.') break;
    k += prec;
    size_t d = strspn(p + k, "0123456789");
    long v = d > 7 ? 10000000 : d ? strtol(p + k, NULL, 10) : -1;
    if (v > 1000000) strbuf_str(o, prec ? "%!(BADPREC)" : "%!(BADWIDTH)");
    if (prec && v <= 1000000) n += snprintf(spec + n, (size_t)(48 - n), ".");
    if (v >= 0 && v <= 1000000) n += snprintf(spec + n, (size_t)(48 - n), "%ld", v);
    k += d;
  }
  return k;
}

static json_t *f_printf(json_t **a, size_t n, char **err) {
  if (!n || !json_is_string(a[0]))
    return *err = xstrdup("printf wants a format string first"), NULL;
  struct strbuf o = {0};
  strbuf_add(&o, "", 0);
  size_t used = 1;
  for (const char *p = json_string_value(a[0]); *p; p++) {
    if (*p != '%') {
      strbuf_add(&o, p, 1);
      continue;
    }
    char spec[48];
    size_t k = printf_spec(p + 1, spec, &o);
    char verb = p[1 + k];
    if (!verb) break;
    if (verb == '%') {
      strbuf_str(&o, "%");
    } else if (used >= n) {
      char m[32];
      snprintf(m, sizeof m, "%%!%c(MISSING)", verb);
      strbuf_str(&o, m);
    } else {
      printf_verb(&o, spec, verb, a[used++]);
    }
    p += 1 + k;
  }
  for (size_t i = used; i < n; i++) { /* %!(EXTRA string=x, int=1) */
    strbuf_str(&o, i == used ? "%!(EXTRA " : ", ");
    strbuf_str(&o, type_name(a[i]));
    strbuf_str(&o, "=");
    fmt_value(&o, a[i], false);
    if (i + 1 == n) strbuf_str(&o, ")");
  }
  json_t *r = json_stringn(o.s, o.len);
  free(o.s);
  return r;
}

/* -1, 0, 1; *err when a and b cannot be compared (ordered: lt and the like) */
static int compare(json_t *a, json_t *b, bool ordered, char **err) {
  if (json_is_number(a) && json_is_number(b)) {
    if (json_is_integer(a) && json_is_integer(b))
      return (json_integer_value(a) > json_integer_value(b)) -
             (json_integer_value(a) < json_integer_value(b));
    return (json_number_value(a) > json_number_value(b)) -
           (json_number_value(a) < json_number_value(b));
  }
  if (json_is_string(a) && json_is_string(b)) {
    int c = strcmp(json_string_value(a), json_string_value(b));
    return (c > 0) - (c < 0);
  }
  if (!ordered && json_is_boolean(a) && json_is_boolean(b))
    return json_is_true(a) != json_is_true(b);
  bool an = !a || json_is_null(a), bn = !b || json_is_null(b);
  if (!ordered && (an || bn)) return an != bn;
  *err = xasprintf("incompatible types for comparison: %s and %s", type_name(a), type_name(b));
  return 0;
}

static json_t *f_eq(json_t **a, size_t n, char **err) {
  if (n < 2) return *err = xstrdup("missing argument for comparison"), NULL;
  for (size_t i = 1; i < n && !*err; i++)
    if (compare(a[0], a[i], false, err) == 0 && !*err) return json_true();
  return *err ? NULL : json_false();
}

/* ne lt le gt ge: which results of compare are true */
static json_t *compare2(json_t **a, size_t n, char **err, bool ordered, int lo, int hi) {
  if (!nargs(n, 2, err)) return NULL;
  int c = compare(a[0], a[1], ordered, err);
  if (*err) return NULL;
  return json_boolean(ordered ? c >= lo && c <= hi : c != 0);
}

static json_t *f_ne(json_t **a, size_t n, char **err) {
  return compare2(a, n, err, false, 0, 0);
}
static json_t *f_lt(json_t **a, size_t n, char **err) {
  return compare2(a, n, err, true, -1, -1);
}
static json_t *f_le(json_t **a, size_t n, char **err) {
  return compare2(a, n, err, true, -1, 0);
}
static json_t *f_gt(json_t **a, size_t n, char **err) {
  return compare2(a, n, err, true, 1, 1);
}
static json_t *f_ge(json_t **a, size_t n, char **err) {
  return compare2(a, n, err, true, 0, 1);
}

/* docker's json: the value encoded, no HTML escaping, no newline */
static json_t *f_json(json_t **a, size_t n, char **err) {
  if (!nargs(n, 1, err)) return NULL;
  char *s = json_dumps(a[0] ? a[0] : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
  json_t *r = json_string(s ? s : "null");
  free(s);
  return r;
}

static json_t *f_join(json_t **a, size_t n, char **err) {
  if (!nargs(n, 2, err)) return NULL;
  if ((a[0] && !json_is_array(a[0]) && !json_is_null(a[0])) || !json_is_string(a[1]))
    return *err = xstrdup("join wants a list and a separator"), NULL;
  struct strbuf o = {0};
  strbuf_add(&o, "", 0);
  for (size_t i = 0; i < json_array_size(a[0]); i++) {
    if (i) strbuf_str(&o, json_string_value(a[1]));
    fmt_value(&o, json_array_get(a[0], i), false);
  }
  json_t *r = json_stringn(o.s, o.len);
  free(o.s);
  return r;
}

static json_t *f_split(json_t **a, size_t n, char **err) {
  if (!nargs(n, 2, err)) return NULL;
  if (!json_is_string(a[0]) || !json_is_string(a[1]))
    return *err = xstrdup("split wants two strings"), NULL;
  const char *s = json_string_value(a[0]), *sep = json_string_value(a[1]);
  size_t sl = strlen(sep);
  json_t *r = json_array();
  if (!sl) { /* each character */
    for (; *s; s++)
      json_array_append_new(r, json_stringn(s, 1));
    return r;
  }
  for (const char *e; (e = strstr(s, sep)); s = e + sl)
    json_array_append_new(r, json_stringn(s, (size_t)(e - s)));
  json_array_append_new(r, json_string(s));
  return r;
}

/* title, lower, upper: on a string's letters */
static json_t *recase(json_t **a, size_t n, char **err, char how) {
  if (!nargs(n, 1, err)) return NULL;
  char *s = value_str(a[0], false);
  bool start = true;
  for (char *c = s; *c; c++) {
    bool letter = isalnum((unsigned char)*c) || *c == '_' || (unsigned char)*c >= 0x80;
    if (how == 'u' || (how == 't' && start && letter))
      *c = (char)toupper((unsigned char)*c);
    else if (how == 'l')
      *c = (char)tolower((unsigned char)*c);
    start = !letter;
  }
  json_t *r = json_string(s);
  free(s);
  return r;
}

static json_t *f_title(json_t **a, size_t n, char **err) {
  return recase(a, n, err, 't');
}
static json_t *f_lower(json_t **a, size_t n, char **err) {
  return recase(a, n, err, 'l');
}
static json_t *f_upper(json_t **a, size_t n, char **err) {
  return recase(a, n, err, 'u');
}

/* docker's pad: spaces before and after */
static json_t *f_pad(json_t **a, size_t n, char **err) {
  if (!nargs(n, 3, err)) return NULL;
  if (!json_is_integer(a[1]) || !json_is_integer(a[2]))
    return *err = xstrdup("pad wants a string and two numbers"), NULL;
  json_int_t before = json_integer_value(a[1]), after = json_integer_value(a[2]);
  if (before > 1000000 || after > 1000000) /* as printf's widths */
    return *err = xstrdup("pad wants at most 1000000 spaces a side"), NULL;
  char *s = value_str(a[0], false);
  char *r =
      xasprintf("%*s%s%*s", before > 0 ? (int)before : 0, "", s, after > 0 ? (int)after : 0, "");
  json_t *v = json_string(r);
  free(r);
  free(s);
  return v;
}

/* docker's truncate: the first n bytes */
static json_t *f_truncate(json_t **a, size_t n, char **err) {
  if (!nargs(n, 2, err)) return NULL;
  if (!json_is_integer(a[1])) return *err = xstrdup("truncate wants a string and a number"), NULL;
  char *s = value_str(a[0], false);
  json_int_t l = json_integer_value(a[1]);
  if (l >= 0 && (size_t)l < strlen(s)) s[l] = 0;
  json_t *v = json_string(s);
  free(s);
  return v;
}

static const struct func funcs[] = {
    {"and", f_and, false},     {"eq", f_eq, false},         {"ge", f_ge, false},
    {"gt", f_gt, false},       {"index", f_index, false},   {"join", f_join, true},
    {"json", f_json, true},    {"le", f_le, false},         {"len", f_len, false},
    {"lower", f_lower, true},  {"lt", f_lt, false},         {"ne", f_ne, false},
    {"not", f_not, false},     {"or", f_or, false},         {"pad", f_pad, true},
    {"print", f_print, false}, {"printf", f_printf, false}, {"println", f_println, false},
    {"split", f_split, true},  {"title", f_title, true},    {"truncate", f_truncate, true},
    {"upper", f_upper, true},
};

static const struct func *find_func(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++)
    if (strlen(funcs[i].name) == len && !strncmp(funcs[i].name, name, len)) return &funcs[i];
  return NULL;
}
