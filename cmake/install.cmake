# SPDX-License-Identifier: MIT
# What `cmake --install` puts where (lode_shared, liblode.so, is defined in src/CMakeLists.txt):
#   bin/lode                     the command (links liblode-sim: GPL-2.0 terms, see README)
#   lib/liblode.so*, liblode.a   the library (MIT)
#   include/lode/*.h             public headers (lode/lode.h includes them all)
#   lib/pkgconfig/lode.pc, lib/cmake/lode/   pkg-config and find_package(lode)
#   share/lode/{chips,boards}/*.yaml   the chip and board data (embedded in liblode too)
#   share/man/man1/lode.1, share/bash-completion/completions/lode, lib/udev/rules.d/60-lode.rules
include(CMakePackageConfigHelpers)

install(TARGETS lode-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS lode_shared lode EXPORT lodeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/lode DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

set(LODE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lode)
install(EXPORT lodeTargets NAMESPACE lode:: DESTINATION ${LODE_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/lodeConfig.cmake.in
  ${CMAKE_BINARY_DIR}/lodeConfig.cmake INSTALL_DESTINATION ${LODE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/lodeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
# the toolchain file for firmware projects (examples/cmake-ctest: its tests run through lode)
install(FILES ${CMAKE_SOURCE_DIR}/cmake/arm-none-eabi.cmake DESTINATION ${LODE_CMAKE_DIR})
install(FILES ${CMAKE_BINARY_DIR}/lodeConfig.cmake ${CMAKE_BINARY_DIR}/lodeConfigVersion.cmake
  DESTINATION ${LODE_CMAKE_DIR})

# lode.pc finds its prefix from where it lies (pkg-config's ${pcfiledir}): relocatable
file(RELATIVE_PATH LODE_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" LODE_PC_TO_PREFIX "${LODE_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/lode.pc.in ${CMAKE_BINARY_DIR}/lode.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/lode.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# for people: the manual, bash completion, udev rules for the probes and bootloaders
set(LODE_UDEV_RULES_DIR lib/udev/rules.d CACHE STRING
    "where `cmake --install` puts 60-lode.rules (relative to the prefix, or absolute)")
# lode's data files (also embedded in liblode): share/lode/chips/*.yaml, share/lode/boards/*.yaml
install(DIRECTORY ${CMAKE_SOURCE_DIR}/data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/lode
  FILES_MATCHING PATTERN "*.yaml")
install(FILES ${CMAKE_SOURCE_DIR}/docs/lode.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/dist/bash-completion/lode
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${CMAKE_SOURCE_DIR}/dist/udev/60-lode.rules DESTINATION ${LODE_UDEV_RULES_DIR})
