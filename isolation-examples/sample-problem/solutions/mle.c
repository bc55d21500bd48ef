#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Memory limit exceeded: allocates 256 MiB and touches every page of it. */
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) {
        return 1;
    }
    size_t size = (size_t) 256 << 20;
    char *volatile memory = malloc(size); /* volatile: the compiler may not leave the allocation out */
    if (memory == NULL) {
        return 2;
    }
    memset(memory, 1, size);
    printf("%lld\n", a + b + memory[size - 1] - 1);
    return 0;
}
