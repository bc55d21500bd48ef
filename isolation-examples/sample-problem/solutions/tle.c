#include <stdio.h>

/* Time limit exceeded: never stops computing. */
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) {
        return 1;
    }
    volatile unsigned long spins = 0;
    for (;;) {
        spins++;
    }
}
