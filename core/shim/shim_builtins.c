/* berth-shim links only the log drivers built into berthd. */
#include "../plugin.h"

const struct berth_plugin *json_file_LTX_berth_plugin_entry(void);

const struct builtin_plugin berth_builtin_plugins[] = {
    {BERTH_KIND_LOGGER, "json-file", json_file_LTX_berth_plugin_entry},
};
const size_t berth_n_builtin_plugins = ARRAY_SIZE(berth_builtin_plugins);
