# SPDX-License-Identifier: MIT
# Turn lode's built-in flash algorithms (firmware/flash-algos, built by the firmware
# ExternalProject) into a C source for liblode:
#
#   cmake -DALGOS=<src>/firmware/flash-algos/algos.cmake -DALGO_DIR=<build>/firmware/flash-algos
#         -DOUT=<build>/generated/builtin_algos.c -P gen_builtin_algos.cmake
#
# For each algorithm listed in ALGOS it reads <name>.bin (objcopy -O binary of the ELF linked at
# the load address) and <name>.sym (`nm --defined-only` of it): the entry points are symbol
# values minus the load address with the Thumb bit cleared, data_section_offset is the
# linker-script symbol lode_algo_data minus the load address (the blob's end: no .data). The
# flash facts come from algos.cmake. Without ALGO_DIR (no firmware) the table is empty.
# OUT is rewritten only when its content changes, so liblode recompiles only then.
cmake_minimum_required(VERSION 3.20)

if(NOT OUT)
  message(FATAL_ERROR "gen_builtin_algos: OUT is not set")
endif()

set(names "")
if(ALGO_DIR)
  include(${ALGOS})
  set(names ${LODE_FLASH_ALGOS})
endif()

# "0x" + 8 hex digits
function(hex32 out value)
  math(EXPR v "${value}" OUTPUT_FORMAT HEXADECIMAL)
  string(SUBSTRING "${v}" 2 -1 digits)
  string(LENGTH "${digits}" n)
  while(n LESS 8)
    string(PREPEND digits "0")
    math(EXPR n "${n} + 1")
  endwhile()
  set(${out} "0x${digits}u" PARENT_SCOPE)
endfunction()

set(arrays "")
set(entries "")
foreach(name ${names})
  set(bin ${ALGO_DIR}/${name}.bin)
  set(sym ${ALGO_DIR}/${name}.sym)
  foreach(f ${bin} ${sym})
    if(NOT EXISTS ${f})
      message(FATAL_ERROR "gen_builtin_algos: ${f} is missing (was the firmware built?)")
    endif()
  endforeach()

  # the blob, 12 bytes a line
  file(READ ${bin} hex HEX)
  string(LENGTH "${hex}" nhex)
  math(EXPR len "${nhex} / 2")
  if(len EQUAL 0)
    message(FATAL_ERROR "gen_builtin_algos: ${bin} is empty")
  endif()
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1, " bytes "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f], " 12 twelve) # CMake regexes have no {n}
  string(REGEX REPLACE "(${twelve})" "\\1\n    " bytes "${bytes}")
  string(REPLACE ", \n" ",\n" bytes "${bytes}")
  string(REGEX REPLACE ", *(\n    )?$" "" bytes "${bytes}")
  string(APPEND arrays "static const uint8_t algo_${name}[${len}] = {\n    ${bytes}\n};\n\n")

  # symbols: "<value> <type> <name>"
  set(load ${LODE_FLASH_ALGO_LOAD_ADDRESS})
  file(STRINGS ${sym} lines)
  foreach(s Init UnInit ProgramPage EraseSector EraseChip LodeStream LodeEraseStart lode_algo_start lode_algo_data lode_algo_late_end)
    set(off_${s} "")
  endforeach()
  foreach(line ${lines})
    if(line MATCHES "^([0-9a-fA-F]+) [A-Za-z] ([A-Za-z_]+)$")
      set(s ${CMAKE_MATCH_2})
      if(DEFINED off_${s})
        math(EXPR v "(0x${CMAKE_MATCH_1} & ~1) - ${load}")
        set(off_${s} ${v})
      endif()
    endif()
  endforeach()
  if(NOT off_lode_algo_start STREQUAL "0")
    message(FATAL_ERROR "gen_builtin_algos: ${name} is not linked at ${load} (lode_algo_start '${off_lode_algo_start}')")
  endif()
  foreach(s Init UnInit ProgramPage EraseSector EraseChip LodeStream LodeEraseStart lode_algo_data lode_algo_late_end)
    if(off_${s} STREQUAL "")
      if(s STREQUAL "lode_algo_late_end" OR s STREQUAL "LodeEraseStart")
        set(off_${s} 0) # no late part / no erase-start table
        continue()
      endif()
      if(s STREQUAL "EraseChip" OR s STREQUAL "LodeStream")
        set(off_${s} 0xFFFFFFFF) # optional
        continue()
      endif()
      message(FATAL_ERROR "gen_builtin_algos: ${sym} has no symbol ${s}")
    endif()
    if(off_${s} LESS 0 OR off_${s} GREATER len OR (off_${s} EQUAL len AND NOT s STREQUAL "lode_algo_data"))
      message(FATAL_ERROR "gen_builtin_algos: ${name}: ${s} at offset ${off_${s}} is outside the ${len}-byte blob")
    endif()
  endforeach()
  foreach(s Init UnInit ProgramPage EraseSector EraseChip LodeStream LodeEraseStart lode_algo_data lode_algo_late_end)
    hex32(h_${s} ${off_${s}})
  endforeach()

  set(p ALGO_${name})
  list(GET ${p}_FLASH 0 fstart)
  list(GET ${p}_FLASH 1 fend)
  set(astart 0)
  set(aend 0)
  if(DEFINED ${p}_CHIP_ERASE_ALSO)
    list(GET ${p}_CHIP_ERASE_ALSO 0 astart)
    list(GET ${p}_CHIP_ERASE_ALSO 1 aend)
  endif()
  foreach(v load fstart fend astart aend)
    hex32(h_${v} ${${v}})
  endforeach()
  string(APPEND entries
"    {
        .name = \"${name}\",
        .description = \"${${p}_DESCRIPTION}\",
        .instructions = algo_${name},
        .instructions_len = sizeof algo_${name},
        .load_address = ${h_load},
        .pc_init = ${h_Init},
        .pc_uninit = ${h_UnInit},
        .pc_program_page = ${h_ProgramPage},
        .pc_erase_sector = ${h_EraseSector},
        .pc_erase_all = ${h_EraseChip},
        .pc_stream = ${h_LodeStream},
        .stream_late_len = ${h_lode_algo_late_end},
        .erase_start = ${h_LodeEraseStart},
        .data_section_offset = ${h_lode_algo_data},
        .flash_start = ${h_fstart},
        .flash_end = ${h_fend},
        .chip_erase_also_start = ${h_astart},
        .chip_erase_also_end = ${h_aend},
        .page_size = ${${p}_PAGE_SIZE}u,
        .sector_size = ${${p}_SECTOR_SIZE}u,
        .erased_byte_value = ${${p}_ERASED},
        .program_page_timeout_ms = ${${p}_PROGRAM_PAGE_TIMEOUT_MS}u,
        .erase_sector_timeout_ms = ${${p}_ERASE_SECTOR_TIMEOUT_MS}u,
    },
")
endforeach()

list(LENGTH names count)
if(count EQUAL 0)
  # C11 has no empty arrays: one zeroed element, a count of 0
  set(table "const lodei_builtin_algo_s lodei_builtin_algos[1] = {{.name = NULL}};\nconst size_t lodei_builtin_algos_count = 0;\n")
else()
  set(table "const lodei_builtin_algo_s lodei_builtin_algos[] = {\n${entries}};\n\nconst size_t lodei_builtin_algos_count = sizeof lodei_builtin_algos / sizeof lodei_builtin_algos[0];\n")
endif()

set(text "/* SPDX-License-Identifier: MIT */
/* Generated by cmake/gen_builtin_algos.cmake from firmware/flash-algos (algos.cmake and the
 * built <name>.bin / <name>.sym). Do not edit. Entry points are offsets from load_address
 * with the Thumb bit clear; 0xFFFFFFFF = none. */
#include <stddef.h>
#include <stdint.h>

#include \"target/builtin_algos.h\"

${arrays}${table}")

set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
