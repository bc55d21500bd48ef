#include <stdio.h>

/* Runtime error: writes through a null pointer (SIGSEGV). */
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) {
        return 1;
    }
    long long *volatile answer = NULL; /* volatile: the compiler must really store through it */
    *answer = a + b;
    printf("%lld\n", *answer);
    return 0;
}
