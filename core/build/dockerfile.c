/* The Dockerfile parser and the builder's word rules (dockerfile.h). */
#include "dockerfile.h"

#include <ctype.h>
#include <strings.h>

static const char *const known[] = {"from",       "run",         "cmd",     "label", "maintainer",
                                    "expose",     "env",         "add",     "copy",  "entrypoint",
                                    "volume",     "user",        "workdir", "arg",   "onbuild",
                                    "stopsignal", "healthcheck", "shell"};

static int perr(struct berth_err *err, int line, const char *fmt, const char *what) {
  char msg[400];
  snprintf(msg, sizeof msg, fmt, what);
  if (line <= 0) return berth_err_set(err, BERTH_EINVAL, 0, "%s", msg); /* a --change line */
  return berth_err_set(err, BERTH_EINVAL, 0, "dockerfile parse error line %d: %s", line, msg);
}

/* "# escape=`" at the top: 1 taken, 0 not a directive, -1 bad value */
static int directive(const char *line, char *escape) {
  const char *p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p++ != '#') return 0;
  while (*p == ' ' || *p == '\t')
    p++;
  const char *k = p;
  while (isalpha((unsigned char)*p))
    p++;
  size_t kl = (size_t)(p - k);
  while (*p == ' ' || *p == '\t')
    p++;
  if (!kl || *p != '=') return 0;
  p++;
  while (*p == ' ' || *p == '\t')
    p++;
  if (kl == 6 && !strncasecmp(k, "escape", 6)) {
    if ((*p != '\\' && *p != '`') || (p[1] && !isspace((unsigned char)p[1]))) return -1;
    *escape = *p;
    return 1;
  }
  return kl == 6 && !strncasecmp(k, "syntax", 6) ? 1 : 0;
}

static bool blank_or_comment(const char *l) {
  while (*l == ' ' || *l == '\t')
    l++;
  return !*l || *l == '#';
}

/* the line without trailing blanks; true when it ends with the escape */
static bool continues(char *l, char escape) {
  size_t n = strlen(l);
  while (n && isspace((unsigned char)l[n - 1]))
    l[--n] = 0;
  if (n && l[n - 1] == escape) {
    l[n - 1] = 0;
    return true;
  }
  return false;
}

static json_t *json_form(const char *rest) {
  if (*rest != '[') return NULL;
  json_t *j = json_loads(rest, JSON_DECODE_ANY, NULL);
  size_t i;
  json_t *v;
  bool ok = json_is_array(j);
  json_array_foreach(j, i, v) ok = ok && json_is_string(v);
  if (!ok) json_decref(j);
  return ok ? j : NULL;
}

static int parse_flags(struct df_instr *in, const char **rest) {
  const char *p = *rest;
  while (p[0] == '-' && p[1] == '-' && p[2] && !isspace((unsigned char)p[2])) {
    const char *end = p;
    while (*end && !isspace((unsigned char)*end))
      end++;
    const char *eq = memchr(p, '=', (size_t)(end - p));
    in->flags = xrealloc(in->flags, (in->n_flags + 1) * sizeof *in->flags);
    struct df_flag *f = &in->flags[in->n_flags++];
    f->name = xasprintf("%.*s", (int)((eq ? eq : end) - p - 2), p + 2);
    f->value = eq ? xasprintf("%.*s", (int)(end - eq - 1), eq + 1) : xstrdup("");
    p = end;
    while (isspace((unsigned char)*p))
      p++;
  }
  *rest = p;
  return 0;
}

/* an instruction with nothing after it (flags aside): dockerd's parser's
 * words for each kind; CMD, ENTRYPOINT and RUN take none */
static int no_arguments(const struct df_instr *in, struct berth_err *err) {
  static const char *const exactly_one[] = {"workdir", "user", "stopsignal", "maintainer"};
  const char *c = in->cmd;
  if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint") || !strcmp(c, "run")) return 0;
  cleanup_free char *up = xstrdup(c);
  for (char *p = up; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  if (!strcmp(c, "from"))
    return perr(err, in->line, "%s", "FROM requires either one or three arguments");
  if (!strcmp(c, "copy") || !strcmp(c, "add"))
    return perr(err, in->line,
                "%s requires at least two arguments, but only one was provided. Destination "
                "could not be determined",
                up);
  for (size_t i = 0; i < ARRAY_SIZE(exactly_one); i++)
    if (!strcmp(c, exactly_one[i]))
      return perr(err, in->line, "%s requires exactly one argument", up);
  return perr(err, in->line, "%s requires at least one argument", up);
}

/* one logical line into an instruction */
static int instruction(const char *text, int line, struct df_instr *in, struct berth_err *err) {
  memset(in, 0, sizeof *in);
  in->line = line;
  const char *p = text;
  while (isspace((unsigned char)*p))
    p++;
  in->original = xstrdup(p);
  const char *k = p;
  while (*p && !isspace((unsigned char)*p))
    p++;
  in->cmd = xasprintf("%.*s", (int)(p - k), k);
  for (char *c = in->cmd; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  bool ok = false;
  for (size_t i = 0; i < ARRAY_SIZE(known); i++)
    ok |= !strcmp(in->cmd, known[i]);
  if (!ok) {
    cleanup_free char *up = xasprintf("%.*s", (int)(p - k), k);
    for (char *c = up; *c; c++)
      *c = (char)toupper((unsigned char)*c);
    return perr(err, line, "unknown instruction: %s", up);
  }
  while (isspace((unsigned char)*p))
    p++;
  parse_flags(in, &p);
  in->rest = xstrdup(p);
  json_t *j = json_form(in->rest);
  if (j) {
    in->json = true;
    in->n_args = json_array_size(j);
    in->args = xcalloc(in->n_args + 1, sizeof *in->args);
    for (size_t i = 0; i < in->n_args; i++)
      in->args[i] = xstrdup(json_string_value(json_array_get(j, i)));
    json_decref(j);
  }
  return *in->rest ? 0 : no_arguments(in, err);
}

static void instr_free(struct df_instr *in) {
  free(in->cmd);
  free(in->original);
  free(in->rest);
  for (size_t i = 0; i < in->n_args; i++)
    free(in->args[i]);
  free(in->args);
  for (size_t i = 0; i < in->n_flags; i++)
    free(in->flags[i].name), free(in->flags[i].value);
  free(in->flags);
}

void df_free(struct dockerfile *df) {
  for (size_t i = 0; i < df->n; i++)
    instr_free(&df->v[i]);
  free(df->v);
  memset(df, 0, sizeof *df);
}

static int add_logical(struct dockerfile *df, const char *text, int line, struct berth_err *err) {
  df->v = xrealloc(df->v, (df->n + 1) * sizeof *df->v);
  int r = instruction(text, line, &df->v[df->n], err);
  if (r < 0) {
    instr_free(&df->v[df->n]);
    return r;
  }
  df->n++;
  return 0;
}

int df_parse(const char *text, size_t len, struct dockerfile *out, struct berth_err *err) {
  memset(out, 0, sizeof *out);
  out->escape = '\\';
  cleanup_free char *copy = xasprintf("%.*s", (int)len, text);
  if (strlen(copy) != len)
    return berth_err_set(err, BERTH_EINVAL, 0, "the Dockerfile holds a NUL byte");
  bool directives = true, in_cont = false;
  char *logical = NULL;
  int start = 0, lineno = 0, r = 0;
  for (char *l = copy, *next; l && r == 0; l = next) {
    next = strchr(l, '\n');
    if (next) *next++ = 0;
    lineno++;
    size_t n = strlen(l);
    if (n && l[n - 1] == '\r') l[n - 1] = 0;
    if (directives) {
      int d = directive(l, &out->escape);
      if (d < 0) r = perr(err, lineno, "invalid ESCAPE '%s'. Must be ` or \\", l);
      if (d != 0) continue;
      directives = false;
    }
    if (blank_or_comment(l)) continue;
    bool more = continues(l, out->escape);
    if (!in_cont) start = lineno;
    char *t = xasprintf("%s%s%s", logical ? logical : "", logical ? " " : "", l);
    free(logical);
    logical = t;
    in_cont = more;
    if (!more) {
      r = add_logical(out, logical, start, err);
      free(logical);
      logical = NULL;
    }
  }
  if (r == 0 && logical) r = add_logical(out, logical, start, err);
  free(logical);
  if (r == 0 && !out->n)
    r = berth_err_set(err, BERTH_EINVAL, 0,
                      "failed to parse Dockerfile: file with no instructions");
  if (r < 0) df_free(out);
  return r;
}

const char *df_flag(const struct df_instr *in, const char *name) {
  for (size_t i = 0; i < in->n_flags; i++)
    if (!strcmp(in->flags[i].name, name)) return in->flags[i].value;
  return NULL;
}

/* ---- the builder's shell lexer: quotes, escapes, $VAR ---- */

void df_words_free(char **w, size_t n) {
  for (size_t i = 0; w && i < n; i++)
    free(w[i]);
  free(w);
}

static bool name_char(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

/* ${...} or $NAME after the '$' at *pp, appended to out */
static int variable(const char **pp, char escape, json_t *vars, struct strbuf *out,
                    struct berth_err *err) {
  const char *p = *pp;
  if (*p != '{') {
    const char *k = p;
    while (name_char(*p))
      p++;
    if (p == k) {
      strbuf_add(out, "$", 1);
      return 0;
    }
    cleanup_free char *name = xasprintf("%.*s", (int)(p - k), k);
    const char *v = json_string_value(json_object_get(vars, name)) ?: "";
    strbuf_add(out, v, strlen(v));
    *pp = p;
    return 0;
  }
  const char *k = ++p;
  while (name_char(*p))
    p++;
  cleanup_free char *name = xasprintf("%.*s", (int)(p - k), k);
  int depth = 1;
  const char *end = p;
  while (*end && depth)
    depth += *end == '{' ? 1 : *end == '}' ? -1 : 0, end += depth ? 1 : 0;
  if (!*end || !*name)
    return berth_err_set(err, BERTH_EINVAL, 0, "failed to process \"%s\": missing '}'", *pp - 1);
  const char *v = json_string_value(json_object_get(vars, name));
  if (*p == '}') {
    strbuf_add(out, v ? v : "", v ? strlen(v) : 0);
  } else if (p[0] == ':' && (p[1] == '-' || p[1] == '+')) {
    cleanup_free char *word = xasprintf("%.*s", (int)(end - p - 2), p + 2);
    bool set = v && *v;
    if ((p[1] == '-' && !set) || (p[1] == '+' && set)) {
      cleanup_free char *w = df_expand(word, escape, vars, err);
      if (!w) return -err->code;
      strbuf_add(out, w, strlen(w));
    } else if (p[1] == '-') {
      strbuf_add(out, v, strlen(v));
    }
  } else {
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "failed to process \"%.*s\": unsupported modifier (%c) in substitution",
                         (int)(end - *pp + 2), *pp - 1, *p);
  }
  *pp = end + 1;
  return 0;
}

/* s into words (split: on blanks outside quotes) */
static char **lex(const char *s, char escape, json_t *vars, bool split, size_t *n,
                  struct berth_err *err) {
  char **words = xcalloc(1, sizeof *words);
  *n = 0;
  struct strbuf w = {0};
  bool have = false; /* a word is open (even an empty "" one) */
  char quote = 0;
  int r = 0;
  for (const char *p = s; *p && r == 0;) {
    char c = *p;
    if (!quote && split && isspace((unsigned char)c)) {
      if (have) {
        words = xrealloc(words, (*n + 2) * sizeof *words);
        words[(*n)++] = w.s ? w.s : xstrdup("");
        words[*n] = NULL;
        w = (struct strbuf){0};
        have = false;
      }
      p++;
      continue;
    }
    have = true;
    if (c == escape && quote != '\'' && p[1]) {
      if (quote == '"' && !strchr("\"$`\\", p[1])) strbuf_add(&w, p, 1);
      strbuf_add(&w, p + 1, 1);
      p += 2;
    } else if ((c == '\'' || c == '"') && (!quote || quote == c)) {
      quote = quote ? 0 : c;
      p++;
    } else if (c == '$' && quote != '\'' && (quote || !split)) {
      p++;
      r = variable(&p, escape, vars, &w, err);
    } else if (c == '$' && quote != '\'') { /* unquoted: its value splits into words */
      p++;
      struct strbuf v = {0};
      r = variable(&p, escape, vars, &v, err);
      for (size_t i = 0; r == 0 && i < v.len; i++) {
        if (!isspace((unsigned char)v.s[i])) {
          strbuf_add(&w, v.s + i, 1);
          continue;
        }
        if (w.s) {
          words = xrealloc(words, (*n + 2) * sizeof *words);
          words[(*n)++] = w.s;
          words[*n] = NULL;
          w = (struct strbuf){0};
        }
      }
      free(v.s);
      have = w.s != NULL || !v.len;
    } else {
      strbuf_add(&w, p++, 1);
    }
  }
  if (r == 0 && quote)
    r = berth_err_set(err, BERTH_EINVAL, 0,
                      "unexpected end of statement while looking for matching %c", quote);
  if (r == 0 && have) {
    words = xrealloc(words, (*n + 2) * sizeof *words);
    words[(*n)++] = w.s ? w.s : xstrdup("");
    words[*n] = NULL;
  } else {
    free(w.s);
  }
  if (r < 0) {
    df_words_free(words, *n);
    return NULL;
  }
  return words;
}

char **df_words(const char *s, char escape, json_t *vars, size_t *n, struct berth_err *err) {
  return lex(s, escape, vars, true, n, err);
}

char *df_expand(const char *s, char escape, json_t *vars, struct berth_err *err) {
  size_t n;
  char **w = lex(s, escape, vars, false, &n, err);
  if (!w) return NULL;
  char *out = n ? w[0] : xstrdup("");
  for (size_t i = 1; i < n; i++)
    free(w[i]);
  free(w);
  return out;
}

int df_pairs(const char *what, const char *s, char escape, json_t *vars, bool allow_old,
             json_t *obj, struct berth_err *err) {
  size_t n;
  char **w = df_words(s, escape, vars, &n, err);
  if (!w) return -err->code;
  int r = 0;
  if (n && !strchr(w[0], '=')) { /* the old form: "KEY value with blanks" */
    if (!allow_old || n < 2) {
      r = berth_err_set(err, BERTH_EINVAL, 0, "%s must have two arguments", what);
    } else { /* the value as written after the key, expanded whole */
      const char *v = s;
      while (isspace((unsigned char)*v))
        v++;
      while (*v && !isspace((unsigned char)*v))
        v++;
      while (isspace((unsigned char)*v))
        v++;
      char *val = df_expand(v, escape, vars, err);
      if (!val) r = -err->code;
      if (val) json_object_set_new(obj, w[0], json_string(val));
      free(val);
    }
  }
  bool pairs = n && strchr(w[0], '=');
  for (size_t i = 0; r == 0 && pairs && i < n; i++) {
    char *eq = strchr(w[i], '=');
    if (!eq || eq == w[i]) {
      r = berth_err_set(err, BERTH_EINVAL, 0,
                        "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                        w[i]);
      break;
    }
    *eq = 0;
    json_object_set_new(obj, w[i], json_string(eq + 1));
  }
  df_words_free(w, n);
  return r;
}

/* ---- what dockerd's parser refuses before a build starts ---- */

/* the flags each instruction takes in the classic builder (RUN's --mount,
 * COPY's and ADD's --chmod are known, and refused when they run: BuildKit's) */
static bool flag_known(const char *cmd, const char *flag) {
  static const char *const table[][5] = {
      {"from", "platform"},
      {"run", "mount"},
      {"copy", "from", "chown", "chmod"},
      {"add", "chown", "chmod"},
      {"healthcheck", "interval", "timeout", "start-period", "retries"}};
  for (size_t i = 0; i < ARRAY_SIZE(table); i++)
    if (!strcmp(table[i][0], cmd))
      for (size_t k = 1; k < 5 && table[i][k]; k++)
        if (!strcmp(table[i][k], flag)) return true;
  return false;
}

/* Go's time.ParseDuration's complaint about v */
static int bad_duration(struct berth_err *err, int line, const char *v) {
  const char *p = v;
  while (*p && (isdigit((unsigned char)*p) || *p == '.' || *p == '-' || *p == '+'))
    p++;
  size_t ul = strcspn(p, "0123456789.");
  char msg[300];
  if (p != v && ul)
    snprintf(msg, sizeof msg, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)ul, p, v);
  else
    snprintf(msg, sizeof msg, "time: invalid duration \"%s\"", v);
  return perr(err, line, "%s", msg);
}

static int check_healthcheck(const struct df_instr *in, struct berth_err *err) {
  static const char *const durs[] = {"interval", "timeout", "start-period"};
  int64_t ns;
  for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
    const char *v = df_flag(in, durs[i]);
    if (!v || !*v) continue;
    if (parse_go_duration(v, &ns) < 0) return bad_duration(err, in->line, v);
    if (ns < 1000000) { /* container.MinimumDuration */
      char msg[96];
      snprintf(msg, sizeof msg, "Interval \"%s\" cannot be less than 1ms", durs[i]);
      return perr(err, in->line, "%s", msg);
    }
  }
  const char *r = df_flag(in, "retries");
  char *end;
  long n = r ? strtol(r, &end, 10) : 1;
  if (r && (!*r || *end))
    return perr(err, in->line, "strconv.ParseInt: parsing \"%s\": invalid syntax", r);
  if (n < 1) {
    char msg[64];
    snprintf(msg, sizeof msg, "--retries must be at least 1 (not %ld)", n);
    return perr(err, in->line, "%s", msg);
  }
  size_t tl = strcspn(in->rest, " \t");
  if (tl == 4 && !strncasecmp(in->rest, "NONE", 4) && in->rest[tl])
    return perr(err, in->line, "%s", "HEALTHCHECK NONE takes no arguments");
  if (!(tl == 4 && !strncasecmp(in->rest, "NONE", 4)) &&
      !(tl == 3 && !strncasecmp(in->rest, "CMD", 3)))
    return perr(err, in->line, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", in->rest);
  return 0;
}

static int check_one(const struct dockerfile *df, const struct df_instr *in,
                     struct berth_err *err) {
  for (size_t i = 0; i < in->n_flags; i++)
    if (!flag_known(in->cmd, in->flags[i].name))
      return perr(err, in->line, "Unknown flag: %s", in->flags[i].name);
  if (!strcmp(in->cmd, "healthcheck")) return check_healthcheck(in, err);
  if (!strcmp(in->cmd, "onbuild")) {
    size_t tl = strcspn(in->rest, " \t");
    cleanup_free char *t = xasprintf("%.*s", (int)tl, in->rest);
    for (char *c = t; *c; c++)
      *c = (char)toupper((unsigned char)*c);
    if (!strcmp(t, "ONBUILD"))
      return perr(err, in->line, "%s", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (!strcmp(t, "FROM") || !strcmp(t, "MAINTAINER"))
      return perr(err, in->line, "%s isn't allowed as an ONBUILD trigger", t);
  }
  if ((!strcmp(in->cmd, "copy") || !strcmp(in->cmd, "add")) && !in->json) {
    size_t n;
    struct berth_err e = {0};
    char **w = df_words(in->rest, df->escape, NULL, &n, &e);
    df_words_free(w, n);
    if (w && n < 2) {
      cleanup_free char *up = xstrdup(in->cmd);
      for (char *c = up; *c; c++)
        *c = (char)toupper((unsigned char)*c);
      return perr(err, in->line,
                  "%s requires at least two arguments, but only one was provided. Destination "
                  "could not be determined",
                  up);
    }
  }
  if (!strcmp(in->cmd, "shell") && !in->json)
    return perr(err, in->line, "%s", "SHELL requires the arguments to be in JSON form");
  if (!strcmp(in->cmd, "env") || !strcmp(in->cmd, "label")) {
    json_t *pairs = json_object(), *vars = json_object();
    int r =
        df_pairs(in->cmd[0] == 'e' ? "ENV" : "LABEL", in->rest, df->escape, vars, true, pairs, err);
    json_decref(pairs);
    json_decref(vars);
    if (r < 0) return err_wrap(err, "failed to parse Dockerfile");
  }
  return 0;
}

/* COPY --from=N: a stage before this one */
static int check_from_index(const struct df_instr *in, long stage, struct berth_err *err) {
  const char *f = df_flag(in, "from");
  char *end;
  long n = f && *f ? strtol(f, &end, 10) : -1;
  if (n < 0 || *end || n < stage) return 0;
  return berth_err_set(err, BERTH_EINVAL, 0, "invalid from flag value %ld: %s", n,
                       n > stage ? "index out of bounds" : "refers to current build stage");
}

/* FROM's words as written (before ARGs expand): one, or three with AS */
static int check_from_words(const struct df_instr *in, struct berth_err *err) {
  char w[3][8] = {{0}};
  int n = 0;
  for (const char *p = in->rest; *p; n++) {
    size_t l = strcspn(p, " \t");
    if (n < 3) snprintf(w[n], sizeof w[n], "%.*s", (int)l, p);
    p += l;
    p += strspn(p, " \t");
  }
  if (n == 1 || (n == 3 && !strcasecmp(w[1], "as"))) return 0;
  return perr(err, in->line, "%s", "FROM requires either one or three arguments");
}

int df_check(const struct dockerfile *df, struct berth_err *err) {
  long stage = -1;
  for (size_t i = 0; i < df->n; i++) {
    const char *c = df->v[i].cmd;
    stage += !strcmp(c, "from");
    /* dockerd's words, without the parser's prefix */
    if (stage < 0 && strcmp(c, "arg"))
      return berth_err_set(err, BERTH_EINVAL, 0, "no build stage in current context");
    if ((!strcmp(c, "from") && check_from_words(&df->v[i], err) < 0) ||
        check_one(df, &df->v[i], err) < 0 ||
        (!strcmp(df->v[i].cmd, "copy") && check_from_index(&df->v[i], stage, err) < 0))
      return -err->code;
  }
  return 0;
}

int df_parse_change(const char *text, struct dockerfile *out, struct berth_err *err) {
  memset(out, 0, sizeof *out);
  out->escape = '\\';
  out->v = xcalloc(1, sizeof *out->v);
  if (instruction(text, 0, &out->v[0], err) < 0) {
    instr_free(&out->v[0]);
    free(out->v);
    memset(out, 0, sizeof *out);
    return -err->code;
  }
  out->n = 1;
  if (check_one(out, &out->v[0], err) == 0) return 0;
  df_free(out);
  return -err->code;
}

json_t *df_healthcheck(const struct df_instr *in, struct berth_err *err) {
  json_t *hc = json_object();
  if (!strcasecmp(in->rest, "NONE")) {
    json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
  } else {
    if (strncasecmp(in->rest, "CMD", 3) || (in->rest[3] && !isspace((unsigned char)in->rest[3]))) {
      json_decref(hc);
      berth_err_set(err, BERTH_EINVAL, 0, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", in->rest);
      return NULL;
    }
    const char *cmd = in->rest + 3;
    while (isspace((unsigned char)*cmd))
      cmd++;
    json_t *arr = *cmd == '[' ? json_loads(cmd, 0, NULL) : NULL;
    json_t *test = json_pack("[s]", json_is_array(arr) ? "CMD" : "CMD-SHELL");
    if (json_is_array(arr))
      json_array_extend(test, arr);
    else
      json_array_append_new(test, json_string(cmd));
    json_decref(arr);
    json_object_set_new(hc, "Test", test);
  }
  static const char *const durs[][2] = {
      {"interval", "Interval"}, {"timeout", "Timeout"}, {"start-period", "StartPeriod"}};
  for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
    const char *v = df_flag(in, durs[i][0]);
    int64_t ns; /* checked by df_check: a Go duration */
    if (v && parse_go_duration(v, &ns) == 0) json_object_set_new(hc, durs[i][1], json_integer(ns));
  }
  const char *retries = df_flag(in, "retries");
  if (retries) json_object_set_new(hc, "Retries", json_integer(atoi(retries)));
  return hc;
}
