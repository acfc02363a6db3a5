# SPDX-License-Identifier: MIT
# The built-in flash algorithms: how each is built (firmware/flash-algos/CMakeLists.txt) and
# what it programs (cmake/gen_builtin_algos.cmake turns the built blobs plus these facts into
# <build>/generated/builtin_algos.c for liblode). Times are in ms: the datasheet maxima of one
# page program / sector erase with margin.
set(LODE_FLASH_ALGOS lode_stm32f1_64k lode_nrf52_1m lode_nrf52_uicr lode_samd21_256k)
set(LODE_FLASH_ALGO_LOAD_ADDRESS 0x20000000) # must match algo.ld

# STM32F1 (PM0075): tPROG 70 us max x 512 half-words = 36 ms; tERASE 40 ms max.
set(ALGO_lode_stm32f1_64k_SOURCE stm32f1.c)
set(ALGO_lode_stm32f1_64k_CPU -mcpu=cortex-m3)
set(ALGO_lode_stm32f1_64k_DEFINES "")
set(ALGO_lode_stm32f1_64k_DESCRIPTION "STM32F1 medium density 64 KiB flash (FPEC)")
set(ALGO_lode_stm32f1_64k_FLASH 0x08000000 0x08010000)
set(ALGO_lode_stm32f1_64k_PAGE_SIZE 1024)
set(ALGO_lode_stm32f1_64k_SECTOR_SIZE 1024)
set(ALGO_lode_stm32f1_64k_ERASED 0xFF)
set(ALGO_lode_stm32f1_64k_PROGRAM_PAGE_TIMEOUT_MS 100)
set(ALGO_lode_stm32f1_64k_ERASE_SECTOR_TIMEOUT_MS 100)

# nRF52840 (PS §4.3): tWRITE 41 us x 1024 words = 42 ms; tERASEPAGE 85 ms.
set(ALGO_lode_nrf52_1m_SOURCE nrf52.c)
set(ALGO_lode_nrf52_1m_CPU -mcpu=cortex-m4 -mfloat-abi=soft)
set(ALGO_lode_nrf52_1m_DEFINES ALGO_UICR=0)
set(ALGO_lode_nrf52_1m_DESCRIPTION "nRF52 1 MiB code flash (NVMC); chip erase also erases the UICR")
set(ALGO_lode_nrf52_1m_FLASH 0x00000000 0x00100000)
set(ALGO_lode_nrf52_1m_PAGE_SIZE 4096)
set(ALGO_lode_nrf52_1m_SECTOR_SIZE 4096)
set(ALGO_lode_nrf52_1m_ERASED 0xFF)
set(ALGO_lode_nrf52_1m_PROGRAM_PAGE_TIMEOUT_MS 100)
set(ALGO_lode_nrf52_1m_ERASE_SECTOR_TIMEOUT_MS 200)
# optional: memory outside FLASH that EraseChip erases too (ERASEALL: the UICR)
set(ALGO_lode_nrf52_1m_CHIP_ERASE_ALSO 0x10001000 0x10002000)

set(ALGO_lode_nrf52_uicr_SOURCE nrf52.c)
set(ALGO_lode_nrf52_uicr_CPU -mcpu=cortex-m4 -mfloat-abi=soft)
set(ALGO_lode_nrf52_uicr_DEFINES ALGO_UICR=1)
set(ALGO_lode_nrf52_uicr_DESCRIPTION "nRF52 UICR (NVMC ERASEUICR)")
set(ALGO_lode_nrf52_uicr_FLASH 0x10001000 0x10002000)
set(ALGO_lode_nrf52_uicr_PAGE_SIZE 4096)
set(ALGO_lode_nrf52_uicr_SECTOR_SIZE 4096)
set(ALGO_lode_nrf52_uicr_ERASED 0xFF)
set(ALGO_lode_nrf52_uicr_PROGRAM_PAGE_TIMEOUT_MS 100)
set(ALGO_lode_nrf52_uicr_ERASE_SECTOR_TIMEOUT_MS 200)

# SAMD21 (datasheet, NVM characteristics): page write 2.5 ms max, row erase 6 ms max. No
# LodeStream (stream.c is ARMv7-M code): the classic calls.
set(ALGO_lode_samd21_256k_SOURCE samd21.c)
set(ALGO_lode_samd21_256k_CPU -mcpu=cortex-m0plus)
set(ALGO_lode_samd21_256k_DEFINES "")
set(ALGO_lode_samd21_256k_NO_STREAM ON)
set(ALGO_lode_samd21_256k_DESCRIPTION "SAMD21 256 KiB main array (NVMCTRL), 256-byte rows")
set(ALGO_lode_samd21_256k_FLASH 0x00000000 0x00040000)
set(ALGO_lode_samd21_256k_PAGE_SIZE 256)
set(ALGO_lode_samd21_256k_SECTOR_SIZE 256)
set(ALGO_lode_samd21_256k_ERASED 0xFF)
set(ALGO_lode_samd21_256k_PROGRAM_PAGE_TIMEOUT_MS 50)
set(ALGO_lode_samd21_256k_ERASE_SECTOR_TIMEOUT_MS 50)
