# Writes OUTPUT, a C++ file defining DashboardAssets() (server/dashboard_assets.h)
# with the bytes of each file in FILES (a comma-separated list of names in DIR), so the
# coordinator serves the dashboard without files beside it. Run as
# `cmake -DDIR=... -DFILES=... -DOUTPUT=... -P embed.cmake` at build time.
string(REPLACE "," ";" FILES "${FILES}")
set(body "")
set(table "")
set(index 0)
foreach(name IN LISTS FILES)
  file(READ "${DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "const char kAsset${index}[] = {${bytes}};\n")
  string(APPEND table "    {\"${name}\", std::string_view(kAsset${index}, ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from server/dashboard/ by server/dashboard/embed.cmake; do not edit.\n"
  "#include \"server/dashboard_assets.h\"\n\n"
  "namespace flopwise::server {\nnamespace {\n\n${body}\n}  // namespace\n\n"
  "std::span<const DashboardAsset> DashboardAssets() {\n"
  "  static const DashboardAsset kAssets[] = {\n${table}  };\n"
  "  return kAssets;\n}\n\n}  // namespace flopwise::server\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
