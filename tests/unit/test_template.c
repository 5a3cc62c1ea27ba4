/* cli/template.c: Go's text/template as docker's --format uses it, each
 * expectation what Go prints for the same template on the same JSON (maps
 * in key order, nil as <no value> / <nil>), and Go's words for errors. */
#include <stdlib.h>

#include "../../cli/template.h"
#include "tap.h"

static const char *data =
    "{\"Name\":\"/web\",\"Id\":\"abc123def456\","
    "\"State\":{\"Running\":true,\"Pid\":42,\"Status\":\"running\"},"
    "\"Config\":{\"Labels\":{\"b.x\":\"2\",\"a.y\":\"1\"},\"Cmd\":[\"sleep\",\"60\"],\"Env\":[]},"
    "\"Nets\":{\"bridge\":{\"IP\":\"172.17.0.2\"},\"alt\":{\"IP\":\"10.0.0.2\"}},"
    "\"N\":null,\"M\":{\"k\":null},\"F\":1.5,\"Big\":1000000.0,\"Small\":0.00001}";

static json_t *root;

/* src on the data: what it printed, or "ERR: " and the error */
static char *run(const char *src) {
  char *err = NULL;
  struct template *t = template_parse(src, &err);
  char *out = t ? template_exec(t, root, &err) : NULL;
  template_free(t);
  if (out) return out;
  char *r = NULL;
  if (asprintf(&r, "ERR: %s", err ? err : "(none)") < 0) abort();
  free(err);
  return r;
}

static void same(const char *src, const char *want) {
  char *got = run(src);
  is_str(got, want, "%s", src);
  free(got);
}

static void fails(const char *src, const char *want) {
  char *got = run(src);
  char *label = strdup(src); /* one line of TAP */
  for (char *c = label; *c; c++)
    if (*c == '\n') *c = ' ';
  ok(!strncmp(got, "ERR: ", 5) && strstr(got, want), "%s fails: %s", label, want);
  free(label);
  if (strncmp(got, "ERR: ", 5) || !strstr(got, want)) printf("#   got '%s'\n", got);
  free(got);
}

int main(void) {
  root = json_loads(data, 0, NULL);
  same("{{.Name}}", "/web");
  same("{{.ID}} {{.state.pid}}",
       "abc123def456 42"); /* Go's field names: the JSON's in another case */
  same("{{.State.Pid}} {{.State.Running}}", "42 true");
  same("{{range .Nets}}{{.IP}} {{end}}", "10.0.0.2 172.17.0.2 ");
  same("{{range $k, $v := .Nets}}{{$k}}={{$v.IP}};{{end}}", "alt=10.0.0.2;bridge=172.17.0.2;");
  same("{{range $i, $c := .Config.Cmd}}{{$i}}:{{$c}} {{end}}", "0:sleep 1:60 ");
  same("{{range $v := .Config.Cmd}}<{{$v}}>{{end}}", "<sleep><60>");
  same("{{index .Config.Labels \"a.y\"}}", "1");
  same("{{index .Config.Cmd 1}}", "60");
  same("{{(index .Nets \"alt\").IP}}", "10.0.0.2");
  same("{{if .State.Running}}up{{else}}down{{end}}", "up");
  same("{{if eq .State.Status \"exited\"}}x{{else if eq .State.Status "
       "\"running\"}}r{{else}}o{{end}}",
       "r");
  same("{{if eq .State.Status \"a\" \"b\" \"running\"}}any{{end}}", "any");
  same("{{join .Config.Cmd \" \"}}", "sleep 60");
  same("{{len .Config.Cmd}} {{len .Config.Labels}} {{len .Name}}", "2 2 4");
  same("{{.Config.Labels}}", "map[a.y:1 b.x:2]");
  same("{{.Config.Cmd}} {{.Config.Env}}", "[sleep 60] []");
  same("{{.M}}", "map[k:<nil>]");
  same("{{json .Config.Cmd}} {{json .N}}", "[\"sleep\",\"60\"] null");
  same("{{.Missing}} {{.N}} {{.Missing.Deeper}}", "<no value> <no value> <no value>");
  same("{{printf \"%s:%d\" .Name .State.Pid}}", "/web:42");
  same("{{printf \"%-6s|%5.1f|%x|%t|%v|%%\" \"ab\" .F 255 true .Config.Cmd}}",
       "ab    |  1.5|ff|true|[sleep 60]|%");
  same("{{.Name | printf \"%q\"}}", "\"/web\"");
  same("{{printf \"%d\" \"x\"}}", "%!d(string=x)");
  same("{{printf \"%99999999s|%.9999999d|%.2s\" \"a\" 5 \"xyz\"}}",
       "%!(BADWIDTH)a|%!(BADPREC)5|xy"); /* fuzz: a width of 222,222,222 took 12 s */
  same("{{printf \"%s %s\" \"a\"}}", "a %!s(MISSING)");
  same("{{printf \"%s\" \"a\" 1}}", "a%!(EXTRA int=1)");
  same("{{print \"a\" 1 2 \"b\"}}", "a1 2b");
  same("{{println \"a\" 1}}", "a 1\n");
  same("{{with .State}}{{.Status}}{{end}}", "running");
  same("{{with .Missing}}x{{else}}none{{end}}", "none");
  same("{{with $s := .State.Status}}{{$s}}{{end}}", "running");
  same("{{$n := .Name}}{{range .Config.Cmd}}{{$n}}{{.}},{{end}}", "/websleep,/web60,");
  same("{{range .Config.Cmd}}{{$.Name}}{{end}}", "/web/web");
  same("{{range .Config.Env}}x{{else}}empty{{end}}", "empty");
  same("a  {{- .Name -}}  b", "a/webb");
  same("{{/* a comment */}}x {{- /* trimmed */ -}} y", "xy");
  same("{{upper .State.Status}} {{lower \"AbC\"}} {{title \"hello wide-world\"}}",
       "RUNNING abc Hello Wide-World");
  same("{{split \"a,b,c\" \",\"}} {{len (split \"a,b\" \",\")}}", "[a b c] 2");
  same("{{truncate .Id 3}} [{{pad \"x\" 1 2}}]", "abc [ x  ]");
  same("{{and .State.Running .Name}} {{or .Missing \"dflt\"}} {{not .State.Running}}",
       "/web dflt false");
  same("{{.F}} {{.Big}} {{.Small}}", "1.5 1e+06 1e-05");
  same("{{lt 1 2}} {{ge .State.Pid 42}} {{ne \"a\" \"b\"}} {{gt 1.5 2}} {{le 2 2}}",
       "true true true false true");
  same("{{.Name}}\\t{{.State.Pid}}\\n", "/web\t42\n");
  same("{{ .Name }} {{.Name|len}}", "/web 4");
  same("no actions", "no actions");
  same("", "");
  same("{{`raw \\n`}}", "raw \\n");
  same("{{\"a\\\"b\"}}", "a\"b");
  same("{{.Config.Label \"b.x\"}}|{{.Config.Label \"none\"}}|", "2||");
  json_t *row = json_pack("{s:s}", "Labels", "a=1,bb=2,b=3");
  char *err = NULL;
  struct template *t = template_parse("{{.Label \"b\"}} {{.Label \"bb\"}} {{json .Labels}}", &err);
  char *got = t ? template_exec(t, row, &err) : NULL;
  is_str(got, "3 2 \"a=1,bb=2,b=3\"", "docker's .Label \"key\" on a listing's joined Labels");
  free(got);
  json_t *titles = json_pack("{s:s}", "Labels", "LABELS");
  got = t ? template_exec_as(t, titles, true, &err) : NULL;
  is_str(got, "b bb LABELS", "a header row: .Label shows its key, json its operand as is");
  free(got);
  template_free(t);
  json_decref(titles);
  json_decref(row);
  fails("{{foo .Name}}", "template: :1: function \"foo\" not defined");
  fails("{{if .A}}x", "template: :1: unexpected EOF");
  fails("x\n{{end}}", "template: :2: unexpected {{end}}");
  fails("{{.Name", "unclosed action");
  fails("{{if}}{{end}}", "missing value for if");
  fails("{{\"abc}}", "unterminated quoted string");
  fails("{{template \"x\"}}", "not supported");
  fails("{{index .Config.Cmd 5}}", "error calling index: index out of range: 5");
  fails("{{.Name.X}}", "can't evaluate field X in type string");
  fails("{{range .Name}}{{end}}", "range can't iterate over /web");
  fails("{{$x}}", "undefined variable: $x");
  fails("{{.Name 1}}", "can't give argument to non-function");
  fails("{{lt .Name 1}}", "incompatible types for comparison");
  fails("{{len .State.Pid}}", "len of type int");
  fails("{{pad \"x\" 999999999 0}}", "at most 1000000 spaces");
  fails("{{range .Config.Cmd}}{{range $.Config.Cmd}}{{range $.Config.Cmd}}{{range $.Config.Cmd}}"
        "{{range $.Config.Cmd}}{{range $.Config.Cmd}}{{range $.Config.Cmd}}{{range $.Config.Cmd}}"
        "{{printf \"%999999s\" \"x\"}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}",
        "prints more than 64 MiB");
  fails("{{eq .State.Pid \"x\" .}}", "incompatible types for comparison"); /* fuzz: leaked */
  char deep[4096] = "{{";
  for (int i = 0; i < 1000; i++)
    strcat(deep, "(");
  fails(deep, "max expression depth exceeded");
  strcpy(deep, "");
  for (int i = 0; i < 300; i++)
    strcat(deep, "{{if 1}}");
  fails(deep, "max expression depth exceeded");
  json_decref(root);
  return done();
}
