/* The bound on gateway calls in flight in one worker: however many threads
 * try at once, never more than max hold a slot, and every slot comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http_client.h"

#define THREADS 8
#define ROUNDS 20000
#define MAX_CALLS 2

static struct http_gate gate;
static atomic_int holding, most, entered;

static void *contend(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (!http_gate_enter(&gate, MAX_CALLS))
            continue;
        int now = atomic_fetch_add(&holding, 1) + 1;
        for (int seen = atomic_load(&most); now > seen && !atomic_compare_exchange_weak(&most, &seen, now);)
            ;
        atomic_fetch_add(&entered, 1);
        atomic_fetch_sub(&holding, 1);
        http_gate_leave(&gate);
    }
    return NULL;
}

static void test_single_thread_limit(void **state) {
    struct http_gate g = {0};
    assert_int_equal(http_gate_enter(&g, 2), 1);
    assert_int_equal(http_gate_enter(&g, 2), 1);
    assert_int_equal(http_gate_enter(&g, 2), 0); /* full: refused, and it took nothing */
    assert_int_equal(atomic_load(&g.in_flight), 2);
    http_gate_leave(&g);
    assert_int_equal(http_gate_enter(&g, 2), 1);
    http_gate_leave(&g);
    http_gate_leave(&g);
    assert_int_equal(atomic_load(&g.in_flight), 0);
}

static void test_threads_never_pass_the_bound(void **state) {
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, contend, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_true(atomic_load(&most) <= MAX_CALLS);
    assert_true(atomic_load(&entered) > 0);
    assert_int_equal(atomic_load(&gate.in_flight), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread_limit),
        cmocka_unit_test(test_threads_never_pass_the_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
