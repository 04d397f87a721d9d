/* url: the target of a quick-mode run, split into what the connection and the request
 * line need. http and https only, absolute URLs only.
 */
#ifndef BLASTER_URL_H
#define BLASTER_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct url {
    bool     https;
    char     host[256];     /* as written; IPv6 literals without their brackets */
    uint16_t port;          /* explicit, or 80 / 443 from the scheme */
    char     path[2048];    /* path + query, "/" when empty; the request-target */
    char     hostport[280]; /* Host header value: host, or host:port when the port is not
                               the scheme's default; IPv6 literals in brackets */
};

/* Parse "http[s]://host[:port][/path][?query][#fragment]" into *u.
 * The scheme is case-insensitive. The host is a name (letters, digits, '-', '.', '_', '~'),
 * an IPv4 literal, or an IPv6 literal in brackets ("[::1]:8080"; no zone ids). The port is
 * 1..65535 in decimal digits. The fragment is dropped (it is never sent). A path or query
 * must not contain spaces or control characters: percent-encode them. Rejected, with a
 * message in err naming the URL and what was wrong ("URL 'x': port '99999' out of range"):
 * other schemes, a missing scheme, userinfo ("user@host"), an empty host, a bad port,
 * a host over 255 bytes, a path+query over 2047 bytes.
 * Returns 0, or -1 with err filled (truncated to errlen) and *u unspecified. */
int url_parse(const char *s, struct url *u, char *err, size_t errlen);

/* Resolve u->host and u->port to a socket address for connect(). IP literals are converted
 * directly; names go through getaddrinfo (so "localhost" and /etc/hosts work; other names
 * need DNS). When a name has both, the first IPv4 address wins over IPv6: "localhost" often
 * lists ::1 first while test servers (nginx's "listen 8080", say) listen on IPv4 only;
 * write "[::1]" to target IPv6. Returns 0 with *sa and *salen filled, or -1 with err
 * naming the host and the resolver's reason. */
int url_resolve(const struct url *u, struct sockaddr_storage *sa, socklen_t *salen,
                char *err, size_t errlen);

#endif
