// The one reader of the programs' `--config FILE.yaml` (flopwise-coordinator,
// flopwise-worker, flopwise-train), for CLI11: top-level keys are the long flag
// names, with `_` or `-` (`work_dir: /var/lib/flopwise`); scalars and lists of
// scalars; a flag (an option without a value) takes true or false. Flags given
// on the command line override the file. Use it through UseYamlConfig().
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace flopwise {

class YamlConfig : public CLI::Config {
 public:
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  // Throws CLI::ConversionError naming the problem (CLI11's convention).
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
};

// Gives `app` a `--config FILE` option read with YamlConfig; a key that names
// no flag of `app` is an error.
void UseYamlConfig(CLI::App& app);

}  // namespace flopwise
