/* url: split an http(s) URL into host, port, request-target and Host header; resolve it. */
#include "blaster/load/url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write "URL '<s>': <message>" into err and return -1. A long URL is cut to its first
 * 60 bytes and "..." so that the reason still fits a modest err buffer. */
static int fail(char *err, size_t errlen, const char *s, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (err == NULL || errlen == 0)
        return -1;
    if (strlen(s) > 64)
        w = snprintf(err, errlen, "URL '%.60s...': ", s);
    else
        w = snprintf(err, errlen, "URL '%s': ", s);
    if (w >= 0 && (size_t)w < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Characters allowed in a host name. Stricter than RFC 3986's reg-name on purpose: what
 * else shows up there (spaces, '%', ',', '!') is a typo, not a host we could resolve. */
static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* Parse the port digits in [p, end) into *port. */
static int parse_port(const char *s, const char *p, const char *end, uint16_t *port,
                      char *err, size_t errlen)
{
    int len = (int)(end - p);
    unsigned long v = 0;

    if (p == end)
        return fail(err, errlen, s, "empty port after ':'");
    for (const char *q = p; q < end; q++) {
        if (*q < '0' || *q > '9')
            return fail(err, errlen, s, "port '%.*s' is not a number", len, p);
        if (v <= 65535)
            v = v * 10 + (unsigned long)(*q - '0');
    }
    if (v == 0 || v > 65535)
        return fail(err, errlen, s, "port '%.*s' out of range (1-65535)", len, p);
    *port = (uint16_t)v;
    return 0;
}

int url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
    const char *p, *auth, *auth_end, *host, *host_end, *port_at = NULL, *tail, *tail_end;
    bool ipv6 = false;
    size_t hostlen, pathlen;

    memset(u, 0, sizeof *u);
    if (s == NULL || *s == '\0')
        return fail(err, errlen, "", "empty URL");

    /* scheme */
    p = strstr(s, "://");
    if (p == NULL)
        return fail(err, errlen, s, "missing scheme, expected http:// or https://");
    if (p - s == 4 && strncasecmp(s, "http", 4) == 0) {
        u->https = false;
        u->port = 80;
    } else if (p - s == 5 && strncasecmp(s, "https", 5) == 0) {
        u->https = true;
        u->port = 443;
    } else {
        return fail(err, errlen, s, "unsupported scheme '%.*s' (expected http or https)",
                    (int)(p - s), s);
    }

    /* authority: up to the first '/', '?' or '#' */
    auth = p + 3;
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
        return fail(err, errlen, s, "user info ('user@host') is not supported");

    if (auth < auth_end && *auth == '[') {
        char lit[INET6_ADDRSTRLEN + 1];
        struct in6_addr a6;
        const char *close = memchr(auth, ']', (size_t)(auth_end - auth));

        if (close == NULL)
            return fail(err, errlen, s, "unterminated IPv6 literal, expected ']'");
        host = auth + 1;
        host_end = close;
        if (memchr(host, '%', (size_t)(host_end - host)) != NULL)
            return fail(err, errlen, s, "IPv6 zone ids are not supported");
        if ((size_t)(host_end - host) >= sizeof lit)
            return fail(err, errlen, s, "invalid IPv6 address '%.*s'",
                        (int)(host_end - host), host);
        memcpy(lit, host, (size_t)(host_end - host));
        lit[host_end - host] = '\0';
        if (inet_pton(AF_INET6, lit, &a6) != 1)
            return fail(err, errlen, s, "invalid IPv6 address '%s'", lit);
        if (close + 1 < auth_end) {
            if (close[1] != ':')
                return fail(err, errlen, s, "unexpected '%c' after IPv6 address", close[1]);
            port_at = close + 2;
        }
        ipv6 = true;
    } else {
        const char *colon = memchr(auth, ':', (size_t)(auth_end - auth));
        host = auth;
        host_end = colon != NULL ? colon : auth_end;
        if (colon != NULL) {
            if (memchr(colon + 1, ':', (size_t)(auth_end - colon - 1)) != NULL)
                return fail(err, errlen, s, "an IPv6 address must be in brackets, "
                                            "as in http://[::1]:8080/");
            port_at = colon + 1;
        }
        for (const char *q = host; q < host_end; q++)
            if (!host_char(*q))
                return fail(err, errlen, s, "invalid character '%c' in host", *q);
    }
    hostlen = (size_t)(host_end - host);
    if (hostlen == 0)
        return fail(err, errlen, s, "empty host");
    if (hostlen >= sizeof u->host)
        return fail(err, errlen, s, "host too long (%zu bytes, max %zu)", hostlen,
                    sizeof u->host - 1);
    memcpy(u->host, host, hostlen);
    u->host[hostlen] = '\0';

    if (port_at != NULL && parse_port(s, port_at, auth_end, &u->port, err, errlen) < 0)
        return -1;

    /* path and query, fragment dropped */
    tail = auth_end;
    tail_end = tail + strcspn(tail, "#");
    for (const char *q = tail; q < tail_end; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == ' ')
            return fail(err, errlen, s, "space in path or query, encode it as %%20");
        if (c < 0x20 || c == 0x7f)
            return fail(err, errlen, s, "control character 0x%02x in path or query", c);
    }
    pathlen = (size_t)(tail_end - tail);
    if (pathlen == 0 || *tail == '?') {
        u->path[0] = '/';
        if (pathlen + 1 >= sizeof u->path)
            return fail(err, errlen, s, "path too long (%zu bytes, max %zu)", pathlen + 1,
                        sizeof u->path - 1);
        memcpy(u->path + 1, tail, pathlen);
        u->path[pathlen + 1] = '\0';
    } else {
        if (pathlen >= sizeof u->path)
            return fail(err, errlen, s, "path too long (%zu bytes, max %zu)", pathlen,
                        sizeof u->path - 1);
        memcpy(u->path, tail, pathlen);
        u->path[pathlen] = '\0';
    }

    /* Host header: the port only when it is not the scheme's default (RFC 9110 7.2). */
    {
        bool def_port = u->port == (u->https ? 443 : 80);
        const char *l = ipv6 ? "[" : "", *r = ipv6 ? "]" : "";
        if (def_port)
            snprintf(u->hostport, sizeof u->hostport, "%s%s%s", l, u->host, r);
        else
            snprintf(u->hostport, sizeof u->hostport, "%s%s%s:%u", l, u->host, r,
                     (unsigned)u->port);
    }
    return 0;
}

int url_resolve(const struct url *u, struct sockaddr_storage *sa, socklen_t *salen,
                char *err, size_t errlen)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
    struct addrinfo hints, *res = NULL, *pick = NULL;
    char port[8];
    int rc;

    memset(sa, 0, sizeof *sa);
    /* Literals need no resolver (and getaddrinfo would allocate). */
    if (inet_pton(AF_INET, u->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(u->port);
        *salen = sizeof *s4;
        return 0;
    }
    if (inet_pton(AF_INET6, u->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(u->port);
        *salen = sizeof *s6;
        return 0;
    }

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", (unsigned)u->port);
    rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "cannot resolve host '%s': %s", u->host,
                     rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
        if (ai->ai_family == AF_INET6 && pick == NULL)
            pick = ai;
    }
    if (pick == NULL || pick->ai_addrlen > sizeof *sa) {
        freeaddrinfo(res);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "cannot resolve host '%s': no IPv4 or IPv6 address",
                     u->host);
        return -1;
    }
    memcpy(sa, pick->ai_addr, pick->ai_addrlen);
    *salen = pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}
