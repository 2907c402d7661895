/* Standalone checks of the calls on which sharespec's default suite FAILs (or is INCONCLUSIVE)
 * under an emulator, one per deviation, independent of sharespec and of Python.
 *
 *     cc -O2 -o /tmp/emulator_checks benchmarks/emulator_checks.c
 *     /tmp/emulator_checks                 # natively: every line "as Linux"
 *     qemu-x86_64 /tmp/emulator_checks     # under qemu-user: the deviations (docs/emulators.md)
 *
 * Each line: the check, the rule of docs/ (catalogue id), what Linux does, what was seen.
 * Exit status: the number of deviations. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef SHM_REMAP
#define SHM_REMAP 040000
#endif

#define PAGE 4096
static int deviations;

static void report(const char *name, const char *rule, const char *expected, const char *seen)
{
    int same = strcmp(expected, seen) == 0;
    deviations += !same;
    printf("%-44s %-4s linux: %-8s seen: %-8s %s\n", name, rule, expected, seen,
           same ? "as Linux" : "DEVIATES");
}

/* "ok" or the errno's name, for a call that returned -1 / MAP_FAILED on failure */
static const char *result(int failed)
{
    static char text[32];
    if (!failed)
        return "ok";
    switch (errno) {
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    }
    snprintf(text, sizeof text, "E%d", errno);
    return text;
}

static char *map(int flags, size_t length)
{
    return mmap(NULL, length, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
}

/* What a child sees at p after fork: the byte as a decimal, or "SIGSEGV"/"SIGBUS" */
static const char *child_reads(volatile char *p)
{
    static char text[16];
    int fds[2], status;
    unsigned char byte = 0;
    if (pipe(fds) != 0)
        return "pipe?";
    pid_t pid = fork();
    if (pid == 0) {
        byte = *p;
        write(fds[1], &byte, 1);
        _exit(0);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], &byte, 1);
    close(fds[0]);
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        return WTERMSIG(status) == 11 ? "SIGSEGV" : "SIGBUS";
    snprintf(text, sizeof text, "%d", got == 1 ? byte : -1);
    return text;
}

int main(void)
{
    char *p, *q;

    /* C01/C05: madvise on a range with nothing mapped fails with ENOMEM */
    p = map(MAP_PRIVATE, PAGE);
    munmap(p, PAGE);
    report("madvise(DONTNEED) of an unmapped page", "C05", "ENOMEM",
           result(madvise(p, PAGE, MADV_DONTNEED) != 0));

    /* C05: MADV_FREE is for private anonymous memory only */
    p = map(MAP_SHARED, PAGE);
    report("madvise(FREE) of a shared mapping", "C05", "EINVAL",
           result(madvise(p, PAGE, MADV_FREE) != 0));
    munmap(p, PAGE);

    /* R41: MADV_WIPEONFORK: EINVAL on shared memory; a private page reads 0 in the child */
    p = map(MAP_SHARED, PAGE);
    report("madvise(WIPEONFORK) of a shared mapping", "R41", "EINVAL",
           result(madvise(p, PAGE, MADV_WIPEONFORK) != 0));
    munmap(p, PAGE);
    p = map(MAP_PRIVATE, PAGE);
    p[0] = 5;
    madvise(p, PAGE, MADV_WIPEONFORK);
    report("WIPEONFORK page read by a fork child", "R41", "0", child_reads(p));
    munmap(p, PAGE);

    /* R40: MADV_DONTFORK: the child has nothing there */
    p = map(MAP_PRIVATE, PAGE);
    p[0] = 5;
    madvise(p, PAGE, MADV_DONTFORK);
    report("DONTFORK page read by a fork child", "R40", "SIGSEGV", child_reads(p));
    munmap(p, PAGE);

    /* R39: MADV_REMOVE frees the pages of shared memory (they read 0); EINVAL on private */
    p = map(MAP_SHARED, PAGE);
    p[0] = 5;
    madvise(p, PAGE, MADV_REMOVE);
    report("shared page read after MADV_REMOVE", "R39", "0", p[0] == 0 ? "0" : "5");
    munmap(p, PAGE);
    p = map(MAP_PRIVATE, PAGE);
    report("madvise(REMOVE) of a private mapping", "R39", "EINVAL",
           result(madvise(p, PAGE, MADV_REMOVE) != 0));
    munmap(p, PAGE);

    /* R39: MADV_REMOVE of a read-only attach of a segment: EACCES */
    int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
    p = shmat(id, NULL, SHM_RDONLY);
    report("madvise(REMOVE) of a read-only shmat", "R39", "EACCES",
           result(madvise(p, PAGE, MADV_REMOVE) != 0));
    shmdt(p);

    /* R40, R28: a DONTFORK attach is not inherited: nattch counts the parent only */
    p = shmat(id, NULL, 0);
    madvise(p, PAGE, MADV_DONTFORK);
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(fds[0], &c, 1);        /* alive (attached or not) until the parent has looked */
        _exit(0);
    }
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    char text[16];
    snprintf(text, sizeof text, "%lu", (unsigned long) ds.shm_nattch);
    report("nattch after fork of a DONTFORK attach", "R40", "1", text);
    write(fds[1], "x", 1);
    waitpid(pid, NULL, 0);
    shmdt(p);

    /* R30, R40: MADV_DONTFORK on half of an attach splits it in two: nattch counts both */
    int big = shmget(IPC_PRIVATE, 2 * PAGE, IPC_CREAT | 0600);
    p = shmat(big, NULL, 0);
    madvise(p + PAGE, PAGE, MADV_DONTFORK);
    shmctl(big, IPC_STAT, &ds);
    snprintf(text, sizeof text, "%lu", (unsigned long) ds.shm_nattch);
    report("nattch after DONTFORK of half an attach", "R30", "2", text);
    shmdt(p);
    shmctl(big, IPC_RMID, NULL);

    /* R27: shmat at an address already mapped, without SHM_REMAP: EINVAL */
    q = map(MAP_PRIVATE, PAGE);
    p = shmat(id, q, 0);
    report("shmat over a mapping without SHM_REMAP", "R27", "EINVAL",
           result(p == (void *) -1));
    if (p != (void *) -1)
        shmdt(p);
    munmap(q, PAGE);

    /* R27: SHM_REMAP without an address: EINVAL */
    p = shmat(id, NULL, SHM_REMAP);
    report("shmat(NULL, SHM_REMAP)", "R27", "EINVAL", result(p == (void *) -1));
    if (p != (void *) -1)
        shmdt(p);
    shmctl(id, IPC_RMID, NULL);

    /* C01: MAP_FIXED_NOREPLACE over a mapping: EEXIST, never another place */
    q = map(MAP_PRIVATE, PAGE);
    p = mmap(q, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    report("mmap(FIXED_NOREPLACE) over a mapping", "C01", "EEXIST", result(p == MAP_FAILED));
    if (p != MAP_FAILED)
        munmap(p, PAGE);
    munmap(q, PAGE);

    /* R42: mremap(old_size 0) of shared memory makes an alias; of private memory, EINVAL */
    p = map(MAP_SHARED, PAGE);
    q = mremap(p, 0, PAGE, MREMAP_MAYMOVE);
    report("mremap(old_size 0) of a shared mapping", "R42", "ok", result(q == MAP_FAILED));
    if (q != MAP_FAILED)
        munmap(q, PAGE);
    munmap(p, PAGE);
    p = map(MAP_PRIVATE, PAGE);
    q = mremap(p, 0, PAGE, MREMAP_MAYMOVE);
    report("mremap(old_size 0) of a private mapping", "R42", "EINVAL", result(q == MAP_FAILED));
    munmap(p, PAGE);

    /* R42: mremap(old_size 0) where nothing is mapped: EFAULT */
    p = map(MAP_SHARED, PAGE);
    munmap(p, PAGE);
    q = mremap(p, 0, PAGE, MREMAP_MAYMOVE);
    report("mremap(old_size 0) of an unmapped address", "R42", "EFAULT", result(q == MAP_FAILED));

    /* R39, R07: MADV_REMOVE punches a hole in the file behind a shared mapping */
    char path[] = "/dev/shm/emulator-check-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    ftruncate(fd, PAGE);
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    p[0] = 5;
    madvise(p, PAGE, MADV_REMOVE);
    unsigned char byte = 9;
    pread(fd, &byte, 1, 0);
    snprintf(text, sizeof text, "%d", byte);
    report("file byte after MADV_REMOVE of its mapping", "R39", "0", text);
    munmap(p, PAGE);
    close(fd);

    /* not memory semantics, but what the bundled implementation uses (impl/features.py) */
    report("prctl(PR_SET_CHILD_SUBREAPER)", "-", "ok",
           result(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0));

    printf("%d deviation(s)\n", deviations);
    return deviations;
}
