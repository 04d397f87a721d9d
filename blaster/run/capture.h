/* capture: pull values out of a response for a scenario's `capture` (a response header or
 * a JSON path), and split a kept response into head and (de-chunked) body.
 *
 * These run on the VU's path right after a response, on bytes a server sent: they never
 * allocate, take no locks, do work linear in the input (nesting bounded by
 * CAPTURE_JSON_MAX_DEPTH), and never read outside [buf, buf + len) whatever the bytes are;
 * malformed input gives an error, never a crash. None of the inputs need be NUL-terminated
 * except `path` and `name`.
 */
#ifndef BLASTER_CAPTURE_H
#define BLASTER_CAPTURE_H

#include <stddef.h>

/* Containers nested deeper than this (anywhere on the way to the value, skipped siblings
 * included) make capture_json fail. */
#define CAPTURE_JSON_MAX_DEPTH 64

/* Find the value at a JSON path in a JSON text.
 * Path: "data.upload_id", "items[0].id", "a.b[2][1]", "[0].name", "count"; "" is the whole
 * document. Keys are object member names, compared byte for byte with the member name after
 * unescaping it (all JSON escapes, \uXXXX included); a path key runs to the next '.' or '['
 * (so it cannot itself contain those). [N] indexes arrays (decimal, at most 9 digits). The
 * first member with a matching name wins. Indexing an object, or a key into an array or a
 * scalar, is "not found".
 * The JSON is not validated beyond what reaching the value needs (members before the one
 * sought are fully checked, text after the value is not), but malformed text on the way
 * fails cleanly.
 * On success writes the value NUL-terminated into out (cap bytes including the NUL):
 *  - a string: unescaped (\" \\ \/ \b \f \n \r \t, \uXXXX to UTF-8, surrogate pairs); a
 *    lone surrogate, \u0000 or a raw control character makes the text malformed, so the
 *    value never holds a NUL (but may hold CR/LF from \r \n: escape it before putting it
 *    in a header);
 *  - a number, true, false, null: its literal text ("1.5e+10");
 *  - an object or array: its raw text, from the opening to the closing bracket.
 * Returns the length written (excluding the NUL); -1 not found or malformed; -2 the value
 * does not fit in cap (out then holds "" if cap > 0). */
int capture_json(const char *json, size_t len, const char *path, char *out, size_t cap);

/* Value of the first header named `name` (case-insensitive, exact length) in a raw HTTP
 * response head ("HTTP/1.1 200 OK\r\nA: b\r\n...\r\n\r\n"; bare \n line ends tolerated;
 * anything after the blank line, a body, is ignored; a head without its blank line is
 * searched to its end). Interim 1xx responses (not 101) before the final one in the same
 * buffer are skipped: only the final response's headers count. Obsolete folded lines are
 * ignored. The value is trimmed of surrounding spaces/tabs and written NUL-terminated into
 * out (cap bytes including the NUL).
 * Returns the length written; -1 absent, or the head is malformed (no "HTTP/x.y NNN"
 * status line, only interim responses), or the value holds control characters other than
 * tab (which a request template could not carry safely); -2 too long for cap (out then
 * holds "" if cap > 0). */
int capture_header(const char *head, size_t len, const char *name, char *out, size_t cap);

/* Split a kept response (head + body bytes as received, possibly truncated at the keep
 * limit; interim 1xx responses first are part of the head) into head and body.
 * If the final head's Transfer-Encoding ends in "chunked", the chunked body is decoded IN
 * PLACE (the decoded payload is never longer): chunk extensions and trailers are dropped;
 * a truncated body decodes as far as it goes, up to the last complete byte of chunk data;
 * malformed framing ends the body where it starts. Otherwise, the body is what follows the
 * head, cut to Content-Length when that is present and smaller.
 * Returns 0 with *head_len (bytes up to and including the blank line), *body (inside resp)
 * and *body_len set; -1 if the head is incomplete or malformed (nothing is modified). */
int capture_split(char *resp, size_t len, size_t *head_len, char **body, size_t *body_len);

#endif
