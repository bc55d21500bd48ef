#include <stdio.h>
#include <sys/ptrace.h>

/*
 * Restricted function: asks to be traced (the start of many anti-debugging tricks). The strict
 * seccomp policy does not allow ptrace and kills the program with SIGSYS.
 */
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) {
        return 1;
    }
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    printf("%lld\n", a + b);
    return 0;
}
