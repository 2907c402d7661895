/* The two standard cases of benchmarks/throughput.py, done natively: the physical limit
 * against which the bundled implementation is measured.
 *   fork:   shmget, shmat, fork, the child writes, the parent waits and reads, shmdt, IPC_RMID
 *   thread: the same with a second thread instead of a child process
 * Usage: native_cases fork|thread N   -> prints the median microseconds per case. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *writer(void *addr) {
    *(volatile unsigned char *)addr = 7;
    return NULL;
}

static int one_case(int use_thread) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) return -1;
    volatile unsigned char *a = shmat(id, NULL, 0);
    if (a == (void *)-1) { shmctl(id, IPC_RMID, NULL); return -1; }
    if (use_thread) {
        pthread_t t;
        pthread_create(&t, NULL, writer, (void *)a);
        pthread_join(t, NULL);
    } else {
        pid_t pid = fork();
        if (pid == 0) { a[0] = 7; _exit(0); }
        waitpid(pid, NULL, 0);
    }
    int value = a[0];
    shmdt((const void *)a);
    shmctl(id, IPC_RMID, NULL);
    return value == 7 ? 0 : -1;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s fork|thread N\n", argv[0]); return 2; }
    int use_thread = strcmp(argv[1], "thread") == 0;
    int n = atoi(argv[2]);
    double *t = calloc(n, sizeof *t);
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (one_case(use_thread)) { fprintf(stderr, "case failed\n"); return 1; }
        t[i] = now_us() - t0;
    }
    qsort(t, n, sizeof *t, cmp);
    printf("%.1f\n", t[n / 2]);
    return 0;
}
