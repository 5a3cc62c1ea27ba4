/* The prunes, as docker's: container, image, network, volume and system
 * prune, one helper for the POST, the "Deleted …:" lists and the total. */
#include "cli.h"

/* POST path and print what went under key; the space reclaimed, or -1 */
long long prune_post(const char *path, const char *key, const char *title) {
  json_t *out = NULL;
  if (api_call("POST", path, NULL, &out, NULL) < 0) return -1;
  json_t *list = json_object_get(out, key);
  if (json_array_size(list)) {
    printf("Deleted %s:\n", title);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
      if (json_is_string(v)) {
        printf("%s\n", json_string_value(v));
        continue;
      }
      const char *u = json_string_value(json_object_get(v, "Untagged"));
      const char *d = json_string_value(json_object_get(v, "Deleted"));
      if (u) printf("untagged: %s\n", u);
      if (d) printf("deleted: %s\n", d);
    }
    printf("\n");
  }
  long long space = (long long)json_integer_value(json_object_get(out, "SpaceReclaimed"));
  json_decref(out);
  return space;
}

void prune_total(long long bytes) {
  char size[32];
  human_size((double)bytes, size, sizeof size);
  printf("Total reclaimed space: %s\n", size);
}

int cmd_container_prune(int argc, char **argv) {
  bool force = false;
  struct strlist filt = {0};
  const struct flag flags[] = {{"force", 'f', F_BOOL, &force, "Do not prompt for confirmation"},
                               {"filter", 0, F_LIST, &filt, "Provide filter values"},
                               {0}};
  PARSE("berth container prune [OPTIONS]", flags);
  free(pos);
  if (!force && !confirm("WARNING! This will remove all stopped containers.")) return 0;
  cleanup_free char *path = path_with_filters("/containers/prune", &filt, NULL);
  long long n = prune_post(path, "ContainersDeleted", "Containers");
  if (n < 0) return 1;
  prune_total(n);
  return 0;
}

int cmd_image_prune(int argc, char **argv) {
  bool force = false, all = false;
  struct strlist filt = {0};
  const struct flag flags[] = {
      {"all", 'a', F_BOOL, &all, "Remove all unused images, not just dangling ones"},
      {"force", 'f', F_BOOL, &force, "Do not prompt for confirmation"},
      {"filter", 0, F_LIST, &filt, "Provide filter values"},
      {0}};
  PARSE("berth image prune [OPTIONS]", flags);
  free(pos);
  if (!force && !confirm(all ? "WARNING! This will remove all images without at least one "
                               "container associated to them."
                             : "WARNING! This will remove all dangling images."))
    return 0;
  cleanup_free char *path =
      path_with_filters("/images/prune", &filt, all ? "dangling=false" : "dangling=true");
  long long n = prune_post(path, "ImagesDeleted", "Images");
  if (n < 0) return 1;
  prune_total(n);
  return 0;
}

int cmd_system_prune(int argc, char **argv) {
  bool force = false, all = false, volumes = false;
  struct strlist filt = {0};
  const struct flag flags[] = {
      {"all", 'a', F_BOOL, &all, "Remove all unused images not just dangling ones"},
      {"force", 'f', F_BOOL, &force, "Do not prompt for confirmation"},
      {"volumes", 0, F_BOOL, &volumes, "Prune anonymous volumes"},
      {"filter", 0, F_LIST, &filt, "Provide filter values"},
      {0}};
  PARSE("berth system prune [OPTIONS]", flags);
  free(pos);
  cleanup_free char *warning = xasprintf(
      "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at "
      "least one container\n%s  - %s\n  - unused build cache\n",
      volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
      all ? "all images without at least one container associated to them" : "all dangling images");
  if (!force && !confirm(warning)) return 0;
  struct {
    const char *path, *key, *title, *extra;
  } steps[] = {
      {"/containers/prune", "ContainersDeleted", "Containers", NULL},
      {"/networks/prune", "NetworksDeleted", "Networks", NULL},
      {"/volumes/prune", "VolumesDeleted", "Volumes", NULL},
      {"/images/prune", "ImagesDeleted", "Images", all ? "dangling=false" : "dangling=true"},
      {"/build/prune", "CachesDeleted", "Build Cache", NULL}};
  long long total = 0;
  for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
    if (!volumes && !strcmp(steps[i].key, "VolumesDeleted")) continue;
    cleanup_free char *path = path_with_filters(steps[i].path, &filt, steps[i].extra);
    long long n = prune_post(path, steps[i].key, steps[i].title);
    if (n < 0) return 1;
    total += n;
  }
  prune_total(total);
  return 0;
}
