/* The Dockerfile parser and the builder's word rules (core/build/dockerfile.c):
 * directives, comments, continuations, JSON and shell forms, flags, docker's
 * parse errors with their line; substitution, quotes, escapes, key=value
 * pairs; .dockerignore's patterns; and hostile input (a 10 MB line, NUL
 * bytes, unterminated quotes, a fuzz loop over both parsers). */
#include "../../core/build/dockerfile.h"
#include "../../core/build/ignore.h"
#include "tap.h"

static struct dockerfile parse_ok(const char *text) {
  struct dockerfile df;
  struct berth_err e = {0};
  int r = df_parse(text, strlen(text), &df, &e);
  if (r < 0) printf("#   parse failed: %s\n", e.msg);
  return df;
}

static char *parse_err(const char *text) {
  struct dockerfile df;
  static struct berth_err e;
  e = (struct berth_err){0};
  if (df_parse(text, strlen(text), &df, &e) == 0) {
    df_free(&df);
    return "(parsed)";
  }
  return e.msg;
}

static void test_parse(void) {
  struct dockerfile df = parse_ok("# syntax=docker/dockerfile:1\n"
                                  "# a comment\n"
                                  "FROM busybox AS base\n"
                                  "\n"
                                  "RUN echo a && \\\n"
                                  "  # a comment inside\n"
                                  "  echo b\n"
                                  "CMD [\"sh\", \"-c\", \"echo hi\"]\n"
                                  "COPY --from=base --chown=1:2 /a /b\n"
                                  "entrypoint [not json\n");
  ok(df.n == 5, "five instructions (comments and blank lines skipped): %zu", df.n);
  if (df.n == 5) {
    is_str(df.v[0].cmd, "from", "keywords are lower-cased");
    is_str(df.v[0].rest, "busybox AS base", "FROM's rest");
    ok(df.v[1].line == 5, "a continued instruction starts at its first line (%d)", df.v[1].line);
    is_str(df.v[1].rest, "echo a &&    echo b", "continuations joined, the comment inside dropped");
    ok(df.v[2].json && df.v[2].n_args == 3, "CMD in JSON form: 3 args");
    is_str(df.v[2].args[2], "echo hi", "JSON args kept whole");
    is_str(df_flag(&df.v[3], "from"), "base", "--from flag");
    is_str(df_flag(&df.v[3], "chown"), "1:2", "--chown flag");
    is_str(df.v[3].rest, "/a /b", "the rest after the flags");
    ok(!df.v[4].json, "bad JSON is the shell form");
    ok(df.v[4].line == 10, "line numbers count blank and comment lines (%d)", df.v[4].line);
  }
  df_free(&df);
  df = parse_ok("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n");
  ok(df.escape == '`' && df.n == 2, "# escape=` : the backtick continues lines");
  if (df.n == 2) is_str(df.v[1].rest, "dir c:\\    && echo", "a backslash is plain text then");
  df_free(&df);
  df = parse_ok("FROM x\r\nRUN true\r\n");
  ok(df.n == 2 && !strcmp(df.v[1].rest, "true"), "CRLF line ends");
  df_free(&df);
}

static void test_errors(void) {
  is_str(parse_err("FROM x\nFOO bar\n"), "dockerfile parse error line 2: unknown instruction: FOO",
         "unknown instruction: docker's text with the line");
  /* an empty file is refused by name before the parser (stages.c) */
  is_str(parse_err(""), "failed to parse Dockerfile: file with no instructions",
         "an empty text: no instructions");
  is_str(parse_err("# only\n\n"), "failed to parse Dockerfile: file with no instructions",
         "comments only: no instructions, dockerd's words");
  is_str(parse_err("FROM x\nCOPY\n"),
         "dockerfile parse error line 2: COPY requires at least two arguments, but only one was "
         "provided. Destination could not be determined",
         "COPY without arguments: dockerd's words");
  is_str(parse_err("FROM x\nUSER\n"),
         "dockerfile parse error line 2: USER requires exactly one argument",
         "USER without arguments: exactly one");
  is_str(parse_err("FROM x\nVOLUME\n"),
         "dockerfile parse error line 2: VOLUME requires at least one argument",
         "VOLUME without arguments: at least one");
  struct dockerfile one;
  struct berth_err ce = {0};
  ok(df_parse_change("HEALTHCHECK --interval=zz CMD true", &one, &ce) < 0 &&
         !strcmp(ce.msg, "time: invalid duration \"zz\""),
     "a --change line: the checks, without the parser's prefix");
  ok(df_parse_change("HEALTHCHECK CMD true", &one, &ce) == 0 && one.n == 1,
     "a --change line parsed");
  df_free(&one);
  contains(parse_err("# escape=x\nFROM a\n"), "invalid ESCAPE", "a bad escape directive");
  char nul[] = "FROM x\nRUN a\0b\n";
  struct dockerfile df;
  struct berth_err e = {0};
  ok(df_parse(nul, sizeof nul - 1, &df, &e) < 0 && strstr(e.msg, "NUL"), "a NUL byte is refused");
  enum { big = 10 << 20 };
  static char line[big + 16]; /* static: GCC's array-bounds check under ASan trips on a heap one */
  memcpy(line, "FROM x\nRUN ", 11);
  memset(line + 11, 'a', big);
  line[11 + big] = 0;
  ok(df_parse(line, strlen(line), &df, &e) == 0 && df.n == 2 && strlen(df.v[1].rest) == big,
     "a 10 MB line parses");
  if (df.n) df_free(&df);
}

static void test_words(void) {
  json_t *vars = json_pack("{s:s,s:s,s:s}", "A", "one", "B", "two words", "E", "");
  struct berth_err e = {0};
  char *s;
  is_str(s = df_expand("$A-${A}-${NOPE:-dflt}-${A:+set}-${E:-empty}-${E:+no}", '\\', vars, &e),
         "one-one-dflt-set-empty-", "$V ${V} ${V:-x} ${V:+x}");
  free(s);
  is_str(s = df_expand("'$A' \"$A\" \\$A", '\\', vars, &e), "$A one $A",
         "no expansion in single quotes or after the escape");
  free(s);
  is_str(s = df_expand("a${NOPE}b$", '\\', vars, &e), "ab$", "unset is empty; a lone $ stays");
  free(s);
  ok(df_expand("${A%x}", '\\', vars, &e) == NULL && strstr(e.msg, "unsupported modifier"),
     "an unsupported modifier: %s", e.msg);
  ok(df_expand("'open", '\\', vars, &e) == NULL && strstr(e.msg, "matching"),
     "an unterminated quote: %s", e.msg);
  size_t n;
  char **w = df_words("a \"b c\" $B 'd  e' \"\"", '\\', vars, &n, &e);
  ok(w && n == 6, "words split on blanks outside quotes (%zu)", n);
  if (w && n == 6) {
    is_str(w[1], "b c", "a quoted word");
    is_str(w[2], "two", "an expansion splits as docker's does (%s)", w[2]);
    is_str(w[4], "d  e", "blanks kept inside quotes");
    is_str(w[5], "", "an empty quoted word");
  }
  df_words_free(w, n);
  json_t *o = json_object();
  ok(df_pairs("ENV", "X=1 Y=\"a b\" Z=$A", '\\', vars, true, o, &e) == 0, "key=value pairs");
  is_str(json_string_value(json_object_get(o, "Y")), "a b", "a quoted value");
  is_str(json_string_value(json_object_get(o, "Z")), "one", "an expanded value");
  json_object_clear(o);
  ok(df_pairs("ENV", "MSG hello   $A world", '\\', vars, true, o, &e) == 0, "the old form");
  is_str(json_string_value(json_object_get(o, "MSG")), "hello   one world",
         "the old form's value: the rest, expanded");
  ok(df_pairs("ENV", "=x", '\\', vars, true, o, &e) < 0, "an empty key is refused: %s", e.msg);
  json_decref(o);
  json_decref(vars);
}

static void test_ignore(void) {
  struct ignore *ig = ignore_parse("# comment\n\n*.log\n!keep.log\nsecret/\n**/tmp\n"
                                   "docs/*.md\n!docs/README.md\n/abs\n./dot/x\n");
  ok(ignore_match(ig, "a.log"), "*.log");
  ok(!ignore_match(ig, "keep.log"), "!keep.log re-includes");
  ok(!ignore_match(ig, "sub/a.log"), "*.log is the top level only (a component each)");
  ok(ignore_match(ig, "secret") && ignore_match(ig, "secret/key"), "a directory and below it");
  ok(ignore_match(ig, "tmp") && ignore_match(ig, "a/b/tmp/x"), "**/tmp at any depth");
  ok(ignore_match(ig, "docs/a.md") && !ignore_match(ig, "docs/README.md"),
     "docs/*.md with an exception");
  ok(!ignore_match(ig, "docs/sub/a.md"), "docs/*.md does not cross a /");
  ok(ignore_match(ig, "abs"), "a leading / is the context's root");
  ok(ignore_match(ig, "dot/x"), "./dot/x cleaned");
  ok(!ignore_match(ig, "Dockerfile"), "what no pattern names stays");
  ignore_free(ig);
  ig = ignore_parse("**\n!src\n");
  ok(ignore_match(ig, "x") && !ignore_match(ig, "src/a.c"), "** then !src");
  ignore_free(ig);
  ok(!ignore_match(NULL, "x"), "no .dockerignore: nothing ignored");
}

/* random bytes and mutations of a valid file: no crash, a clear answer */
static void test_fuzz(void) {
  const char *seed = "FROM busybox AS a\nARG X=${Y:-z}\nRUN echo \"$X\" 'q' \\\n  x\n"
                     "COPY --from=a [\"/a\", \"/b\"]\nENV A=1 B='2 3'\n";
  unsigned r = 12345;
  int parsed = 0, refused = 0;
  json_t *vars = json_pack("{s:s}", "Y", "y");
  for (int i = 0; i < 3000; i++) {
    char buf[256];
    size_t n = strlen(seed);
    memcpy(buf, seed, n);
    for (int k = 0; k < 1 + i % 8; k++) {
      r = r * 1103515245 + 12345;
      buf[(r >> 8) % n] = (char)(r >> 16);
    }
    struct dockerfile df;
    struct berth_err e = {0};
    if (df_parse(buf, n, &df, &e) == 0) {
      parsed++;
      for (size_t j = 0; j < df.n; j++) {
        size_t nw;
        char **w = df_words(df.v[j].rest, df.escape, vars, &nw, &e);
        df_words_free(w, w ? nw : 0);
        json_t *o = json_object();
        df_pairs("ENV", df.v[j].rest, df.escape, vars, true, o, &e);
        json_decref(o);
      }
      df_free(&df);
    } else {
      refused += e.msg[0] != 0;
    }
    buf[n] = 0;
    ignore_free(ignore_parse(buf));
  }
  ok(parsed + refused == 3000,
     "3000 mutated Dockerfiles: each parsed or refused with a message (%d, %d)", parsed, refused);
  json_decref(vars);
}

/* df_check: what dockerd's parser refuses before a build starts, in its words */
static void test_check(void) {
  static const struct {
    const char *line, *want;
  } cases[] = {
      {"LABEL A", "failed to parse Dockerfile: LABEL must have two arguments"},
      {"ENV A", "failed to parse Dockerfile: ENV must have two arguments"},
      {"COPY x", "dockerfile parse error line 2: COPY requires at least two arguments, but only "
                 "one was provided. Destination could not be determined"},
      {"RUN --network=none true", "dockerfile parse error line 2: Unknown flag: network"},
      {"COPY --link a /b", "dockerfile parse error line 2: Unknown flag: link"},
      {"ONBUILD ONBUILD RUN x",
       "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
      {"ONBUILD from x", "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger"},
      {"SHELL sh",
       "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form"},
      {"HEALTHCHECK --interval=1x CMD true",
       "dockerfile parse error line 2: time: unknown unit \"x\" in duration \"1x\""},
      {"HEALTHCHECK --start-period=0s CMD true",
       "dockerfile parse error line 2: Interval \"start-period\" cannot be less than 1ms"},
      {"HEALTHCHECK --retries=0 CMD true",
       "dockerfile parse error line 2: --retries must be at least 1 (not 0)"},
      {"HEALTHCHECK NONE x", "dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments"},
      {"HEALTHCHECK BOGUS",
       "dockerfile parse error line 2: Unknown type \"BOGUS\" in HEALTHCHECK (try CMD)"},
      {"COPY --from=0 a /b", "invalid from flag value 0: refers to current build stage"},
      {"HEALTHCHECK --interval=1m30s --retries=2 CMD true", ""},
      {"RUN --mount=type=cache,target=/x true", ""}, /* known: refused when it runs */
      {"RUN true\nFROM busybox\nCOPY --from=0 --chown=1 a /b", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = xasprintf("FROM busybox\n%s\n", cases[i].line);
    struct dockerfile df;
    struct berth_err e = {0};
    int r = df_parse(text, strlen(text), &df, &e);
    if (r == 0) {
      r = df_check(&df, &e);
      df_free(&df);
    }
    if (!*cases[i].want)
      ok(r == 0, "df_check takes case %zu (%s)", i, e.msg);
    else
      ok(r < 0 && !strcmp(e.msg, cases[i].want), "df_check: %s -> %s", cases[i].line, e.msg);
    free(text);
  }
}

int main(void) {
  test_check();
  test_ignore();
  test_fuzz();
  test_parse();
  test_errors();
  test_words();
  return done();
}
