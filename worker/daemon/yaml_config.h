// Reads a daemon's --config FILE.yaml for CLI11: top-level keys are the long
// flag names, with `_` or `-` (`work_dir: /var/lib/flopwise`); scalars and
// lists of scalars. Flags given on the command line override the file.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace flopwise::workerd {

class YamlConfig : public CLI::Config {
 public:
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  // Throws CLI::ConversionError naming the problem (CLI11's convention).
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
};

}  // namespace flopwise::workerd
