/* Django-format password hashes. The expected hashes were computed
 * independently with Python's hashlib.pbkdf2_hmac('sha256', ...) and
 * base64.b64encode, laid out as Django's PBKDF2PasswordHasher does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "password.h"

struct vector {
    const char *pw, *salt;
    long iterations;
    const char *encoded;
};

static const struct vector VECTORS[] = {
    {"password", "seasalt", 1000, "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c="},
    {"天天生鲜pass", "abcdefghijABCDEFGHIJ12", 1000,
     "pbkdf2_sha256$1000$abcdefghijABCDEFGHIJ12$ZGB15a6t4UjiKjSZnSoiSeixfeNH5eb/N1Et+5Rd+xE="},
    {"correct horse", "Zt9QwErTyUiOpAsDfGhJkL", 260000,
     "pbkdf2_sha256$260000$Zt9QwErTyUiOpAsDfGhJkL$NoWaBp5sHFVr7kXuCa/ynd27B+S0yK/dvwZxyzB300s="},
    {"x", "s", 1, "pbkdf2_sha256$1$s$Iw9uUpJ8wkEJJjGR3rcONsswOtuGX7TZe8GsNaKCO3I="},
    {"", "emptypwsalt", 1000, "pbkdf2_sha256$1000$emptypwsalt$QJdgo3qyosAsVyO3zaRIAf+JlGqWicmdTRk/ebrMZ8o="},
};
#define NVECTORS (sizeof(VECTORS) / sizeof(VECTORS[0]))

static void test_hash_matches_python(void **state) {
    char out[PASSWORD_HASH_MAX];
    for (size_t i = 0; i < NVECTORS; i++) {
        const struct vector *v = &VECTORS[i];
        assert_int_equal(password_hash_salt(v->pw, v->salt, v->iterations, out, sizeof(out)), 0);
        assert_string_equal(out, v->encoded);
    }
}

static void test_verify_python_hashes(void **state) {
    for (size_t i = 0; i < NVECTORS; i++) {
        const struct vector *v = &VECTORS[i];
        assert_int_equal(password_verify(v->pw, v->encoded), 1);
        assert_int_equal(password_verify("wrong", v->encoded), 0);
    }
    /* one character off, either way */
    assert_int_equal(password_verify("Password", VECTORS[0].encoded), 0);
    assert_int_equal(password_verify("password ", VECTORS[0].encoded), 0);
}

static void test_random_salt_round_trip(void **state) {
    char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
    assert_int_equal(password_hash("s3cret-pass", 1000, a, sizeof(a)), 0);
    assert_int_equal(password_hash("s3cret-pass", 1000, b, sizeof(b)), 0);
    assert_string_not_equal(a, b); /* fresh salt each time */
    assert_int_equal(strncmp(a, "pbkdf2_sha256$1000$", 19), 0);
    const char *salt = a + 19;
    const char *end = strchr(salt, '$');
    assert_non_null(end);
    assert_int_equal(end - salt, PASSWORD_SALT_LEN);
    for (const char *p = salt; p < end; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'));
    assert_int_equal(strlen(end + 1), 44);
    assert_int_equal(password_verify("s3cret-pass", a), 1);
    assert_int_equal(password_verify("s3cret-pass", b), 1);
    assert_int_equal(password_verify("s3cret-pasS", a), 0);
    assert_true(strlen(a) < 128);
}

static void test_hash_refuses_bad_input(void **state) {
    char out[PASSWORD_HASH_MAX], tiny[20];
    assert_int_equal(password_hash_salt("pw", "", 1000, out, sizeof(out)), -1);
    assert_int_equal(password_hash_salt("pw", "a$b", 1000, out, sizeof(out)), -1);
    assert_int_equal(password_hash_salt("pw", "salt", 0, out, sizeof(out)), -1);
    assert_int_equal(password_hash_salt("pw", "salt", -5, out, sizeof(out)), -1);
    assert_int_equal(password_hash("pw", 1000, tiny, sizeof(tiny)), -1);
}

static void test_malformed_hashes_fail_cleanly(void **state) {
    static const char *bad[] = {
        "",
        "!",
        "!unusable-password-marker",
        "pbkdf2_sha256",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$1000",
        "pbkdf2_sha256$1000$seasalt",
        "pbkdf2_sha256$1000$seasalt$",
        /* other algorithms, and the right hash under another name */
        "pbkdf2_sha1$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$aGFzaA",
        "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv",
        "md5$seasalt$5f4dcc3b5aa765d61d8327deb882cf99",
        "PBKDF2_SHA256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        /* iteration counts */
        "pbkdf2_sha256$$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$0$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$-1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$+1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$01000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$1e3$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$ 1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$99999999999999999999$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$2147483648$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$100000000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        /* salts */
        "pbkdf2_sha256$1000$$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$1000$sea$salt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        /* the base64 part */
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c",
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c==",
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=$",
        "pbkdf2_sha256$1000$seasalt$ YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c= ",
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y*i7c=",
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y-i7c=",
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7=c",
        "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=YIWk",
        "pbkdf2_sha256$1000$seasalt$YWJj",
        "pbkdf2_sha256$1000$seasalt$$$$",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (password_verify("password", bad[i]) != 0)
            fail_msg("accepted malformed hash #%zu: %s", i, bad[i]);
    }
    assert_int_equal(password_verify(NULL, VECTORS[0].encoded), 0);
    assert_int_equal(password_verify("password", NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_matches_python),
        cmocka_unit_test(test_verify_python_hashes),
        cmocka_unit_test(test_random_salt_round_trip),
        cmocka_unit_test(test_hash_refuses_bad_input),
        cmocka_unit_test(test_malformed_hashes_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
