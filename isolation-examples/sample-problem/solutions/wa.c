#include <stdio.h>

/* Wrong answer: the sum of two ints overflows an int (tests 2 and 3). */
int main(void) {
    int a, b;
    if (scanf("%d %d", &a, &b) != 2) {
        return 1;
    }
    int sum = (int) ((unsigned) a + (unsigned) b);
    printf("%d\n", sum);
    return 0;
}
