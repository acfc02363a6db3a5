/* SPDX-License-Identifier: MIT */
/* The simulated J-Link (sim/src/sim_jlink.c) as a device on the stand-in libusb's bus: one
 * vendor interface (class/subclass 0xFF) with bulk IN 0x81 and bulk OUT 0x02, as libjaylink
 * and OpenOCD's jlink driver look for it; the strings "SEGGER" / "J-Link" / the serial. */
#include "shim_jlink.h"

#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int shim_jlink_kind(const char *name)
{
    if (!strcmp(name, "jlink"))
        return 11;
    if (!strcmp(name, "jlink-v9"))
        return 9;
    return -1;
}

static bool env_is(const char *name, const char *v)
{
    const char *e = getenv(name);
    return e && !strcmp(e, v);
}

struct shim_jlink_s {
    lode_sim_jlink_s *p;
    FILE *vcd;
    uint64_t vcd_cycles, vcd_max;
    int vcd_level;
};

/* VCD: one SWCLK period of 2 time units per cycle, SWDIO set while SWCLK is low */
static void trace(void *user, size_t n, const uint8_t *dir, const uint8_t *out, const uint8_t *line)
{
    (void)dir, (void)out;
    shim_jlink_s *j = user;
    for (size_t i = 0; i < n && j->vcd && j->vcd_cycles < j->vcd_max; i++, j->vcd_cycles++) {
        int lv = (line[i / 8] >> (i % 8)) & 1;
        fprintf(j->vcd, "#%llu\n0c\n", (unsigned long long)(2 * j->vcd_cycles));
        if (lv != j->vcd_level)
            fprintf(j->vcd, "%dd\n", lv);
        j->vcd_level = lv;
        fprintf(j->vcd, "#%llu\n1c\n", (unsigned long long)(2 * j->vcd_cycles + 1));
    }
}

int shim_jlink_new(lode_sim_s *sim, int hw_major, const char *serial, shim_jlink_s **out)
{
    shim_jlink_s *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    const char *vcd = getenv("LODE_USB_SHIM_JLINK_VCD");
    if (vcd && *vcd) {
        const char *n = getenv("LODE_USB_SHIM_JLINK_VCD_CYCLES");
        j->vcd_max = n && *n ? strtoull(n, NULL, 10) : 4000u;
        j->vcd = fopen(vcd, "w");
        if (j->vcd)
            fprintf(j->vcd, "$timescale 125 ns $end\n$scope module jlink $end\n$var wire 1 c swclk $end\n"
                            "$var wire 1 d swdio $end\n$upscope $end\n$enddefinitions $end\n#0\n1c\n1d\n");
        j->vcd_level = 1;
    }
    lode_sim_jlink_config_s c = {.hw_major = (unsigned)hw_major, .serial = serial,
                                 .vtref_off = env_is("LODE_USB_SHIM_JLINK_VTREF", "0"),
                                 .no_swd = env_is("LODE_USB_SHIM_JLINK_NO_SWD", "1"),
                                 .trace = j->vcd ? trace : NULL, .trace_user = j};
    if (lode_sim_jlink_new(sim, &c, &j->p) != LODE_OK) {
        shim_jlink_free(j);
        return -1;
    }
    *out = j;
    return 0;
}

void shim_jlink_free(shim_jlink_s *j)
{
    if (!j)
        return;
    if (j->vcd)
        fclose(j->vcd);
    lode_sim_jlink_free(j->p);
    free(j);
}

int shim_jlink_bulk(shim_jlink_s *j, unsigned char ep, unsigned char *data, int length)
{
    lode_sim_jlink_s *p = j->p;
    if (j->vcd)
        fflush(j->vcd);
    if (ep == SHIM_JLINK_EP_OUT)
        return lode_sim_jlink_usb_write(p, data, (size_t)length) == LODE_OK ? length : LIBUSB_ERROR_IO;
    if (ep == SHIM_JLINK_EP_IN) {
        size_t got = 0;
        int rc = lode_sim_jlink_usb_read(p, data, (size_t)length, &got);
        return rc == LODE_OK ? (int)got : rc == LODE_E_TIMEOUT ? LIBUSB_ERROR_TIMEOUT : LIBUSB_ERROR_IO;
    }
    return LIBUSB_ERROR_PIPE;
}

const char *shim_jlink_string(const shim_jlink_s *j, uint8_t idx)
{
    const lode_sim_jlink_s *p = j->p;
    switch (idx) {
    case 1: return "SEGGER";
    case 2: return "J-Link";
    case 3: return lode_sim_jlink_serial(p);
    case 4: return "BULK interface";
    default: return NULL;
    }
}

unsigned long long shim_jlink_report(const shim_jlink_s *j, const char *serial)
{
    const lode_sim_jlink_s *p = j->p;
    lode_sim_jlink_stats_s st;
    lode_sim_jlink_stats(p, &st);
    fprintf(stderr, "usb shim: %s: J-Link %llu HW_JTAG3 commands, %llu SWD cycles at %u Hz, %llu OUT / %llu IN "
                    "transfers\n", serial, (unsigned long long)st.jtag3_commands, (unsigned long long)st.bits,
            lode_sim_jlink_speed_hz(p), (unsigned long long)st.usb_out, (unsigned long long)st.usb_in);
    return st.commands;
}
