/* One log line to stderr (uWSGI sends a worker's stderr to its log). */
#ifndef DF_LOG_H
#define DF_LOG_H

void df_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
