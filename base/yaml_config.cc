#include "base/yaml_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iterator>
#include <sstream>

#include "base/yaml_document.h"

namespace flopwise {

std::string YamlConfig::to_config(const CLI::App* app, bool default_also, bool write_description,
                                  std::string prefix) const {
  std::ostringstream out;
  for (const CLI::Option* option : app->get_options()) {
    if (option->get_lnames().empty() || !option->get_configurable()) continue;
    std::string name = option->get_lnames().front();
    std::replace(name.begin(), name.end(), '-', '_');
    std::string value = option->as<std::string>();
    if (value.empty() && default_also) value = option->get_default_str();
    if (value.empty()) continue;
    if (write_description) out << "# " << option->get_description() << "\n";
    out << prefix << name << ": " << value << "\n";
  }
  return out.str();
}

std::vector<CLI::ConfigItem> YamlConfig::from_config(std::istream& input) const {
  const std::string text(std::istreambuf_iterator<char>(input), {});
  absl::StatusOr<YAML::Node> document = ParseYamlDocument(text);
  if (!document.ok()) {
    throw CLI::ConversionError("config: " + std::string(document.status().message()));
  }
  const YAML::Node& root = *document;
  std::vector<CLI::ConfigItem> items;
  if (root.IsNull()) return items;
  if (!root.IsMap()) throw CLI::ConversionError("config: the top level must be a mapping");
  for (const auto& entry : root) {
    CLI::ConfigItem item;
    item.name = entry.first.as<std::string>();
    std::replace(item.name.begin(), item.name.end(), '_', '-');
    const YAML::Node& value = entry.second;
    if (value.IsScalar()) {
      item.inputs.push_back(value.as<std::string>());
    } else if (value.IsSequence()) {
      for (const auto& element : value) {
        if (!element.IsScalar()) {
          throw CLI::ConversionError("config: " + entry.first.as<std::string>() +
                                     ": list elements must be scalars");
        }
        item.inputs.push_back(element.as<std::string>());
      }
    } else if (!value.IsNull()) {
      throw CLI::ConversionError("config: " + entry.first.as<std::string>() +
                                 ": must be a scalar or a list");
    }
    if (!item.inputs.empty()) items.push_back(std::move(item));
  }
  return items;
}

void UseYamlConfig(CLI::App& app) {
  app.config_formatter(std::make_shared<YamlConfig>());
  app.set_config("--config", "", "YAML file of these flags (keys: long flag names, '_' or '-')");
  app.allow_config_extras(CLI::config_extras_mode::error);
}

}  // namespace flopwise
