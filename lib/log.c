#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void df_log(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(line, sizeof(line), "dailyfresh[%d]: ", (int)getpid());
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* one write keeps lines from two threads from interleaving */
    ssize_t w = write(2, line, len);
    (void)w;
}
