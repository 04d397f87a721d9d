/* errf — a formatted message into a caller's error buffer, the way every
 * function here reports what was wrong (STYLE.md: errors are values that
 * name what and where; nothing prints from deep inside). */
#ifndef BLASTER_ERRF_H
#define BLASTER_ERRF_H

#include <stddef.h>

/* printf into err[0..errlen); nothing when err is NULL or errlen is 0. */
void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
