/* aes-bench: AES-128-GCM and ChaCha20-Poly1305 throughput of a wolfSSL build,
 * through wolfCrypt's own one-shot calls over 16 KiB buffers for ~1 s each.
 * Not part of blaster's build; used for the numbers in BENCHMARKS.md.
 *
 * Against the AES-NI build in deps/ (static):
 *   cc -O2 -Ideps/wolfssl/include scripts/aes-bench.c \
 *      deps/wolfssl/lib/libwolfssl.a -lm -pthread -o build/aes-bench-local
 * Against Debian's binary package (apt-get install libwolfssl-dev):
 *   cc -O2 scripts/aes-bench.c -lwolfssl -o build/aes-bench-debian
 * Each must be compiled with the options.h of the library it links.
 */
#include <wolfssl/options.h>
#include <wolfssl/version.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUF_SZ (16 * 1024)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char in[BUF_SZ], out[BUF_SZ];

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned char key[32], iv[12], tag[16], aad[13];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (unsigned char)i;
    memset(key, 0x42, sizeof key); memset(iv, 0x24, sizeof iv); memset(aad, 0x17, sizeof aad);

#ifdef WOLFSSL_AESNI
    const char *aesni = "yes";
#else
    const char *aesni = "no";
#endif
    printf("wolfSSL %s (headers %s), WOLFSSL_AESNI: %s\n",
           wolfSSL_lib_version(), LIBWOLFSSL_VERSION_STRING, aesni);

    /* AES-128-GCM */
    Aes *aes = aligned_alloc(64, (sizeof(Aes) + 63) / 64 * 64);
    if (!aes || wc_AesInit(aes, NULL, INVALID_DEVID) != 0 ||
        wc_AesGcmSetKey(aes, key, 16) != 0) {
        fprintf(stderr, "AES-GCM setup failed\n");
        return 1;
    }
#ifdef WOLFSSL_AESNI
    printf("AES-NI in use at run time: %s\n", aes->use_aesni ? "yes" : "no");
#endif
    unsigned long long bytes = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 64; k++) {
            if (wc_AesGcmEncrypt(aes, out, in, BUF_SZ, iv, sizeof iv, tag, sizeof tag,
                                 aad, sizeof aad) != 0) {
                fprintf(stderr, "wc_AesGcmEncrypt failed\n");
                return 1;
            }
            bytes += BUF_SZ;
        }
    } while ((t = now() - t0) < secs);
    printf("AES-128-GCM        %9.1f MB/s\n", bytes / t / 1e6);
    wc_AesFree(aes);
    free(aes);

    /* ChaCha20-Poly1305 */
    bytes = 0;
    t0 = now();
    do {
        for (int k = 0; k < 64; k++) {
            if (wc_ChaCha20Poly1305_Encrypt(key, iv, aad, sizeof aad, in, BUF_SZ, out, tag) != 0) {
                fprintf(stderr, "wc_ChaCha20Poly1305_Encrypt failed\n");
                return 1;
            }
            bytes += BUF_SZ;
        }
    } while ((t = now() - t0) < secs);
    printf("ChaCha20-Poly1305  %9.1f MB/s\n", bytes / t / 1e6);
    return 0;
}
