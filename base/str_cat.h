// Cat(): absl::StrCat that also takes std::string_view. Debian's Abseil
// (20220623) has its own absl::string_view type, which StrCat's arguments do
// not convert from; everything else (strings, numbers, C strings) is
// absl::StrCat's.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace flopwise {
namespace str_cat_internal {

template <typename T>
decltype(auto) Arg(const T& value) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return absl::string_view(value.data(), value.size());
  } else {
    return (value);
  }
}

}  // namespace str_cat_internal

template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(str_cat_internal::Arg(args)...);
}

}  // namespace flopwise
