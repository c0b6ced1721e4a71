
/*
 * TAP unit tests for src/ngx_http_totp_qr_core.c: the grouped secret, the
 * otpauth:// URI, and the QR code's SVG, read back both by parsing its
 * path and end to end through rsvg-convert and zbarimg (a phone's view).
 *
 *     qr_test [WORK_DIR]      WORK_DIR defaults to $TMPDIR or /tmp
 */


#define _POSIX_C_SOURCE  200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ngx_http_totp_qr_core.h"
#include "tap.h"


#define S(s)  (const unsigned char *) (s), (sizeof(s) - 1)


static void
group_is(const char *b32, const char *want)
{
    size_t          need, got;
    unsigned char   buf[256];

    need = totp_group_secret(NULL, (const unsigned char *) b32, strlen(b32));
    got = totp_group_secret(buf, (const unsigned char *) b32, strlen(b32));

    if (!ok(need == got && got == strlen(want)
            && memcmp(buf, want, got) == 0,
            "group \"%s\"", b32))
    {
        diag("got \"%.*s\" (%zu, length pass %zu), want \"%s\"",
             (int) got, buf, got, need, want);
    }
}


static void
test_group(void)
{
    group_is("", "");
    group_is("A", "A");
    group_is("ABCD", "ABCD");
    group_is("ABCDE", "ABCD E");
    group_is("ABCDEFGH", "ABCD EFGH");
    group_is("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
             "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
    group_is("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA",
             "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ "
             "GEZD GNA");
}


static void
uri_is(const char *issuer, const char *user, const char *secret,
    totp_alg_t alg, unsigned digits, uint64_t period, const char *want,
    const char *name)
{
    size_t          need, got;
    unsigned char   buf[1024];

    need = totp_otpauth_uri(NULL, (const unsigned char *) issuer,
                            strlen(issuer), (const unsigned char *) user,
                            strlen(user), (const unsigned char *) secret,
                            strlen(secret), alg, digits, period);
    got = totp_otpauth_uri(buf, (const unsigned char *) issuer,
                           strlen(issuer), (const unsigned char *) user,
                           strlen(user), (const unsigned char *) secret,
                           strlen(secret), alg, digits, period);

    if (!ok(need == got && got == strlen(want)
            && memcmp(buf, want, got) == 0,
            "uri: %s", name))
    {
        diag("got  \"%.*s\" (length pass %zu)", (int) got, buf, need);
        diag("want \"%s\"", want);
    }
}


static void
test_uri(void)
{
    size_t  len;

    uri_is("Acme", "alice", "JBSWY3DPEHPK3PXP", TOTP_SHA1, 6, 30,
           "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme",
           "defaults leave algorithm, digits and period out");

    uri_is("Acme", "alice", "JBSWY3DPEHPK3PXP", TOTP_SHA256, 8, 60,
           "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme"
           "&algorithm=SHA256&digits=8&period=60",
           "sha256, 8 digits, 60 s");

    uri_is("Acme", "alice", "JBSWY3DPEHPK3PXP", TOTP_SHA512, 6, 30,
           "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme"
           "&algorithm=SHA512",
           "sha512 alone");

    uri_is("Acme", "alice", "JBSWY3DPEHPK3PXP", TOTP_SHA1, 6, 3600,
           "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme"
           "&period=3600",
           "a period alone");

    uri_is("ACME Co: Ops & Dev", "bob@example.com", "AB", TOTP_SHA1, 6, 30,
           "otpauth://totp/ACME%20Co%3A%20Ops%20%26%20Dev:bob%40example.com"
           "?secret=AB&issuer=ACME%20Co%3A%20Ops%20%26%20Dev",
           "spaces, ':', '&', '@' encoded");

    uri_is("a-b.c_d~e", "x/y?z#w+v=u%", "AB", TOTP_SHA1, 6, 30,
           "otpauth://totp/a-b.c_d~e:x%2Fy%3Fz%23w%2Bv%3Du%25"
           "?secret=AB&issuer=a-b.c_d~e",
           "unreserved kept, the rest encoded");

    uri_is("Caf\xc3\xa9", "\xe7\x94\xb0\xe4\xb8\xad", "AB", TOTP_SHA1, 6, 30,
           "otpauth://totp/Caf%C3%A9:%E7%94%B0%E4%B8%AD"
           "?secret=AB&issuer=Caf%C3%A9",
           "UTF-8 encoded byte by byte, upper-case hex");

    uri_is("", "alice", "AB", TOTP_SHA1, 6, 30,
           "otpauth://totp/alice?secret=AB",
           "no issuer: neither prefix nor parameter");

    len = totp_otpauth_uri(NULL, S("A"), S("b"), S("C"), (totp_alg_t) 3, 6,
                           30);
    ok(len == 0, "uri: unknown algorithm refused");

    len = totp_otpauth_uri(NULL, S("A"), S("b"), S("C"), TOTP_SHA1, 5, 30);
    ok(len == 0, "uri: 5 digits refused");

    len = totp_otpauth_uri(NULL, S("A"), S("b"), S("C"), TOTP_SHA1, 9, 30);
    ok(len == 0, "uri: 9 digits refused");

    len = totp_otpauth_uri(NULL, S("A"), S("b"), S("C"), TOTP_SHA1, 6, 0);
    ok(len == 0, "uri: period 0 refused");
}


/* the SVG for text, malloc()ed and NUL-terminated, and the QRcode */
static char *
svg_of(const char *text, QRcode **qrp)
{
    char    *svg;
    size_t   need, got;
    QRcode  *qr;

    qr = totp_qr_encode((const unsigned char *) text, strlen(text));
    if (qr == NULL) {
        diag("totp_qr_encode: %s", strerror(errno));
        return NULL;
    }

    need = totp_qr_svg(NULL, qr);

    svg = malloc(need + 16 + 1);
    if (svg == NULL) {
        abort();
    }

    memset(svg, 'Z', need + 16);
    got = totp_qr_svg((unsigned char *) svg, qr);

    if (got != need || svg[need] != 'Z' || svg[need + 15] != 'Z') {
        diag("length pass %zu, write pass %zu, or an overrun", need, got);
        QRcode_free(qr);
        free(svg);
        return NULL;
    }

    svg[got] = '\0';

    if (qrp) {
        *qrp = qr;

    } else {
        QRcode_free(qr);
    }

    return svg;
}


/*
 * Paints the path's "M x y h n v1 h-n z" runs into a size x size grid
 * and compares it with the QR code's modules inside the quiet zone.
 */
static int
path_matches(const char *svg, const QRcode *qr, unsigned *runs)
{
    int             x, y, n, m, size, used, mismatches;
    const char     *p, *end;
    unsigned char  *grid;

    size = qr->width + 2 * TOTP_QR_QUIET_ZONE;

    grid = calloc((size_t) size * size, 1);
    if (grid == NULL) {
        abort();
    }

    p = strstr(svg, " d=\"");
    if (p == NULL) {
        free(grid);
        return 0;
    }

    p += 4;
    end = strchr(p, '"');
    *runs = 0;

    while (p < end) {
        if (sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &m, &used) != 4
            || n != m || n < 1 || x < 0 || y < 0 || x + n > size
            || y >= size)
        {
            diag("cannot read the path at \"%.20s\"", p);
            free(grid);
            return 0;
        }

        while (n--) {
            grid[y * size + x++] = 1;
        }

        (*runs)++;
        p += used;
    }

    mismatches = 0;

    for (y = 0; y < size; y++) {
        for (x = 0; x < size; x++) {
            n = 0;

            if (x >= TOTP_QR_QUIET_ZONE && y >= TOTP_QR_QUIET_ZONE
                && x < size - TOTP_QR_QUIET_ZONE
                && y < size - TOTP_QR_QUIET_ZONE)
            {
                n = qr->data[(y - TOTP_QR_QUIET_ZONE) * qr->width
                             + x - TOTP_QR_QUIET_ZONE] & 1;
            }

            mismatches += (grid[y * size + x] != n);
        }
    }

    free(grid);

    if (mismatches) {
        diag("%d modules differ", mismatches);
    }

    return mismatches == 0;
}


static void
test_svg(void)
{
    int        size, w;
    char      *svg, want[256];
    QRcode    *qr;
    unsigned   runs, horizontal;

    static const char  svg_start[] =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" ";

    static const char  *texts[] = {
        "x",
        "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme",
        "otpauth://totp/ACME%20Co:bob%40example.com?secret=GEZDGNBVGY3TQOJQ"
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZ"
        "DGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDG"
        "NA&issuer=ACME%20Co&algorithm=SHA512&digits=8&period=60"
    };

    size_t  i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        qr = NULL;
        svg = svg_of(texts[i], &qr);

        if (!ok(svg != NULL, "svg of %zu bytes: passes agree",
                strlen(texts[i])))
        {
            continue;
        }

        size = qr->width + 2 * TOTP_QR_QUIET_ZONE;

        snprintf(want, sizeof(want), "viewBox=\"0 0 %d %d\"", size, size);
        ok(strstr(svg, want) != NULL, "version %d: viewBox of %d modules",
           qr->version, size);

        w = 0;
        ok(sscanf(strstr(svg, "width=\"") + 7, "%d", &w) == 1
           && w % size == 0 && w >= TOTP_QR_SIZE - size / 2
           && w <= TOTP_QR_SIZE + size / 2,
           "width %d: whole pixels a module, near %d", w, TOTP_QR_SIZE);

        snprintf(want, sizeof(want), "<rect width=\"%d\" height=\"%d\" "
                 "fill=\"#fff\"/>", size, size);
        ok(strstr(svg, want) != NULL, "a white background, quiet zone too");

        ok(strncmp(svg, svg_start, sizeof(svg_start) - 1) == 0
           && strstr(svg, "role=\"img\" aria-label=\"QR code for your "
                          "authenticator app\"") != NULL
           && strcmp(svg + strlen(svg) - 9, "\"/></svg>") == 0,
           "an <svg> with role and label");

        ok(strstr(svg, "<path fill=\"#000\" d=\"M") != NULL
           && strstr(strstr(svg, "<path") + 1, "<path") == NULL,
           "one black <path>");

        runs = 0;
        ok(path_matches(svg, qr, &runs),
           "the path paints exactly the QR code's modules");

        /* merged: never two runs that touch on one row */

        horizontal = 0;

        {
            int  x, y;

            for (y = 0; y < qr->width; y++) {
                for (x = 0; x < qr->width; x++) {
                    if ((qr->data[y * qr->width + x] & 1)
                        && (x == 0 || !(qr->data[y * qr->width + x - 1] & 1)))
                    {
                        horizontal++;
                    }
                }
            }
        }

        ok(runs == horizontal, "%u runs, one per horizontal run", runs);

        free(svg);
        QRcode_free(qr);
    }

    errno = 0;
    qr = totp_qr_encode((const unsigned char *) "", 0);
    ok(qr == NULL && errno == EINVAL, "empty text refused");

    {
        unsigned char  big[3000];

        memset(big, 'a', sizeof(big));

        errno = 0;
        qr = totp_qr_encode(big, sizeof(big));
        ok(qr == NULL && errno == ERANGE, "3000 bytes do not fit: ERANGE");
    }
}


static int
run(char *const argv[], const char *out)
{
    int    status, fd;
    pid_t  pid;

    pid = fork();

    if (pid == 0) {
        if (out) {
            fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd == -1 || dup2(fd, 1) == -1) {
                _exit(126);
            }
        }

        execvp(argv[0], argv);
        _exit(127);
    }

    if (pid == -1 || waitpid(pid, &status, 0) == -1) {
        return -1;
    }

    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}


/* a phone's view: the SVG as rsvg-convert draws it, read by zbarimg */
static void
test_zbar(const char *dir)
{
    int      rc;
    char     svg_path[4096], png_path[4096], txt_path[4096], got[2048];
    char    *svg;
    FILE    *f;
    size_t   i, n;

    static const char  *uris[] = {
        "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme",
        "otpauth://totp/ACME%20Co%3A%20Ops:bob%40example.com?secret=GEZDGNBV"
        "GY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACM"
        "E%20Co%3A%20Ops&algorithm=SHA256&digits=8&period=60",
        "otpauth://totp/Caf%C3%A9:%E7%94%B0%E4%B8%AD?secret=GEZDGNBVGY3TQOJQ"
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZ"
        "DGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDG"
        "NA&issuer=Caf%C3%A9&algorithm=SHA512"
    };

    snprintf(svg_path, sizeof(svg_path), "%s/qr_test.%ld.svg", dir,
             (long) getpid());
    snprintf(png_path, sizeof(png_path), "%s/qr_test.%ld.png", dir,
             (long) getpid());
    snprintf(txt_path, sizeof(txt_path), "%s/qr_test.%ld.txt", dir,
             (long) getpid());

    for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        svg = svg_of(uris[i], NULL);
        if (svg == NULL) {
            ok(0, "zbar: svg of uri %zu", i);
            continue;
        }

        f = fopen(svg_path, "w");
        if (f == NULL || fputs(svg, f) == EOF || fclose(f) != 0) {
            ok(0, "zbar: write %s: %s", svg_path, strerror(errno));
            free(svg);
            continue;
        }

        free(svg);

        {
            char *const  argv[] = { "rsvg-convert", "-o", png_path,
                                    svg_path, NULL };

            rc = run(argv, NULL);
        }

        if (!ok(rc == 0, "zbar: rsvg-convert draws uri %zu", i)) {
            diag("rsvg-convert exited %d; apt-get install librsvg2-bin "
                 "(make deps)", rc);
            continue;
        }

        {
            char *const  argv[] = { "zbarimg", "--quiet", "--raw", "--nodbus",
                                    png_path, NULL };

            rc = run(argv, txt_path);
        }

        got[0] = '\0';
        n = 0;

        f = fopen(txt_path, "r");
        if (f) {
            n = fread(got, 1, sizeof(got) - 1, f);
            got[n] = '\0';
            fclose(f);
        }

        /* zbarimg ends each symbol it found with a newline */

        if (n && got[n - 1] == '\n') {
            got[--n] = '\0';
        }

        if (!ok(rc == 0 && strcmp(got, uris[i]) == 0,
                "zbar: decodes uri %zu (%zu bytes) to the same text", i,
                strlen(uris[i])))
        {
            diag("zbarimg exited %d%s", rc,
                 rc == 127 ? "; apt-get install zbar-tools (make deps)" : "");
            diag("got  \"%s\"", got);
            diag("want \"%s\"", uris[i]);
        }
    }

    (void) unlink(svg_path);
    (void) unlink(png_path);
    (void) unlink(txt_path);
}


int
main(int argc, char **argv)
{
    const char  *dir;

    dir = (argc > 1) ? argv[1] : getenv("TMPDIR");
    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }

    test_group();
    test_uri();
    test_svg();
    test_zbar(dir);

    printf("1..%u\n", tests);

    if (failures) {
        diag("%u of %u tests failed", failures, tests);
        return 1;
    }

    return 0;
}
