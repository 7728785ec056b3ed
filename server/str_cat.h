// Cat(): concatenates strings (std::string_view included, which this
// Abseil build's StrCat does not take) and numbers into one std::string.
#pragma once

#include <sstream>
#include <string>

namespace flopwise::server {

template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace flopwise::server
