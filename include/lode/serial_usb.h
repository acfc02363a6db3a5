/* SPDX-License-Identifier: MIT */
/* USB serial ports by their USB device: which VID:PID is behind a port (sysfs), which port a
 * VID:PID has, and the 1200-baud touch that makes a running sketch (Arduino Leonardo/Micro,
 * SAMD boards) reset into its bootloader, which then comes back as another USB device -- often
 * under another port name -- found by its VID:PID, never by name and never by a fixed wait.
 *
 * sysfs: `sysfs_root` (NULL: $LODE_SYSFS_ROOT, else "/sys") holds class/tty/NAME with
 * `device` linking to the USB interface (CDC-ACM) or to a child of it (USB-serial chips); the
 * USB device's idVendor/idProduct/serial sit one or two levels above. The port is
 * /dev/DEVNAME (DEVNAME from class/tty/NAME/uevent; NAME with '!' as '/' when there is none). A
 * tree made by hand (tests, the simulated Leonardo's `lode sim-server --sysfs DIR`) works the
 * same way. */
#ifndef LODE_SERIAL_USB_H
#define LODE_SERIAL_USB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/board.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The USB device behind a serial port (a path, symbolic links followed). serial (cap bytes,
 * may be NULL) gets its serial-number string ("" when it has none). LODE_E_NO_DEVICE when sysfs
 * knows no USB device for the port (a built-in UART, a pseudo-terminal). */
int lode_serial_usb_id(const char *port, const char *sysfs_root, lode_usb_id_s *id, char *serial, size_t cap);

/* The first port (in name order) whose USB device is one of ids[0..nids): its /dev path in
 * port (cap bytes), its ID in *found (may be NULL). LODE_E_NO_DEVICE when none is there now. */
int lode_serial_find_usb(const lode_usb_id_s *ids, size_t nids, const char *sysfs_root, char *port, size_t cap,
                         lode_usb_id_s *found);

typedef struct lode_serial_touch_opts_s {
    unsigned baud;                 /* the touch speed; 0: 1200 */
    const lode_usb_id_s *boot_ids; /* the bootloader's USB IDs (Leonardo 2341:0036 ...) */
    size_t nboot_ids;
    unsigned timeout_ms;           /* for the bootloader to appear; 0: 8000 (Caterina's timeout) */
    const char *sysfs_root;        /* NULL: $LODE_SYSFS_ROOT or /sys */
} lode_serial_touch_opts_s;

/* The touch and the wait: open `port` (exclusively), set o->baud, drop DTR, and hold the port
 * until it hangs up (the sketch reset and left the bus) or a port with a bootloader ID appears;
 * then put the port's settings back as they were (9600 baud if they were the touch speed: a
 * port closed at 1200 would be a touch again) and close it; wait for a port with a bootloader
 * ID, polling sysfs every 20 ms, at most timeout_ms from the touch. Its path in boot_port.
 * A port that already is a bootloader (its ID among boot_ids) is not touched: it is the answer.
 * Errors, each logged as one line with the next step: the port missing (LODE_E_NO_DEVICE) or
 * held by another program (LODE_E_BUSY, naming it), no bootloader within the time
 * (LODE_E_TIMEOUT: "press reset twice quickly ..."). */
int lode_serial_touch(const char *port, const lode_serial_touch_opts_s *o, const lode_log_s *log, char *boot_port,
                      size_t cap);

/* A speed as a signal (a Teensy reboots into HalfKay when its port is set to 134 baud): open
 * `port` exclusively, set `baud` (a CDC-ACM port sends it as SET_LINE_CODING), hold it hold_ms,
 * put the settings back as they were (9600 baud if they were `baud`), close. */
int lode_serial_baud_signal(const char *port, unsigned baud, unsigned hold_ms, const lode_log_s *log);

#ifdef __cplusplus
}
#endif
#endif
