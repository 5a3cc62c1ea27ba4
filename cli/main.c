#include <stdarg.h>

#include <berth/plugin.h>

#include "cli.h"

static const struct command commands[] = {
    {"version", cmd_version, "Show the berth version information"},
    {"info", cmd_info, "Display system-wide information"},
    {"images", cmd_images, "List images"},
    {"image", cmd_image, "Manage images"},
    {"history", cmd_history, "Show the history of an image"},
    {"tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
    {"rmi", cmd_rmi, "Remove one or more images"},
    {"load", cmd_load, "Load an image from a tar archive or STDIN"},
    {"save", cmd_save, "Save one or more images to a tar archive (streamed to STDOUT by default)"},
    {"import", cmd_import, "Import the contents from a tarball to create a filesystem image"},
    {"inspect", cmd_inspect, "Return low-level information on berth objects"},
    {"pull", cmd_pull, "Download an image from a registry"},
    {"push", cmd_push, "Upload an image to a registry"},
    {"login", cmd_login, "Log in to a registry"},
    {"logout", cmd_logout, "Log out from a registry"},
    {"search", cmd_search, "Search a registry for images"},
    {"run", cmd_run, "Create and run a new container from an image"},
    {"create", cmd_create, "Create a new container"},
    {"start", cmd_start, "Start one or more stopped containers"},
    {"ps", cmd_ps, "List containers"},
    {"stop", cmd_stop, "Stop one or more running containers"},
    {"kill", cmd_kill, "Kill one or more running containers"},
    {"restart", cmd_restart, "Restart one or more containers"},
    {"pause", cmd_pause, "Pause all processes within one or more containers"},
    {"unpause", cmd_unpause, "Unpause all processes within one or more containers"},
    {"rm", cmd_rm, "Remove one or more containers"},
    {"rename", cmd_rename, "Rename a container"},
    {"wait", cmd_wait, "Block until one or more containers stop, then print their exit codes"},
    {"top", cmd_top, "Display the running processes of a container"},
    {"stats", cmd_stats, "Display a live stream of container(s) resource usage statistics"},
    {"update", cmd_update, "Update configuration of one or more containers"},
    {"port", cmd_port, "List port mappings or a specific mapping for the container"},
    {"diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem"},
    {"commit", cmd_commit, "Create a new image from a container's changes"},
    {"build", cmd_build, "Build an image from a Dockerfile"},
    {"cp", cmd_cp, "Copy files/folders between a container and the local filesystem"},
    {"export", cmd_export, "Export a container's filesystem as a tar archive"},
    {"logs", cmd_logs, "Fetch the logs of a container"},
    {"attach", cmd_attach,
     "Attach local standard input, output, and error streams to a running container"},
    {"exec", cmd_exec, "Execute a command in a running container"},
    {"container", cmd_container, "Manage containers"},
    {"network", cmd_network, "Manage networks"},
    {"volume", cmd_volume, "Manage volumes"},
    {"system", cmd_system, "Manage berth (df, info)"},
    {"events", cmd_events, "Get real time events from the server"},
    {"plugin", cmd_plugin, "List berth's loaded drivers (plugin ls)"},
};

const char *command_help(const struct command *c) {
  if (c->help) return c->help;
  for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
    if (commands[i].fn == c->fn) return commands[i].help;
  return "";
}

static void usage(FILE *f) {
  fprintf(f, "\nUsage:  berth [OPTIONS] COMMAND\n\nA container engine that speaks docker.\n\n"
             "Options:\n  -H, --host string   Daemon socket to connect to (default "
             "unix:///run/berth.sock, or $BERTH_HOST)\n"
             "  -v, --version       Print version information and quit\n\nCommands:\n");
  for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

int run_subcommand(const char *group, const struct command *sub, size_t n, const char *listing,
                   int argc, char **argv) {
  (void)listing;
  if (cli_gen) return gen_group(group, sub, n);
  bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
  if (argc < 2 || help) {
    FILE *f = help ? stdout : stderr;
    fprintf(f, "\nUsage:  berth %s COMMAND\n\nCommands:\n", group);
    for (size_t i = 0; i < n; i++)
      fprintf(f, "  %-12s %s\n", sub[i].name, command_help(&sub[i]));
    fprintf(f, "\nRun 'berth %s COMMAND --help' for more information on a command.\n", group);
    return help ? 0 : 1;
  }
  for (size_t i = 0; i < n; i++)
    if (!strcmp(sub[i].name, argv[1])) return sub[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "berth: '%s %s' is not a berth command.\nSee 'berth %s --help'\n", group, argv[1],
          group);
  return 1;
}

void die_usage(const char *usage_line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("berth: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n\nUsage:  %s\n\nRun 'berth --help' for more information\n", usage_line);
}

static const struct flag *find_long(const struct flag *flags, const char *name, size_t n) {
  for (const struct flag *f = flags; f && f->long_name; f++)
    if (strlen(f->long_name) == n && !strncmp(f->long_name, name, n)) return f;
  return NULL;
}

static const struct flag *find_short(const struct flag *flags, char c) {
  for (const struct flag *f = flags; f && f->long_name; f++)
    if (f->short_name == c) return f;
  return NULL;
}

static int set_flag(const struct flag *f, const char *val, const char *usage_line) {
  switch (f->type) {
  case F_BOOL: *(bool *)f->dst = !val || parse_bool_value(val); return 0;
  case F_STRING: *(const char **)f->dst = val; return 0;
  case F_INT: {
    char *end;
    long v = strtol(val, &end, 10);
    if (*end || !*val) {
      die_usage(usage_line,
                "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseInt: parsing \"%s\": "
                "invalid syntax",
                val, f->long_name, val);
      return -1;
    }
    *(long *)f->dst = v;
    return 0;
  }
  case F_LIST: {
    struct strlist *l = f->dst;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = val;
    return 0;
  }
  }
  return -1;
}

static void print_help(const char *usage_line, const struct flag *flags) {
  printf("\nUsage:  %s\n\nOptions:\n", usage_line);
  for (const struct flag *f = flags; f && f->long_name; f++) {
    char name[64];
    if (f->short_name)
      snprintf(name, sizeof name, "-%c, --%s", f->short_name, f->long_name);
    else
      snprintf(name, sizeof name, "    --%s", f->long_name);
    printf("  %-26s %s\n", name, f->help ? f->help : "");
  }
}

bool flags_stop_at_positional;

int parse_flags(int argc, char **argv, const struct flag *flags, const char *usage_line, int *npos,
                char ***pos) {
  char **out = xcalloc((size_t)argc + 1, sizeof *out);
  int n = 0;
  bool only_pos = false;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (only_pos || a[0] != '-' || !a[1]) {
      out[n++] = a;
      /* run IMAGE CMD ARGS: flags after the image belong to the command */
      if (flags_stop_at_positional) only_pos = true;
      continue;
    }
    if (!strcmp(a, "--")) {
      only_pos = true;
      continue;
    }
    if (cli_gen || !strcmp(a, "--help") || (!strcmp(a, "-h") && !find_short(flags, 'h'))) {
      if (cli_gen) {
        gen_flags(usage_line, flags);
        free(out);
        return 1;
      }
      print_help(usage_line, flags);
      free(out);
      return 1;
    }
    if (a[1] == '-') {
      const char *name = a + 2, *eq = strchr(name, '=');
      size_t nl = eq ? (size_t)(eq - name) : strlen(name);
      const struct flag *f = find_long(flags, name, nl);
      if (!f) {
        die_usage(usage_line, "unknown flag: --%.*s", (int)nl, name);
        free(out);
        return -1;
      }
      const char *val = eq ? eq + 1 : NULL;
      if (f->type != F_BOOL && !val) {
        if (i + 1 >= argc) {
          die_usage(usage_line, "flag needs an argument: --%s", f->long_name);
          free(out);
          return -1;
        }
        val = argv[++i];
      }
      if (set_flag(f, val, usage_line) < 0) {
        free(out);
        return -1;
      }
      continue;
    }
    for (char *c = a + 1; *c; c++) {
      const struct flag *f = find_short(flags, *c);
      if (!f) {
        die_usage(usage_line, "unknown shorthand flag: '%c' in %s", *c, a);
        free(out);
        return -1;
      }
      if (f->type == F_BOOL && c[1] == '=') { /* -d=false, -itd=true: pflag's grammar */
        set_flag(f, c + 2, usage_line);
        break;
      }
      if (f->type == F_BOOL) {
        set_flag(f, NULL, usage_line);
        continue;
      }
      /* -n3, -n=3, -n 3 */
      const char *val = c[1] ? c + 1 + (c[1] == '=') : (i + 1 < argc ? argv[++i] : NULL);
      if (!val) {
        die_usage(usage_line, "flag needs an argument: '%c' in %s", *c, a);
        free(out);
        return -1;
      }
      if (set_flag(f, val, usage_line) < 0) {
        free(out);
        return -1;
      }
      break;
    }
  }
  *npos = n;
  *pos = out;
  return 0;
}

int main(int argc, char **argv) {
  const char *host = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if ((!strcmp(argv[i], "-H") || !strcmp(argv[i], "--host")) && i + 1 < argc)
      host = argv[++i];
    else if (str_has_prefix(argv[i], "--host="))
      host = argv[i] + 7;
    else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")) {
      printf("berth version %s, plugin ABI %u.%u\n", PACKAGE_VERSION, BERTH_ABI_MAJOR,
             BERTH_ABI_MINOR);
      return 0;
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", argv[i]);
      return 125;
    } else
      break;
  }
  if (i >= argc) {
    usage(stderr);
    return 0;
  }
  if (!strcmp(argv[i], "__gen"))
    return gen_main(argc - i, argv + i, commands, ARRAY_SIZE(commands));
  client_init(host);
  for (size_t c = 0; c < ARRAY_SIZE(commands); c++)
    if (!strcmp(commands[c].name, argv[i])) return commands[c].fn(argc - i, argv + i);
  fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'\n", argv[i]);
  return 1;
}
