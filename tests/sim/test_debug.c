/* SPDX-License-Identifier: MIT */
#include "sim_fw.h"
int main(void) { return 0; }
