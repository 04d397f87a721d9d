/* suggest — "did you mean ...?" for names a user typed: the edit distance
 * between two short strings. */
#ifndef BLASTER_SUGGEST_H
#define BLASTER_SUGGEST_H

/* Levenshtein distance of a and b, ASCII case-insensitive; 1000 when either
 * is longer than 63 characters (no name worth suggesting is). */
int suggest_distance(const char *a, const char *b);

#endif
