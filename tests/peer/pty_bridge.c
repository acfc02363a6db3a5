/* SPDX-License-Identifier: MIT */
/* A serial port for tests: a pseudo-terminal whose other end is a TCP connection, as a
 * Black Magic Probe's USB serial port has its GDB server behind it. Prints the terminal's path,
 * then forwards bytes both ways; a closed TCP connection is opened again when the terminal
 * side writes. usage: pty_bridge PORT   (127.0.0.1:PORT) */
#define _XOPEN_SOURCE 600
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static int connect_port(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0)
        return s;
    if (s >= 0)
        close(s);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int port = atoi(argv[1]);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0)
        return 1;
    const char *name = ptsname(m);
    /* hold the terminal open in raw mode, so the line discipline never echoes or edits */
    int keep = open(name, O_RDWR | O_NOCTTY);
    struct termios t;
    if (keep < 0 || tcgetattr(keep, &t) != 0)
        return 1;
    cfmakeraw(&t);
    tcsetattr(keep, TCSANOW, &t);
    printf("%s\n", name);
    fflush(stdout);
    int s = -1;
    unsigned char buf[4096];
    for (;;) {
        struct pollfd pf[2] = {{.fd = m, .events = POLLIN}, {.fd = s, .events = POLLIN}};
        if (poll(pf, s >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (pf[0].revents & POLLIN) {
            ssize_t n = read(m, buf, sizeof buf);
            if (n > 0) {
                if (s < 0)
                    s = connect_port(port);
                if (s >= 0 && send(s, buf, (size_t)n, MSG_NOSIGNAL) != n) {
                    close(s);
                    s = -1;
                }
            }
        }
        if (s >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = recv(s, buf, sizeof buf, 0);
            if (n <= 0) {
                close(s);
                s = -1;
            } else if (write(m, buf, (size_t)n) != n) {
                return 1;
            }
        }
    }
}
