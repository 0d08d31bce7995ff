/* test_input.c: reading sweep files and checking output paths (input.h),
 * and the per-task checksum of the store (integrity.h). */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "neuromic/internal/input.h"
#include "../../src/store/integrity.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nm-input-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static const char *at(const char *name)
{
    static char p[4][PATH_MAX];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static void put(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void test_reads_regular_files_only(void **state)
{
    (void)state;
    char *text;
    size_t len;
    nm_err err = {0};
    put(at("a.yaml"), "kernel: probe\n", 14);
    assert_int_equal(nm_input_read_spec(at("a.yaml"), &text, &len, &err), NM_OK);
    assert_int_equal(len, 14);
    assert_string_equal(text, "kernel: probe\n");
    free(text);
    assert_int_equal(nm_input_read_spec(dir, &text, &len, &err), NM_ERR_INPUT);
    assert_contains(err.msg, ": Is a directory");
    assert_null(text);
    assert_int_equal(mkfifo(at("fifo"), 0600), 0);
    assert_int_equal(nm_input_read_spec(at("fifo"), &text, &len, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "not a regular file (a FIFO)");
    assert_int_equal(nm_input_read_spec("/dev/zero", &text, &len, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "character device");
    /* A file larger than the limit, made sparse so the test stays cheap. */
    int fd = open(at("big.yaml"), O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, NM_SPEC_MAX_BYTES + 1), 0);
    close(fd);
    assert_int_equal(nm_input_read_spec(at("big.yaml"), &text, &len, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "more than the 16777216");
}

static void test_text_must_be_utf8(void **state)
{
    (void)state;
    nm_err err = {0};
    assert_int_equal(nm_input_check_text("s.yaml", "a: 1\n", 5, &err), NM_OK);
    assert_int_equal(nm_input_check_text("s.yaml", "a: 1\nb: \0", 10, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "s.yaml:2:4: NUL byte");
    assert_int_equal(nm_input_check_text("s.yaml", "\xff\xfek\0", 4, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "s.yaml:1:1: the file starts with a UTF-16");
}

static void test_output_paths(void **state)
{
    (void)state;
    nm_err err = {0};
    put(at("spec.yaml"), "kernel: probe\n", 14);
    put(at("old.h5"), "x", 1);
    assert_int_equal(nm_output_check(at("new.h5"), at("spec.yaml"), &err), NM_OK);
    assert_int_equal(nm_output_check(at("old.h5"), at("spec.yaml"), &err), NM_OK);
    assert_int_equal(nm_output_check("", NULL, &err), NM_ERR_INPUT);
    assert_int_equal(nm_output_check(at("x.h5/"), NULL, &err), NM_ERR_INPUT);
    assert_int_equal(nm_output_check(at(".."), NULL, &err), NM_ERR_INPUT);
    assert_int_equal(nm_output_check(dir, NULL, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "a directory");
    assert_int_equal(nm_output_check("/dev/null", NULL, &err), NM_ERR_INPUT);
    assert_int_equal(nm_output_check(at("spec.yaml"), at("spec.yaml"), &err), NM_ERR_INPUT);
    assert_contains(err.msg, "the sweep file itself");
    char name[NAME_MAX + 8];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = 0;
    name[NAME_MAX - 10] = 0; /* fits NAME_MAX, not with room for .tmp.PID */
    assert_int_equal(nm_output_check(at(name), NULL, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "more than this system allows");
}

static void test_parents_made_and_removed(void **state)
{
    (void)state;
    nm_err err = {0};
    int made = 0;
    struct stat sb;
    assert_int_equal(nm_output_make_parents(at("a/b/c/out.h5"), &made, &err), NM_OK);
    assert_int_equal(made, 3);
    assert_int_equal(stat(at("a/b/c"), &sb), 0);
    nm_output_unmake_parents(at("a/b/c/out.h5"), made);
    assert_int_not_equal(stat(at("a"), &sb), 0);
    /* A parent that is a file: nothing is left behind. */
    put(at("f"), "x", 1);
    assert_int_equal(nm_output_make_parents(at("d/e/f/g/out.h5"), &made, &err), NM_OK);
    nm_output_unmake_parents(at("d/e/f/g/out.h5"), made);
    assert_int_equal(nm_output_make_parents(at("f/x/out.h5"), &made, &err), NM_ERR_INPUT);
    assert_int_equal(made, 0);
    assert_int_not_equal(stat(at("d"), &sb), 0);
}

static void test_row_checksum(void **state)
{
    (void)state;
    double v[3] = {1, 2, 3};
    const unsigned char *rows[1] = {(const unsigned char *)v};
    size_t bytes[1] = {sizeof v};
    uint64_t a = nm_integrity_row(7, 1, rows, bytes);
    assert_true(a != 0);
    assert_true(nm_integrity_row(8, 1, rows, bytes) != a); /* the task id counts */
    v[1] = nextafter(2.0, 3.0);                             /* one bit of a value */
    assert_true(nm_integrity_row(7, 1, rows, bytes) != a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_regular_files_only),
        cmocka_unit_test(test_text_must_be_utf8),
        cmocka_unit_test(test_output_paths),
        cmocka_unit_test(test_parents_made_and_removed),
        cmocka_unit_test(test_row_checksum),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
