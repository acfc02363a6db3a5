/* SPDX-License-Identifier: MIT */
/* liblode, all of it: every public header (the simulator's lode/sim.h belongs to liblode-sim
 * and is not included). test_headers checks that each header in include/lode/ is listed. */
#ifndef LODE_LODE_H
#define LODE_LODE_H

#include "lode/adi.h"
#include "lode/board.h"
#include "lode/cmsis_dap.h"
#include "lode/core.h"
#include "lode/cortexm.h"
#include "lode/dap.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/gdbclient.h"
#include "lode/gdbserver.h"
#include "lode/image.h"
#include "lode/itm.h"
#include "lode/loader.h"
#include "lode/log.h"
#include "lode/probe.h"
#include "lode/project.h"
#include "lode/rsp.h"
#include "lode/rtt.h"
#include "lode/run.h"
#include "lode/semihost.h"
#include "lode/serial_usb.h"
#include "lode/serlink.h"
#include "lode/session.h"
#include "lode/stlink.h"
#include "lode/jlink.h"
#include "lode/stream.h"
#include "lode/target.h"
#include "lode/transport.h"
#include "lode/usb.h"
#include "lode/version.h"

#endif
