# SPDX-License-Identifier: MIT
# cmake -DNM=<nm> -DELF=<elf> -DOUT=<file> -P nm.cmake: the ELF's defined symbols into OUT.
execute_process(COMMAND ${NM} --defined-only ${ELF} OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} ${ELF} failed: ${rc}")
endif()
