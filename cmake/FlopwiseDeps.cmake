# Every dependency comes from Debian's packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf CONFIG QUIET)
if(NOT Protobuf_FOUND)
  find_package(Protobuf REQUIRED)
endif()
find_package(gRPC CONFIG QUIET)
find_package(PkgConfig REQUIRED)
if(NOT gRPC_FOUND)
  # Debian's libgrpc++-dev ships pkg-config files rather than a CMake package.
  pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++ grpc++_reflection)
  add_library(flopwise_grpcpp INTERFACE)
  target_link_libraries(flopwise_grpcpp INTERFACE PkgConfig::GRPCPP)
  add_library(gRPC::grpc++ ALIAS flopwise_grpcpp)
  add_library(gRPC::grpc++_reflection ALIAS flopwise_grpcpp)
endif()
find_program(FLOPWISE_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_program(FLOPWISE_PROTOC protoc REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Ceres REQUIRED)
find_package(Eigen3 REQUIRED NO_MODULE)
find_package(spdlog REQUIRED)
find_package(GTest REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(OpenMP REQUIRED)
find_package(Gloo CONFIG REQUIRED)
# OpenBLAS built for OpenMP (libopenblas-openmp-dev): its GEMMs run on the
# same OpenMP threads as the kernels' own loops. Debian's default build runs
# them on pthreads of its own, and the two pools then spin against each other
# on every switch between a GEMM and an OpenMP loop (training steps 20% slower
# on 2 cores, docs/perf.md). Both builds have the SONAME libopenblas.so.0, so
# the programs carry the OpenMP build's folder as their run path.
find_package(OpenBLAS CONFIG
  PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp/cmake NO_DEFAULT_PATH)
if(OpenBLAS_FOUND)
  add_library(flopwise_openblas INTERFACE)
  target_include_directories(flopwise_openblas SYSTEM INTERFACE ${OpenBLAS_INCLUDE_DIRS})
  target_link_libraries(flopwise_openblas INTERFACE ${OpenBLAS_LIBRARIES})
  target_compile_definitions(flopwise_openblas INTERFACE FLOPWISE_OPENBLAS_OPENMP=1)
  get_filename_component(FLOPWISE_OPENBLAS_DIR ${OpenBLAS_LIBRARIES} DIRECTORY)
  # Ceres names the default build's BLAS and LAPACK (in its own target and
  # through FindBLAS); it gets the OpenMP build's, so that every process
  # loads one OpenBLAS and the run path hides nothing.
  foreach(_blas_target Ceres::ceres BLAS::BLAS LAPACK::LAPACK)
    if(TARGET ${_blas_target})
      get_target_property(_blas_libs ${_blas_target} INTERFACE_LINK_LIBRARIES)
      list(TRANSFORM _blas_libs REPLACE "^.*/lib(openblas|blas|lapack)\\.so$"
           "${FLOPWISE_OPENBLAS_DIR}/lib\\1.so")
      set_target_properties(${_blas_target} PROPERTIES INTERFACE_LINK_LIBRARIES "${_blas_libs}")
    endif()
  endforeach()
  list(APPEND CMAKE_INSTALL_RPATH ${FLOPWISE_OPENBLAS_DIR})
else()
  message(WARNING "OpenBLAS's OpenMP build (libopenblas-openmp-dev) not found: using the "
                  "default OpenBLAS, whose threads compete with OpenMP's (slower training)")
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS REQUIRED)
  add_library(flopwise_openblas INTERFACE)
  target_link_libraries(flopwise_openblas INTERFACE BLAS::BLAS)
endif()
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# ISA-L (libisal-dev): its crc32_iscsi is the CRC-32C of TensorBoard's event files.
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
