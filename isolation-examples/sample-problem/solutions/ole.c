#include <stdio.h>

/* Output limit exceeded: prints the answer forever. */
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) {
        return 1;
    }
    for (;;) {
        printf("%lld\n", a + b);
    }
}
