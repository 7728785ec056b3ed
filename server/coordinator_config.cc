#include "server/coordinator_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>

#include "base/status_macros.h"
#include "base/str_cat.h"

namespace flopwise::server {

absl::Status ApplyConfigFile(const std::string& path,
                             const std::set<std::string>& set_on_command_line,
                             CoordinatorFlags* flags) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(Cat("config: cannot read ", path));
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat("config: ", path, ": not valid YAML: ", e.msg));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap())
    return absl::InvalidArgumentError(Cat("config: ", path, ": must be a mapping"));
  using Setter = std::function<bool(const std::string&)>;
  auto text = [](std::string* field) -> Setter {
    return [field](const std::string& value) {
      *field = value;
      return true;
    };
  };
  auto number = [](double* field) -> Setter {
    return [field](const std::string& value) {
      char* end = nullptr;
      const double parsed = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !std::isfinite(parsed)) return false;
      *field = parsed;
      return true;
    };
  };
  const std::map<std::string, Setter> setters = {
      {"listen", text(&flags->listen)},
      {"db", text(&flags->db)},
      {"checkpoint_root", text(&flags->checkpoint_root)},
      {"client_token_file", text(&flags->client_token_file)},
      {"worker_token_file", text(&flags->worker_token_file)},
      {"tls_cert", text(&flags->tls_cert)},
      {"tls_key", text(&flags->tls_key)},
      {"lease_seconds", number(&flags->lease_seconds)},
      {"heartbeat_seconds", number(&flags->heartbeat_seconds)},
      {"restart_grace_seconds", number(&flags->restart_grace_seconds)},
      {"max_receive_bytes",
       [flags](const std::string& value) {
         char* end = nullptr;
         const long long parsed = std::strtoll(value.c_str(), &end, 10);
         if (value.empty() || *end != '\0' || parsed <= 0) return false;
         flags->max_receive_bytes = parsed;
         return true;
       }},
      {"log_level", text(&flags->log_level)},
  };
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    auto setter = setters.find(key);
    if (setter == setters.end()) {
      return absl::InvalidArgumentError(Cat("config: ", path, ": ", key, ": unknown key"));
    }
    std::string flag_name = key;
    for (char& c : flag_name) c = c == '_' ? '-' : c;
    if (set_on_command_line.contains(flag_name)) continue;
    if (!entry.second.IsScalar() || !setter->second(entry.second.Scalar())) {
      return absl::InvalidArgumentError(Cat("config: ", path, ": ", key, ": bad value"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path, std::string_view option) {
  if (path.empty()) return absl::InvalidArgumentError(Cat(option, ": required"));
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(Cat(option, ": cannot read ", path));
  std::string token;
  std::getline(in, token);
  const size_t begin = token.find_first_not_of(" \t\r");
  const size_t end = token.find_last_not_of(" \t\r");
  token = begin == std::string::npos ? "" : token.substr(begin, end - begin + 1);
  if (token.empty()) return absl::InvalidArgumentError(Cat(option, ": ", path, " holds no token"));
  return token;
}

absl::StatusOr<CoordinatorOptions> ToCoordinatorOptions(const CoordinatorFlags& flags) {
  CoordinatorOptions options;
  options.listen = flags.listen;
  options.db_path = flags.db;
  options.checkpoint_root = flags.checkpoint_root;
  ASSIGN_OR_RETURN(options.client_token,
                   ReadTokenFile(flags.client_token_file, "client-token-file"));
  ASSIGN_OR_RETURN(options.worker_token,
                   ReadTokenFile(flags.worker_token_file, "worker-token-file"));
  options.tls_cert_path = flags.tls_cert;
  options.tls_key_path = flags.tls_key;
  if (flags.max_receive_bytes > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError("max-receive-bytes: at most 1 GiB");
  }
  options.max_receive_bytes = static_cast<int>(flags.max_receive_bytes);
  if (!(flags.lease_seconds > 0))
    return absl::InvalidArgumentError("lease-seconds: must be positive");
  options.scheduler.lease_duration_ms = std::llround(flags.lease_seconds * 1000);
  options.scheduler.heartbeat_interval_ms = flags.heartbeat_seconds > 0
                                                ? std::llround(flags.heartbeat_seconds * 1000)
                                                : options.scheduler.lease_duration_ms / 6;
  options.scheduler.restart_grace_ms = flags.restart_grace_seconds > 0
                                           ? std::llround(flags.restart_grace_seconds * 1000)
                                           : options.scheduler.lease_duration_ms;
  return options;
}

}  // namespace flopwise::server
