// MakeCudaBackend in a CUDA build: opens the CUDA backend's shared library
// (kernels/CMakeLists.txt) on first use, from the executable's directory or
// else the dynamic linker's search path, and asks it for a backend.
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "kernels/backend.h"

namespace flopwise::kernels {
namespace {

// The library's factory (cuda_backend.cu). Its symbol's name carries a
// version that changes with its signature, so that a library of another
// version is refused by name instead of called with the wrong arguments.
constexpr char kNewCudaBackendSymbol[] = "FlopwiseNewCudaBackendV2";
using NewCudaBackendFunction = void (*)(int, const CudaBackendOptions*,
                                        absl::StatusOr<std::unique_ptr<Backend>>*);

// The executable's directory with a trailing '/', or "" when unknown.
std::string ExecutableDirectory() {
  char path[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return "";
  const std::string exe(path, static_cast<size_t>(length));
  return exe.substr(0, exe.rfind('/') + 1);
}

// The library's factory, or the reason it cannot be loaded. Loaded once and
// never unloaded (its backends' code lives there). Thread-safe.
absl::StatusOr<NewCudaBackendFunction> LoadLibrary() {
  static const absl::StatusOr<NewCudaBackendFunction> loaded =
      []() -> absl::StatusOr<NewCudaBackendFunction> {
    const std::string beside = ExecutableDirectory() + FLOPWISE_CUDA_LIBRARY;
    void* library = dlopen(beside.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) library = dlopen(FLOPWISE_CUDA_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      return absl::FailedPreconditionError(std::string("cannot load the CUDA backend (") +
                                           FLOPWISE_CUDA_LIBRARY + ", looked for beside the " +
                                           "executable first): " + dlerror());
    }
    void* symbol = dlsym(library, kNewCudaBackendSymbol);
    if (symbol == nullptr) {
      return absl::FailedPreconditionError(std::string(FLOPWISE_CUDA_LIBRARY) + " has no " +
                                           kNewCudaBackendSymbol + " (a library of another " +
                                           "flopwise version?): " + dlerror());
    }
    return reinterpret_cast<NewCudaBackendFunction>(symbol);
  }();
  return loaded;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> MakeCudaBackend(int device,
                                                         const CudaBackendOptions& options) {
  absl::StatusOr<NewCudaBackendFunction> new_backend = LoadLibrary();
  if (!new_backend.ok()) return new_backend.status();
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      absl::FailedPreconditionError("the CUDA backend library returned nothing");
  (*new_backend)(device, &options, &backend);
  return backend;
}

}  // namespace flopwise::kernels
